/* bevio: reading and writing a socket bufferevent ourselves (see bevio.h). */
#define _GNU_SOURCE
#include "bevio.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define BEVIO_READ_MAX (16 * 1024) /* one read at most */

/* Reports `what` the way libevent's reader does: reading off, then the
 * event callback. */
static void read_failed(struct bufferevent *bev, short what)
{
    bufferevent_disable(bev, EV_READ);
    if (bev->errorcb)
        bev->errorcb(bev, (short)(BEV_EVENT_READING | what), bev->cbarg);
}

/* Edge-triggered?  (bevio_own() with writes sets both events so.) */
static bool edge(const struct bufferevent *bev)
{
    return event_get_events(&bev->ev_read) & EV_ET;
}

/* One attempt in this loop turn for an edge-triggered event just re-armed
 * (the epoll_ctl that re-arms it would have it reported a turn later). */
static void kick(struct event *ev, short what)
{
    if (!(event_get_events(ev) & EV_ET))
        return;
    event_active(ev, what, 1);
}

/* Registered on the input while reading is stopped at the high watermark
 * (only then: a callback on the input costs a call at every change):
 * restarts the read event, if reading is enabled, once the input drained
 * below the mark, and goes away. */
static void on_input_change(struct evbuffer *in, const struct evbuffer_cb_info *info, void *ud)
{
    struct bufferevent *bev = ud;
    size_t high = bev->wm_read.high;
    (void)info;
    if (high > 0 && evbuffer_get_length(in) >= high)
        return;
    evbuffer_remove_cb(in, on_input_change, bev); /* safe from inside (libevent saves next) */
    if (!(bufferevent_get_enabled(bev) & EV_READ))
        return;
    /* an enable while stopped may have armed it already: kick it anyway */
    if (!event_pending(&bev->ev_read, EV_READ, NULL))
        event_add(&bev->ev_read, evutil_timerisset(&bev->timeout_read) ? &bev->timeout_read : NULL);
    kick(&bev->ev_read, EV_READ);
}

/* The input reached the high watermark: no reading until it drains. */
static void stop_full(struct bufferevent *bev)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    event_del(&bev->ev_read);
    evbuffer_remove_cb(in, on_input_change, bev); /* at most one */
    evbuffer_add_cb(in, on_input_change, bev);
}

/* Assigns bev's event `ev` anew (callback cb, flags), armed again with its
 * timeout if it was; returns whether it was. */
static bool reassign(struct bufferevent *bev, struct event *ev, short flags, event_callback_fn cb,
                     const struct timeval *tv)
{
    bool armed = event_pending(ev, flags & (EV_READ | EV_WRITE), NULL);
    event_del(ev);
    event_assign(ev, bufferevent_get_base(bev), bufferevent_getfd(bev), flags, cb, bev);
    if (armed)
        event_add(ev, evutil_timerisset(tv) ? tv : NULL);
    return armed;
}

/* Reading on after a full read.  Edge-triggered, nothing reports the rest:
 * the read event is kicked, in this loop turn while the turn's budget of
 * BEVIO_TURN_READS lasts (the other connections' events of the turn go
 * first, the kick queues behind them), else in the next turn, after its
 * epoll_wait() and timers, so that one fast transfer cannot hold the loop:
 * the event's timeout becomes 0 (no allocation and no reference to the
 * bufferevent: it goes with it), and on_readable() reads at that timeout
 * and puts the read timeout back.  The budget is the worker's (one loop,
 * one thread): turns are told apart by the loop's cached time. */
#define BEVIO_TURN_READS 16

static void read_on(struct bufferevent *bev)
{
    static struct timeval turn;
    static int reads;
    struct timeval now;
    if (event_base_gettimeofday_cached(bufferevent_get_base(bev), &now) == 0 &&
        evutil_timercmp(&now, &turn, !=)) {
        turn = now;
        reads = 0;
    }
    if (reads++ < BEVIO_TURN_READS) {
        event_active(&bev->ev_read, EV_READ, 1);
        return;
    }
    static const struct timeval next_turn = {0, 0};
    event_add(&bev->ev_read, &next_turn);
}

static void on_readable(evutil_socket_t fd, short ev, void *ud)
{
    struct bufferevent *bev = ud;
    /* the callbacks may free bev: the reference keeps it until we are out */
    bufferevent_incref(bev);
    bool timed_out = ev & EV_TIMEOUT;
    if (timed_out) {
        if (!edge(bev)) {
            read_failed(bev, BEV_EVENT_TIMEOUT);
            goto out;
        }
        /* edge-triggered, a read put off to this turn (read_on()) comes as
         * a timeout, and bytes the real one finds waiting are read: it is a
         * timeout only if there are none.  The read timeout is back. */
        event_add(&bev->ev_read, evutil_timerisset(&bev->timeout_read) ? &bev->timeout_read : NULL);
    }
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t want = BEVIO_READ_MAX, len = evbuffer_get_length(in);
    size_t high = bev->wm_read.high;
    if (high > 0) {
        if (len >= high) {
            stop_full(bev);
            goto out; /* resumed with a kick (on_input_change) */
        }
        if (high - len < want)
            want = high - len;
    }
    /* one extent, read with recv(): a socket read through readv() takes the
     * VFS path (iovec import, file position lock) for nothing */
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(in, (ev_ssize_t)want, &v, 1) != 1) {
        read_failed(bev, BEV_EVENT_ERROR);
        goto out;
    }
    size_t ask = want < v.iov_len ? want : v.iov_len;
    ssize_t n = recv(fd, v.iov_base, ask, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            read_failed(bev, BEV_EVENT_ERROR);
        else if (errno == EINTR)
            kick(&bev->ev_read, EV_READ);
        else if (timed_out)
            read_failed(bev, BEV_EVENT_TIMEOUT);
        goto out;
    }
    if (n == 0) {
        read_failed(bev, BEV_EVENT_EOF);
        goto out;
    }
    v.iov_len = (size_t)n;
    evbuffer_commit_space(in, &v, 1);
    /* a short read emptied the socket: what comes next is reported, but
     * for a FIN that came with this report (EV_CLOSED), read on for it */
    bool more = (size_t)n == ask;
    bool fin = !more && (ev & EV_CLOSED);
    if (high > 0 && evbuffer_get_length(in) >= high)
        stop_full(bev); /* as libevent's watermark does */
    if (bev->readcb && evbuffer_get_length(in) >= bev->wm_read.low)
        bev->readcb(bev, bev->cbarg);
    /* (stopped, by the callback or the watermark: the re-arm kicks) */
    if ((more || fin) && edge(bev) && event_pending(&bev->ev_read, EV_READ, NULL))
        read_on(bev); /* fin: recv() returns 0 then */
out:
    bufferevent_decref(bev);
}

void bevio_set_read_high(struct bufferevent *bev, size_t high)
{
    /* libevent's watermark stays off (its callback would act on every
     * change); the field is libevent's, read by on_readable() */
    bev->wm_read.high = high;
}

/* libevent's writer without its 16 KiB a call: until the output is empty
 * or the socket full, so that an armed edge-triggered event always waits
 * for the wake-up of a full socket. */
static void on_writable(evutil_socket_t fd, short ev, void *ud)
{
    struct bufferevent *bev = ud;
    bufferevent_incref(bev);
    struct evbuffer *out = bufferevent_get_output(bev);
    short what = BEV_EVENT_WRITING;
    if ((ev & EV_TIMEOUT) && !(ev & EV_WRITE)) {
        what |= BEV_EVENT_TIMEOUT;
        goto fail;
    }
    size_t wrote = 0;
    /* a socket bufferevent freezes its output's start (only it drains it) */
    evbuffer_unfreeze(out, 1);
    while (evbuffer_get_length(out) > 0) {
        int n = evbuffer_write(out, fd);
        if (n > 0) {
            wrote += (size_t)n;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            what |= n < 0 ? BEV_EVENT_ERROR : BEV_EVENT_EOF;
            goto fail;
        } else if (errno != EINTR) {
            break; /* full: the wake-up comes when it drains */
        }
    }
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out) == 0)
        event_del(&bev->ev_write);
    if (wrote > 0 && bev->writecb && evbuffer_get_length(out) <= bev->wm_write.low)
        bev->writecb(bev, bev->cbarg);
    goto out;
fail:;
    int e = errno; /* for the event callback, as libevent leaves it */
    evbuffer_freeze(out, 1);
    bufferevent_disable(bev, EV_WRITE);
    errno = e;
    if (bev->errorcb)
        bev->errorcb(bev, what, bev->cbarg);
out:
    bufferevent_decref(bev);
}

void bevio_own(struct bufferevent *bev, bool writes)
{
    if (bufferevent_getfd(bev) < 0)
        return;
    /* a socket bufferevent freezes its input's end: only its reader adds */
    evbuffer_unfreeze(bufferevent_get_input(bev), 0);
    /* edge-triggered, the read event also asks for the peer's FIN
     * (EPOLLRDHUP): one report may bring the last bytes and the FIN, and a
     * short read then leaves the end unread with no report to come */
    short et = writes ? EV_ET | EV_CLOSED : 0;
    if (reassign(bev, &bev->ev_read, (short)(EV_READ | EV_PERSIST | EV_FINALIZE | et), on_readable,
                 &bev->timeout_read))
        kick(&bev->ev_read, EV_READ);
    if (!writes)
        return;
    if (reassign(bev, &bev->ev_write, EV_WRITE | EV_PERSIST | EV_FINALIZE | EV_ET, on_writable,
                 &bev->timeout_write))
        kick(&bev->ev_write, EV_WRITE);
}

void bevio_enable(struct bufferevent *bev, short what)
{
    bufferevent_enable(bev, what);
    /* (a read re-armed is polled by the epoll_ctl the changelist makes of
     * it: kicking it would cost a recv() of nothing, and a reserved input
     * chain, on every new connection) */
    if ((what & EV_WRITE) && evbuffer_get_length(bufferevent_get_output(bev)) > 0 &&
        event_pending(&bev->ev_write, EV_WRITE, NULL))
        kick(&bev->ev_write, EV_WRITE);
}

/* May event `ev` of bev (its timeout now `cur`) go on as it is when the
 * timeout becomes `want`?  Yes when it is not armed (only the value is
 * stored then), or armed with the same value and a deadline near enough to
 * the one re-adding it would give. */
static bool timeout_keeps(struct bufferevent *bev, struct event *ev, short what,
                          const struct timeval *cur, const struct timeval *want)
{
    struct timeval at, now, due;
    int pending = event_pending(ev, (short)(what | EV_TIMEOUT), &at);
    if (!(pending & what))
        return true;
    if (!want)
        return !evutil_timerisset(cur);
    if (!evutil_timerisset(cur) || evutil_timercmp(cur, want, !=) || !(pending & EV_TIMEOUT))
        return false;
    /* both in libevent's cached clock (the loop's, remapped to real time) */
    if (event_base_gettimeofday_cached(bufferevent_get_base(bev), &now) < 0)
        return false;
    evutil_timeradd(&now, want, &due);
    long long d = (long long)(due.tv_sec - at.tv_sec) * 1000000 + (due.tv_usec - at.tv_usec);
    long long slack = ((long long)want->tv_sec * 1000000 + want->tv_usec) / 8;
    if (slack > BEVIO_LAZY_MS * 1000LL)
        slack = BEVIO_LAZY_MS * 1000LL;
    return d < slack && d > -slack;
}

void bevio_set_timeouts(struct bufferevent *bev, const struct timeval *rt, const struct timeval *wt)
{
    if (!timeout_keeps(bev, &bev->ev_read, EV_READ, &bev->timeout_read, rt) ||
        !timeout_keeps(bev, &bev->ev_write, EV_WRITE, &bev->timeout_write, wt)) {
        bufferevent_set_timeouts(bev, rt, wt);
        return;
    }
    /* what bufferevent_set_timeouts() stores, for the next time an event is
     * added; the armed ones keep theirs (the same value) */
    if (rt)
        bev->timeout_read = *rt;
    else
        evutil_timerclear(&bev->timeout_read);
    if (wt)
        bev->timeout_write = *wt;
    else
        evutil_timerclear(&bev->timeout_write);
}

bool bevio_write_now(struct bufferevent *bev, bool no_files)
{
    /* Queuing output makes libevent arm the write event (an epoll_ctl now and
     * one when it drains, plus a loop turn); most responses fit the socket
     * buffer, so write at once and disarm it when everything went. */
    struct evbuffer *out = bufferevent_get_output(bev);
    if (evbuffer_get_length(out) == 0)
        return true;
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0)
        return false;
    /* A socket bufferevent freezes its output's start (only it drains it). */
    evbuffer_unfreeze(out, 1);
    struct evbuffer_iovec v[2];
    int n;
    if (no_files && evbuffer_peek(out, -1, NULL, v, 2) == 1) {
        ssize_t k = send(fd, v[0].iov_base, v[0].iov_len, MSG_NOSIGNAL);
        n = k < 0 ? -1 : 0;
        if (k > 0)
            evbuffer_drain(out, (size_t)k);
    } else {
        /* libevent's evbuffer_write(): several extents (writev), file
         * segments (sendfile) */
        n = evbuffer_write(out, fd);
    }
    evbuffer_freeze(out, 1);
    if (n < 0)
        return false; /* the write event's writer reports the error */
    if (evbuffer_get_length(out) > 0)
        return false;
    event_del(&bev->ev_write);
    return true;
}
