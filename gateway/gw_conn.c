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
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_http.h"

enum chunk_state {
    CH_SIZE,     /* at a chunk-size line */
    CH_DATA,     /* inside chunk data (body_left bytes left) */
    CH_DATA_END, /* at the CRLF after chunk data */
    CH_TRAILER,  /* at a trailer line or the final empty line */
    CH_DONE,
};

#define RBUF_INITIAL   16384
#define CHUNK_LINE_MAX 4096
#define TRAILER_MAX    16384

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
    c->chunk_state = CH_SIZE;
    c->body_error = false;
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

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Finds a complete CRLF-terminated line at roff.  Returns its length without
 * CRLF, -1 when more bytes are needed, -2 when malformed (bare LF/CR) or
 * longer than `max`. */
static ssize_t find_line(struct gw_conn *c, size_t max)
{
    const char *s = c->rbuf + c->roff;
    size_t avail = c->rlen - c->roff;
    const char *nl = memchr(s, '\n', avail);
    if (!nl)
        return avail > max + 1 ? -2 : -1;
    size_t n = (size_t)(nl - s);
    if (n == 0 || s[n - 1] != '\r' || n - 1 > max || memchr(s, '\r', n - 1))
        return -2;
    return (ssize_t)(n - 1);
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Fields a trailer must not carry (RFC 9110 6.5.1): framing, routing,
 * request modifiers, content metadata.  A request sending one is refused. */
static bool forbidden_trailer(const char *name, size_t n)
{
    static const char *const names[] = {"content-length",
                                        "transfer-encoding",
                                        "host",
                                        "trailer",
                                        "te",
                                        "content-type",
                                        "content-encoding",
                                        "content-range",
                                        "authorization",
                                        "expect",
                                        "range",
                                        "cookie",
                                        "connection",
                                        "upgrade",
                                        "keep-alive",
                                        "max-forwards",
                                        "proxy-authorization"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && strncasecmp(names[i], name, n) == 0)
            return true;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)name[i]))
            return true;
    return false;
}

/* Parses a chunk-size line of `n` bytes: 1*HEXDIG [ ";" ext ].  0 or -1. */
static int parse_chunk_size(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    int d;
    while (i < n && (d = hexval(s[i])) >= 0) {
        if (v >> 59)
            return -1; /* overflow */
        v = v * 16 + (uint64_t)d;
        i++;
    }
    if (i == 0)
        return -1;
    /* chunk-ext: *( BWS ";" BWS name [ BWS "=" BWS value ] ); each name must
     * be there (llhttp 9 refuses "5;"), values are not interpreted */
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n)
            break;
        if (s[i++] != ';')
            return -1;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t name = i;
        while (i < n && is_tchar((unsigned char)s[i]))
            i++;
        if (i == name)
            return -1;
        while (i < n && s[i] != ';') {
            if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
                return -1;
            i++;
        }
    }
    *out = v;
    return 0;
}

int gw_conn_body_avail(struct gw_conn *c, const char **p, size_t *n)
{
    *n = 0;
    if (c->body_error)
        return -1;
    size_t trailer_bytes = 0;
    for (;;) {
        size_t avail = c->rlen - c->roff;
        if (c->body_mode == GW_BODY_NONE)
            return 0;
        if (c->body_mode == GW_BODY_LENGTH || c->chunk_state == CH_DATA) {
            if (c->body_left == 0) {
                if (c->body_mode == GW_BODY_LENGTH) {
                    c->body_mode = GW_BODY_NONE;
                    return 0;
                }
                c->chunk_state = CH_DATA_END;
                continue;
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
        /* chunked framing lines */
        if (c->chunk_state == CH_DONE) {
            c->body_mode = GW_BODY_NONE;
            return 0;
        }
        ssize_t ll = find_line(c, c->chunk_state == CH_DATA_END ? 0 : CHUNK_LINE_MAX);
        if (ll == -1) {
            if (body_fill(c) < 0)
                return -1;
            continue;
        }
        if (ll < 0)
            goto bad;
        const char *s = c->rbuf + c->roff;
        if (c->chunk_state == CH_DATA_END) {
            c->chunk_state = CH_SIZE;
        } else if (c->chunk_state == CH_SIZE) {
            uint64_t size;
            if (parse_chunk_size(s, (size_t)ll, &size) < 0)
                goto bad;
            c->body_left = size;
            c->chunk_state = size ? CH_DATA : CH_TRAILER;
        } else { /* CH_TRAILER */
            if (ll == 0)
                c->chunk_state = CH_DONE;
            else {
                trailer_bytes += (size_t)ll;
                const char *colon = memchr(s, ':', (size_t)ll);
                if (!colon || colon == s || s[0] == ' ' || s[0] == '\t' ||
                    trailer_bytes > TRAILER_MAX || forbidden_trailer(s, (size_t)(colon - s)))
                    goto bad;
            }
        }
        c->roff += (size_t)ll + 2;
    }
bad:
    c->body_error = true;
    errno = EPROTO;
    return -1;
}

void gw_conn_body_consume(struct gw_conn *c, size_t n)
{
    c->roff += n;
    c->body_left -= n;
    c->body_read += n;
}

int gw_conn_body_drain(struct gw_conn *c, uint64_t limit)
{
    if (c->body_mode == GW_BODY_NONE)
        return c->body_error ? -1 : 0;
    if (!c->continue_sent)
        return -1; /* the client waits for our go before sending the body */
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
        ssize_t n = recv(c->fd, c->rbuf, c->rcap, 0);
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
