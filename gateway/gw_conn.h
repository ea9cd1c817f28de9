/* gw_conn: one client connection's bytes: the read buffer, the request body
 * (Content-Length, or chunked through the codec's decoder in common/http1.h,
 * streamed through the read buffer so a body of any size takes at most the
 * buffer's memory), and blocking sends.
 *
 * While the app runs, the worker is inside one request: body reads and
 * response writes wait on this one socket with poll() (bounded by
 * io_timeout_ms) instead of going back to the event loop.  The worker
 * (gw_worker.c) owns each conn; the WSGI modules (gw_wsgi.c, gw_environ.c,
 * gw_response.c, gw_input.c) borrow the current one. */
#ifndef GW_CONN_H
#define GW_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "addr.h"
#include "gw_opts.h"
#include "gw_req.h"
#include "http1.h"

/* Unread request body the worker reads and drops after a response so the
 * connection can carry the next request; more than this and it closes. */
#define GW_DRAIN_LIMIT (1 << 20)
/* The largest request body accepted when --limit-post sets none (1 TiB): a
 * longer declared length is refused with 413 before the app runs, not
 * waited for. */
#define GW_BODY_HARD_MAX ((uint64_t)1 << 40)

enum gw_body_mode {
    GW_BODY_NONE,    /* no body (or fully read) */
    GW_BODY_LENGTH,  /* body_left bytes */
    GW_BODY_CHUNKED, /* chunked coding, decoded here */
};

struct event;

struct gw_conn {
    int fd;
    enum gw_proto proto;
    struct event *ev;            /* read/idle event (owned, see gw_worker.c) */
    struct addr peer;            /* client address */
    const struct addr *local;    /* the listening address (borrowed from the worker) */
    struct gw_conn *prev, *next; /* the worker's list of open connections */

    char *rbuf;  /* read buffer (owned) */
    size_t roff; /* first unconsumed byte */
    size_t rlen; /* bytes in rbuf */
    size_t rcap; /* allocated */
    size_t rmax; /* largest rcap allowed */
    int io_timeout_ms;

    struct gw_req req; /* the current request */
    size_t head_len;   /* bytes of the current head (consumed when the body starts) */

    enum gw_body_mode body_mode;
    uint64_t body_left;      /* LENGTH: bytes left */
    struct http1_chunked ck; /* CHUNKED: the codec's decoder */
    bool body_error;         /* framing error or I/O failure while reading the body */
    bool continue_sent;      /* "100 Continue" was sent (or not needed) */
    uint64_t body_read;      /* decoded body bytes handed out */
    uint64_t body_max;       /* a chunked body longer than this is an error (set by the worker) */
    int body_status;         /* the status a body error calls for: 400 (framing), 413 (too large) */

    bool closing;          /* close after the current response */
    bool lingering;        /* the response is out, the write side shut: reading and dropping */
    int64_t linger_end_us; /* lingering: when to stop waiting (monotonic, gw_worker.c) */
    bool busy;             /* inside a request (dispatch in progress) */
    unsigned nreq;         /* requests served on this connection */
};

/* Initialises c around an accepted fd (takes it).  0, or -1 (nothing
 * allocated; the fd is not closed). */
int gw_conn_init(struct gw_conn *c, int fd, enum gw_proto proto, size_t rmax, int io_timeout_ms);
/* Closes the fd and frees the buffers (not the event). */
void gw_conn_close(struct gw_conn *c);

/* Reads what the socket has into rbuf (non-blocking; `timeout_ms` > 0 waits
 * that long for data first).  Returns bytes read (> 0), 0 at EOF, -1 on error
 * or timeout (errno EAGAIN when nothing came), -2 when the buffer is full. */
ssize_t gw_conn_fill(struct gw_conn *c, int timeout_ms);

/* Starts reading the request body after the head (consumes head_len bytes).
 * `length` for GW_BODY_LENGTH. */
void gw_conn_body_begin(struct gw_conn *c, enum gw_body_mode mode, uint64_t length);
/* Makes body bytes available: *p and *n (borrowed, valid until the next conn
 * call) with *n > 0, or *n == 0 at the end of the body.  Sends "100 Continue"
 * first when the client asked for it.  Returns 0, or -1 on a framing error,
 * I/O error or timeout (body_error is then set). */
int gw_conn_body_avail(struct gw_conn *c, const char **p, size_t *n);
/* Marks n bytes returned by gw_conn_body_avail() as read. */
void gw_conn_body_consume(struct gw_conn *c, size_t n);
/* Reads and discards the rest of the body, up to `limit` bytes (without
 * sending "100 Continue": a client still waiting for it sends nothing).
 * 0 when the body is done, -1 otherwise (the connection must then close). */
int gw_conn_body_drain(struct gw_conn *c, uint64_t limit);
/* True when gw_conn_body_drain(c, limit) would fail before reading a byte:
 * a body whose client waits for "100 Continue", a Content-Length body over
 * `limit`, or a broken body.  A response can say "Connection: close" then;
 * a chunked body's length is known only once read, so it may still fail. */
bool gw_conn_body_undrainable(const struct gw_conn *c, uint64_t limit);

/* True when the client may still be sending: the current request's body was
 * not read to its end, or bytes past the last request wait in the buffer.
 * Closing such a socket would make the kernel answer with a reset, which can
 * destroy the response still in flight (nginx's lingering close is the
 * remedy: gw_conn_linger_begin() then gw_conn_discard()). */
bool gw_conn_unread(const struct gw_conn *c);
/* Shuts the write side (the response is complete: the client sees its end)
 * and forgets what the buffer holds.  0, or -1 when the socket is gone. */
int gw_conn_linger_begin(struct gw_conn *c);
/* Reads and drops what the socket has, at most `max` bytes.  Returns the
 * bytes dropped (> 0), 0 at EOF, -1 on error or when nothing is there
 * (errno EAGAIN). */
ssize_t gw_conn_discard(struct gw_conn *c, size_t max);

/* Writes all of iov[0..n) (the array is modified), waiting with poll() when
 * the socket is full.  0, or -1 when the peer is gone or too slow. */
int gw_conn_writev(struct gw_conn *c, struct iovec *iov, int n);
int gw_conn_write(struct gw_conn *c, const void *p, size_t n);
/* Sends `count` bytes of file `fd` from offset `off` with sendfile(2).
 * Returns the bytes sent (short at EOF), or -1. */
ssize_t gw_conn_sendfile(struct gw_conn *c, int fd, off_t off, size_t count);

#endif
