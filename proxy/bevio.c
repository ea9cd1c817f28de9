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
    if ((bufferevent_get_enabled(bev) & EV_READ) && !event_pending(&bev->ev_read, EV_READ, NULL))
        event_add(&bev->ev_read, evutil_timerisset(&bev->timeout_read) ? &bev->timeout_read : NULL);
}

/* The input reached the high watermark: no reading until it drains. */
static void stop_full(struct bufferevent *bev)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    event_del(&bev->ev_read);
    evbuffer_remove_cb(in, on_input_change, bev); /* at most one */
    evbuffer_add_cb(in, on_input_change, bev);
}

static void on_readable(evutil_socket_t fd, short ev, void *ud)
{
    struct bufferevent *bev = ud;
    /* the callbacks may free bev: the reference keeps it until we are out */
    bufferevent_incref(bev);
    if (ev & EV_TIMEOUT) {
        read_failed(bev, BEV_EVENT_TIMEOUT);
        goto out;
    }
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t want = BEVIO_READ_MAX, len = evbuffer_get_length(in);
    size_t high = bev->wm_read.high;
    if (high > 0) {
        if (len >= high) {
            stop_full(bev);
            goto out;
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
    ssize_t n = recv(fd, v.iov_base, want < v.iov_len ? want : v.iov_len, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            read_failed(bev, BEV_EVENT_ERROR);
        goto out;
    }
    if (n == 0) {
        read_failed(bev, BEV_EVENT_EOF);
        goto out;
    }
    v.iov_len = (size_t)n;
    evbuffer_commit_space(in, &v, 1);
    if (high > 0 && evbuffer_get_length(in) >= high)
        stop_full(bev); /* as libevent's watermark does */
    if (bev->readcb && evbuffer_get_length(in) >= bev->wm_read.low)
        bev->readcb(bev, bev->cbarg);
out:
    bufferevent_decref(bev);
}

void bevio_set_read_high(struct bufferevent *bev, size_t high)
{
    /* libevent's watermark stays off (its callback would act on every
     * change); the field is libevent's, read by on_readable() */
    bev->wm_read.high = high;
}

void bevio_own_reads(struct bufferevent *bev)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0)
        return;
    /* a socket bufferevent freezes its input's end: only its reader adds */
    evbuffer_unfreeze(bufferevent_get_input(bev), 0);
    bool pending = event_pending(&bev->ev_read, EV_READ, NULL);
    event_del(&bev->ev_read);
    event_assign(&bev->ev_read, bufferevent_get_base(bev), fd, EV_READ | EV_PERSIST, on_readable,
                 bev);
    if (pending)
        event_add(&bev->ev_read, evutil_timerisset(&bev->timeout_read) ? &bev->timeout_read : NULL);
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
        /* libevent's writer: several extents (writev), file segments (sendfile) */
        n = evbuffer_write(out, fd);
    }
    evbuffer_freeze(out, 1);
    if (n < 0)
        return false; /* libevent's own write reports the error */
    if (evbuffer_get_length(out) > 0)
        return false;
    event_del(&bev->ev_write);
    return true;
}
