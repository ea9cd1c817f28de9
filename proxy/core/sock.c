/* sock: a socket, its buffers, events and transport (see sock.h). */
#define _GNU_SOURCE
#include "sock.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct sock {
    struct event_base *base; /* borrowed */
    int fd;                  /* owned; -1 once closed */
    const struct sock_io *io;
    struct evbuffer *in, *out;
    struct event *rev, *wev; /* in the same allocation, after the struct */
    struct timeval rt, wt;   /* timeouts (cleared: none) */
    size_t read_high;        /* 0: none */
    size_t write_low;        /* the write callback at or under it */
    sock_data_cb readcb, writecb;
    sock_event_cb eventcb;
    void *ud;
    short enabled;   /* EV_READ | EV_WRITE */
    bool edge;       /* EV_ET events */
    bool connecting; /* the write event waits for the connect */
    bool stopped;    /* reads stopped at the high watermark (input callback on) */
    bool put_off;    /* a read-on waits for the next turn (a 0 timeout) */
    int busy;        /* callbacks of ours running on it */
    bool dead;       /* sock_free() came while busy */
};

/* The plain transport. */
static ssize_t plain_recv(struct sock *s, void *buf, size_t len)
{
    return recv(s->fd, buf, len, 0);
}

static ssize_t plain_send(struct sock *s, const void *buf, size_t len)
{
    return send(s->fd, buf, len, MSG_NOSIGNAL);
}

static int plain_write(struct sock *s, struct evbuffer *out)
{
    /* libevent's writer: writev() of the extents, sendfile() of a file
     * segment (whose chain holds no bytes in memory) */
    return evbuffer_write(out, s->fd);
}

static int plain_shutdown(struct sock *s)
{
    return shutdown(s->fd, SHUT_WR);
}

const struct sock_io sock_plain = {
    .recv = plain_recv,
    .send = plain_send,
    .write = plain_write,
    .shutdown = plain_shutdown,
};

static const struct timeval *timeout_of(const struct timeval *tv)
{
    return evutil_timerisset(tv) ? tv : NULL;
}

/* Frees what sock_free() left while a callback ran. */
static void destroy(struct sock *s)
{
    event_del(s->rev);
    event_del(s->wev);
    /* the events live in s's allocation: take them out of the loop first */
    event_debug_unassign(s->rev);
    event_debug_unassign(s->wev);
    evbuffer_free(s->in);
    evbuffer_free(s->out);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

/* Around our event callbacks: the user's callbacks may free s. */
static void hold(struct sock *s)
{
    s->busy++;
}

/* false when s is gone (freed now or dying): touch nothing more. */
static bool release(struct sock *s)
{
    if (--s->busy == 0 && s->dead) {
        destroy(s);
        return false;
    }
    return !s->dead;
}

static void run_event(struct sock *s, short what)
{
    if (!s->dead && s->eventcb)
        s->eventcb(s, what, s->ud);
}

/* One attempt in this loop turn for an edge-triggered event just re-armed
 * (the epoll_ctl that re-arms it would have it reported a turn later). */
static void kick(struct sock *s, struct event *ev, short what)
{
    if (s->edge)
        event_active(ev, what, 1);
}

static int arm_read(struct sock *s)
{
    if (s->stopped) /* resumed by the input's drain (on_input_change) */
        return 0;
    if (s->put_off) /* armed, with its read-on due next turn */
        return 0;
    return event_add(s->rev, timeout_of(&s->rt));
}

static int arm_write(struct sock *s)
{
    if (evbuffer_get_length(s->out) == 0 && !s->connecting)
        return 0;
    return event_add(s->wev, timeout_of(&s->wt));
}

/* Reports `what` the way libevent's reader does: reading off, then the
 * event callback. */
static void read_failed(struct sock *s, short what)
{
    sock_disable(s, EV_READ);
    run_event(s, (short)(SOCK_READING | what));
}

/* Registered on the input while reading is stopped at the high watermark
 * (only then: a callback on the input costs a call at every change):
 * restarts the read event, if reading is enabled, once the input drained
 * below the mark, and goes away. */
static void on_input_change(struct evbuffer *in, const struct evbuffer_cb_info *info, void *ud)
{
    struct sock *s = ud;
    (void)info;
    if (s->read_high > 0 && evbuffer_get_length(in) >= s->read_high)
        return;
    evbuffer_remove_cb(in, on_input_change, s); /* safe from inside (libevent saves next) */
    s->stopped = false;
    if (!(s->enabled & EV_READ) || s->dead)
        return;
    event_add(s->rev, timeout_of(&s->rt));
    kick(s, s->rev, EV_READ);
}

/* The input reached the high watermark: no reading until it drains. */
static void stop_full(struct sock *s)
{
    event_del(s->rev);
    s->put_off = false;
    if (!s->stopped)
        evbuffer_add_cb(s->in, on_input_change, s);
    s->stopped = true;
}

/* Output queued while writing is enabled arms the write event, as
 * libevent's socket bufferevent does. */
static void on_output_change(struct evbuffer *out, const struct evbuffer_cb_info *info, void *ud)
{
    struct sock *s = ud;
    (void)out;
    if (info->n_added > 0 && (s->enabled & EV_WRITE) && !s->dead &&
        !event_pending(s->wev, EV_WRITE, NULL))
        event_add(s->wev, timeout_of(&s->wt));
}

/* Reading on after a full read.  Edge-triggered, nothing reports the rest:
 * the read event is kicked, in this loop turn while the turn's budget of
 * SOCK_TURN_READS lasts (the other connections' events of the turn go
 * first, the kick queues behind them), else in the next turn, after its
 * epoll_wait() and timers, so that one fast transfer cannot hold the loop:
 * the event's timeout becomes 0 and on_read() puts the read timeout back.
 * The budget is the worker's (one loop, one thread): turns are told apart
 * by the loop's cached time. */
static void read_on(struct sock *s)
{
    static struct timeval turn;
    static int reads;
    struct timeval now;
    if (event_base_gettimeofday_cached(s->base, &now) == 0 && evutil_timercmp(&now, &turn, !=)) {
        turn = now;
        reads = 0;
    }
    if (reads++ < SOCK_TURN_READS) {
        event_active(s->rev, EV_READ, 1);
        return;
    }
    static const struct timeval next_turn = {0, 0};
    s->put_off = true;
    event_add(s->rev, &next_turn);
}

static void on_read(evutil_socket_t fd, short ev, void *ud)
{
    struct sock *s = ud;
    (void)fd;
    hold(s);
    bool timed_out = ev & EV_TIMEOUT;
    if (timed_out) {
        bool put_off = s->put_off;
        s->put_off = false;
        if (!s->edge) {
            read_failed(s, SOCK_TIMEOUT);
            goto out;
        }
        /* edge-triggered, a read put off to this turn (read_on()) comes as
         * a timeout, and bytes the real one finds waiting are read: it is a
         * timeout only if there are none.  The read timeout is back. */
        event_add(s->rev, timeout_of(&s->rt));
        if (put_off)
            timed_out = false;
    }
    size_t want = SOCK_READ_MAX, len = evbuffer_get_length(s->in);
    if (s->read_high > 0) {
        if (len >= s->read_high) {
            stop_full(s);
            goto out; /* resumed with a kick (on_input_change) */
        }
        if (s->read_high - len < want)
            want = s->read_high - len;
    }
    /* one extent, read with recv(): a socket read through readv() takes the
     * VFS path (iovec import, file position lock) for nothing */
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(s->in, (ev_ssize_t)want, &v, 1) != 1) {
        read_failed(s, SOCK_ERROR);
        goto out;
    }
    size_t ask = want < v.iov_len ? want : v.iov_len;
    ssize_t n = s->io->recv(s, v.iov_base, ask);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            read_failed(s, SOCK_ERROR);
        else if (errno == EINTR)
            kick(s, s->rev, EV_READ);
        else if (timed_out)
            read_failed(s, SOCK_TIMEOUT);
        goto out;
    }
    if (n == 0) {
        read_failed(s, SOCK_EOF);
        goto out;
    }
    v.iov_len = (size_t)n;
    evbuffer_commit_space(s->in, &v, 1);
    /* a short read emptied the socket: what comes next is reported, but
     * for a FIN that came with this report (EV_CLOSED), read on for it */
    bool more = (size_t)n == ask;
    bool fin = !more && (ev & EV_CLOSED);
    if (s->read_high > 0 && evbuffer_get_length(s->in) >= s->read_high)
        stop_full(s);
    if (s->readcb)
        s->readcb(s, s->ud);
    /* (stopped, by the callback or the watermark: the re-arm kicks) */
    if (!s->dead && (more || fin) && s->edge && !s->put_off && event_pending(s->rev, EV_READ, NULL))
        read_on(s); /* fin: recv() returns 0 then */
out:
    release(s);
}

/* The connect finished (or not yet): true to go on writing. */
static bool connect_done(struct sock *s)
{
    int err = 0;
    socklen_t elen = sizeof(err);
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err == EINPROGRESS || err == EINTR)
        return false; /* a spurious wake-up: the real one comes */
    s->connecting = false;
    if (err) {
        event_del(s->wev);
        event_del(s->rev);
        errno = err;
        run_event(s, SOCK_ERROR);
        return false;
    }
    run_event(s, SOCK_CONNECTED);
    if (s->dead || !(s->enabled & EV_WRITE) || evbuffer_get_length(s->out) == 0) {
        if (!s->dead)
            event_del(s->wev);
        return false;
    }
    return true;
}

/* Writes until the output is empty or the socket full, so that an armed
 * edge-triggered event always waits for the wake-up of a full socket. */
static void on_write(evutil_socket_t fd, short ev, void *ud)
{
    struct sock *s = ud;
    (void)fd;
    hold(s);
    short what = SOCK_WRITING;
    if ((ev & EV_TIMEOUT) && !(ev & EV_WRITE)) {
        what |= SOCK_TIMEOUT;
        goto fail;
    }
    if (s->connecting && !connect_done(s))
        goto out;
    size_t wrote = 0;
    while (evbuffer_get_length(s->out) > 0) {
        int n = s->io->write(s, s->out);
        if (n > 0) {
            wrote += (size_t)n;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            what |= n < 0 ? SOCK_ERROR : SOCK_EOF;
            goto fail;
        } else if (errno != EINTR) {
            break; /* full: the wake-up comes when it drains */
        }
    }
    if (evbuffer_get_length(s->out) == 0)
        event_del(s->wev);
    if (wrote > 0 && s->writecb && evbuffer_get_length(s->out) <= s->write_low)
        s->writecb(s, s->ud);
    goto out;
fail:;
    int e = errno; /* for the event callback, as libevent leaves it */
    sock_disable(s, EV_WRITE);
    errno = e;
    run_event(s, what);
out:
    release(s);
}

struct sock *sock_new(struct event_base *base, int fd, int flags)
{
    /* the two events in the same allocation (event_assign() into memory of
     * the size libevent says, not its struct's layout) */
    size_t head = (sizeof(struct sock) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    size_t evsz =
        (event_get_struct_event_size() + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    struct sock *s = calloc(1, head + 2 * evsz);
    if (!s) {
        close(fd);
        return NULL;
    }
    s->base = base;
    s->fd = fd;
    s->io = &sock_plain;
    s->edge = flags & SOCK_EDGE;
    s->rev = (struct event *)((char *)s + head);
    s->wev = (struct event *)((char *)s + head + evsz);
    s->in = evbuffer_new();
    s->out = evbuffer_new();
    /* edge-triggered, the read event also asks for the peer's FIN
     * (EPOLLRDHUP): one report may bring the last bytes and the FIN, and a
     * short read then leaves the end unread with no report to come */
    short et = s->edge ? EV_ET : 0;
    short closed = s->edge ? EV_CLOSED : 0;
    if (!s->in || !s->out ||
        event_assign(s->rev, base, fd, (short)(EV_READ | EV_PERSIST | et | closed), on_read, s) <
            0 ||
        event_assign(s->wev, base, fd, (short)(EV_WRITE | EV_PERSIST | et), on_write, s) < 0 ||
        !evbuffer_add_cb(s->out, on_output_change, s)) {
        if (s->in)
            evbuffer_free(s->in);
        if (s->out)
            evbuffer_free(s->out);
        close(fd);
        free(s);
        return NULL;
    }
    s->enabled = EV_WRITE; /* as bufferevent_socket_new() */
    return s;
}

int sock_connect_wait(struct sock *s)
{
    s->connecting = true;
    return event_add(s->wev, timeout_of(&s->wt));
}

void sock_free(struct sock *s)
{
    if (!s)
        return;
    if (s->busy > 0) {
        /* silent until the callback returns; the fd goes then */
        event_del(s->rev);
        event_del(s->wev);
        s->dead = true;
        return;
    }
    destroy(s);
}

void sock_setcb(struct sock *s, sock_data_cb readcb, sock_data_cb writecb, sock_event_cb eventcb,
                void *ud)
{
    s->readcb = readcb;
    s->writecb = writecb;
    s->eventcb = eventcb;
    s->ud = ud;
}

void sock_set_io(struct sock *s, const struct sock_io *io)
{
    s->io = io;
}

struct evbuffer *sock_input(const struct sock *s)
{
    return s->in;
}

struct evbuffer *sock_output(const struct sock *s)
{
    return s->out;
}

int sock_fd(const struct sock *s)
{
    return s->fd;
}

int sock_enable(struct sock *s, short what)
{
    int r = 0;
    s->enabled |= what & (EV_READ | EV_WRITE);
    /* (a read re-armed is polled by the epoll_ctl the changelist makes of
     * it: kicking it would cost a recv() of nothing, and a reserved input
     * chain, on every new connection) */
    if ((what & EV_READ) && arm_read(s) < 0)
        r = -1;
    if (what & EV_WRITE) {
        if (arm_write(s) < 0)
            r = -1;
        else if (evbuffer_get_length(s->out) > 0 && event_pending(s->wev, EV_WRITE, NULL))
            kick(s, s->wev, EV_WRITE);
    }
    return r;
}

int sock_disable(struct sock *s, short what)
{
    s->enabled &= (short)~what;
    if (what & EV_READ) {
        event_del(s->rev);
        s->put_off = false;
    }
    if ((what & EV_WRITE) && !s->connecting)
        event_del(s->wev);
    return 0;
}

short sock_enabled(const struct sock *s)
{
    return s->enabled;
}

/* An armed event takes timeout tv now (NULL: none), as
 * bufferevent_set_timeouts() does; a read-on put off keeps its turn (the
 * timeout comes back when it runs). */
static void retime(struct sock *s, struct event *ev, short what, const struct timeval *tv)
{
    if (!event_pending(ev, what, NULL) || (ev == s->rev && s->put_off))
        return;
    if (tv)
        event_add(ev, tv);
    else
        event_remove_timer(ev);
}

static void store(struct timeval *dst, const struct timeval *tv)
{
    if (tv)
        *dst = *tv;
    else
        evutil_timerclear(dst);
}

void sock_set_timeouts(struct sock *s, const struct timeval *rt, const struct timeval *wt)
{
    store(&s->rt, rt);
    store(&s->wt, wt);
    retime(s, s->rev, EV_READ, timeout_of(&s->rt));
    retime(s, s->wev, EV_WRITE, timeout_of(&s->wt));
}

/* May event `ev` (its timeout now `cur`) go on as it is when the timeout
 * becomes `want`?  Yes when it is not armed (only the value is stored
 * then), or armed with the same value and a deadline near enough to the
 * one re-adding it would give. */
static bool timeout_keeps(struct sock *s, struct event *ev, short what, const struct timeval *cur,
                          const struct timeval *want)
{
    struct timeval at, now, due;
    int pending = event_pending(ev, (short)(what | EV_TIMEOUT), &at);
    if (!(pending & what))
        return true;
    if (ev == s->rev && s->put_off)
        return true; /* its timeout comes back when the read-on runs */
    if (!want)
        return !evutil_timerisset(cur);
    if (!evutil_timerisset(cur) || evutil_timercmp(cur, want, !=) || !(pending & EV_TIMEOUT))
        return false;
    /* both in libevent's cached clock (the loop's, remapped to real time) */
    if (event_base_gettimeofday_cached(s->base, &now) < 0)
        return false;
    evutil_timeradd(&now, want, &due);
    long long d = (long long)(due.tv_sec - at.tv_sec) * 1000000 + (due.tv_usec - at.tv_usec);
    long long slack = ((long long)want->tv_sec * 1000000 + want->tv_usec) / 8;
    if (slack > SOCK_LAZY_MS * 1000LL)
        slack = SOCK_LAZY_MS * 1000LL;
    return d < slack && d > -slack;
}

void sock_set_timeouts_lazy(struct sock *s, const struct timeval *rt, const struct timeval *wt)
{
    if (!timeout_keeps(s, s->rev, EV_READ, &s->rt, rt) ||
        !timeout_keeps(s, s->wev, EV_WRITE, &s->wt, wt)) {
        sock_set_timeouts(s, rt, wt);
        return;
    }
    /* for the next time an event is added; the armed ones keep theirs */
    store(&s->rt, rt);
    store(&s->wt, wt);
}

void sock_set_read_high(struct sock *s, size_t high)
{
    s->read_high = high;
    /* a mark lowered under the input takes effect at the next read; one
     * raised or removed over a stopped input resumes it */
    if (s->stopped && (high == 0 || evbuffer_get_length(s->in) < high)) {
        struct evbuffer_cb_info none = {0, 0, 0};
        on_input_change(s->in, &none, s);
    }
}

void sock_set_write_low(struct sock *s, size_t low)
{
    s->write_low = low;
}

bool sock_write_now(struct sock *s, bool no_files)
{
    /* Queuing output arms the write event (an epoll_ctl now and one when it
     * drains, plus a loop turn); most responses fit the socket buffer, so
     * write at once and disarm it when everything went. */
    if (evbuffer_get_length(s->out) == 0)
        return true;
    if (s->fd < 0 || s->connecting)
        return false;
    struct evbuffer_iovec v[2];
    int n;
    if (no_files && evbuffer_peek(s->out, -1, NULL, v, 2) == 1) {
        ssize_t k = s->io->send(s, v[0].iov_base, v[0].iov_len);
        n = k < 0 ? -1 : 0;
        if (k > 0)
            evbuffer_drain(s->out, (size_t)k);
    } else {
        n = s->io->write(s, s->out);
    }
    if (n < 0)
        return false; /* the write event's writer reports the error */
    if (evbuffer_get_length(s->out) > 0)
        return false;
    event_del(s->wev);
    return true;
}

int sock_shutdown(struct sock *s)
{
    return s->io->shutdown(s);
}
