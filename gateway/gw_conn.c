/* conn: connection bytes (see conn.h). */
#include "gw_conn.h"

#include <errno.h>
#include <limits.h>
#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http1.h"

#define RBUF_INITIAL 16384

int gw_conn_init(struct gw_conn *c, int fd, enum gw_proto proto, size_t rmax, int io_timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->rcap = rmax < RBUF_INITIAL ? rmax : RBUF_INITIAL;
    c->rbuf = malloc(c->rcap);
    if (!c->rbuf)
        return -1;
    c->fd = fd;
    c->proto = proto;
    c->rmax = rmax;
    c->io_timeout_ms = io_timeout_ms;
    c->req.content_length = -1;
    return 0;
}

void gw_conn_close(struct gw_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->rbuf);
    c->rbuf = NULL;
    gw_req_free(&c->req);
}

static int wait_fd(int fd, short what, int timeout_ms)
{
    struct pollfd pfd = {fd, what, 0};
    for (;;) {
        int rc = poll(&pfd, 1, timeout_ms);
        if (rc > 0)
            return 0;
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

ssize_t gw_conn_fill(struct gw_conn *c, int timeout_ms)
{
    if (c->roff == c->rlen)
        c->roff = c->rlen = 0;
    if (c->rlen == c->rcap) {
        if (c->roff > 0) {
            memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
            c->rlen -= c->roff;
            c->roff = 0;
        } else if (c->rcap < c->rmax) {
            size_t ncap = c->rcap * 2 > c->rmax ? c->rmax : c->rcap * 2;
            char *nb = realloc(c->rbuf, ncap);
            if (!nb)
                return -2;
            c->rbuf = nb;
            c->rcap = ncap;
        } else
            return -2;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n > 0) {
            c->rlen += (size_t)n;
            return n;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || timeout_ms <= 0)
            return -1;
        if (wait_fd(c->fd, POLLIN, timeout_ms) < 0)
            return -1;
        timeout_ms = 0; /* readable now: one more try, then report */
    }
}

void gw_conn_body_begin(struct gw_conn *c, enum gw_body_mode mode, uint64_t length)
{
    c->roff += c->head_len;
    c->head_len = 0;
    c->body_mode = mode;
    c->body_left = mode == GW_BODY_LENGTH ? length : 0;
    http1_chunked_init(&c->ck);
    c->body_error = false;
    c->body_status = 0;
    c->body_read = 0;
    c->continue_sent = !c->req.expect_continue;
    if (mode == GW_BODY_LENGTH && length == 0)
        c->body_mode = GW_BODY_NONE;
}

/* Reads more body bytes from the socket, sending "100 Continue" first if the
 * client waits for it.  0 or -1 (body_error set). */
static int body_fill(struct gw_conn *c)
{
    if (!c->continue_sent) {
        c->continue_sent = true;
        if (gw_conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
            goto fail;
    }
    ssize_t n = gw_conn_fill(c, c->io_timeout_ms);
    if (n > 0)
        return 0;
fail:
    c->body_error = true;
    return -1;
}

int gw_conn_body_avail(struct gw_conn *c, const char **p, size_t *n)
{
    *n = 0;
    if (c->body_error)
        return -1;
    for (;;) {
        size_t avail = c->rlen - c->roff;
        if (c->body_mode == GW_BODY_NONE)
            return 0;
        if (c->body_mode == GW_BODY_LENGTH) {
            if (c->body_left == 0) {
                c->body_mode = GW_BODY_NONE;
                return 0;
            }
            if (avail == 0) {
                if (body_fill(c) < 0)
                    return -1;
                continue;
            }
            *p = c->rbuf + c->roff;
            *n = avail < c->body_left ? avail : (size_t)c->body_left;
            return 0;
        }
        /* chunked: the codec's decoder, fed whatever the buffer holds */
        if (http1_chunked_done(&c->ck)) {
            c->body_mode = GW_BODY_NONE;
            return 0;
        }
        if (avail == 0) {
            if (body_fill(c) < 0)
                return -1;
            continue;
        }
        if (http1_chunked_in_data(&c->ck)) {
            *p = c->rbuf + c->roff;
            *n = avail < c->ck.remaining ? avail : (size_t)c->ck.remaining;
            if (c->body_max && c->body_read + *n > c->body_max) {
                *n = 0;
                c->body_error = true;
                c->body_status = 413;
                errno = EFBIG;
                return -1;
            }
            return 0;
        }
        long k = http1_chunked_frame(&c->ck, c->rbuf + c->roff, avail);
        if (k < 0) {
            c->body_error = true;
            c->body_status = 400;
            errno = EPROTO;
            return -1;
        }
        c->roff += (size_t)k;
    }
}

void gw_conn_body_consume(struct gw_conn *c, size_t n)
{
    c->roff += n;
    if (c->body_mode == GW_BODY_CHUNKED)
        http1_chunked_consumed(&c->ck, n);
    else
        c->body_left -= n;
    c->body_read += n;
}

bool gw_conn_body_undrainable(const struct gw_conn *c, uint64_t limit)
{
    /* !continue_sent: the client waits for our go before sending the body */
    return (c->body_mode != GW_BODY_NONE && !c->continue_sent) ||
           (c->body_mode == GW_BODY_LENGTH && c->body_left > limit) || c->body_error;
}

int gw_conn_body_drain(struct gw_conn *c, uint64_t limit)
{
    if (gw_conn_body_undrainable(c, limit))
        return -1;
    uint64_t done = 0;
    for (;;) {
        const char *p;
        size_t n;
        if (gw_conn_body_avail(c, &p, &n) < 0)
            return -1;
        if (n == 0)
            return 0;
        done += n;
        if (done > limit)
            return -1;
        gw_conn_body_consume(c, n);
    }
}

bool gw_conn_unread(const struct gw_conn *c)
{
    return c->body_mode != GW_BODY_NONE || c->body_error || c->rlen > c->roff;
}

int gw_conn_linger_begin(struct gw_conn *c)
{
    c->roff = c->rlen = 0;
    c->head_len = 0;
    c->body_mode = GW_BODY_NONE;
    return shutdown(c->fd, SHUT_WR);
}

ssize_t gw_conn_discard(struct gw_conn *c, size_t max)
{
    size_t done = 0;
    while (done < max) {
        size_t want = max - done < c->rcap ? max - done : c->rcap;
        ssize_t n = recv(c->fd, c->rbuf, want, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (done)
            return (ssize_t)done; /* EOF or EAGAIN comes again on the next call */
        return n;
    }
    return (ssize_t)done;
}

int gw_conn_writev(struct gw_conn *c, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(c->fd, iov, n > IOV_MAX ? IOV_MAX : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && wait_fd(c->fd, POLLOUT, c->io_timeout_ms) == 0)
                continue;
            return -1;
        }
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

int gw_conn_write(struct gw_conn *c, const void *p, size_t n)
{
    struct iovec iov = {(void *)p, n};
    return gw_conn_writev(c, &iov, 1);
}

ssize_t gw_conn_sendfile(struct gw_conn *c, int fd, off_t off, size_t count)
{
    size_t sent = 0;
    while (sent < count) {
        ssize_t w = sendfile(c->fd, fd, &off, count - sent);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && wait_fd(c->fd, POLLOUT, c->io_timeout_ms) == 0)
                continue;
            return -1;
        }
        if (w == 0)
            break; /* the file is shorter than announced */
        sent += (size_t)w;
    }
    return (ssize_t)sent;
}
