/* conn: one client connection and its state machine.
 *
 *   IDLE --first byte--> HEAD --head parsed, routed--> ACTIVE --response
 *   queued and request body read--> FLUSH --output drained--> IDLE/HEAD
 *   (keep-alive, pipelined bytes parsed at once) or LINGER --> closed.
 *
 * A handler (static.c, proxy_http.c, the return/status code here) produces
 * the response of an ACTIVE request through the conn_head_* / conn_body_*
 * calls below and says when it is done; it never closes the connection
 * itself.  The request body is read by the connection and pushed into the
 * sink the handler attaches (an upstream's output), or dropped.
 *
 * Ownership: the connection owns its bufferevent (which closes the socket)
 * and, while a request is on, its struct creq (c->q: the req, the parser's
 * buffers, the response head, the handler state c->q->px), which goes back
 * to conn.c's cache when the connection is idle or closed; it frees itself
 * when closed, so after any call documented "may close" the caller must not
 * touch c again unless told it is alive. */
#ifndef PROXY_CONN_H
#define PROXY_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "config.h"
#include "http.h"
#include "req.h"
#include "timing.h"

struct worker;
struct bufferevent;
struct evbuffer;
struct event;
struct proxy;

enum conn_state {
    CONN_ST_IDLE,   /* keep-alive, no byte of the next request yet (keepalive_timeout);
                       leaves to HEAD or closes */
    CONN_ST_HEAD,   /* reading a request head (client_header_timeout -> 408);
                       leaves to ACTIVE, or FLUSH with an error response */
    CONN_ST_ACTIVE, /* a handler owns the request: body read into its sink
                       (client_body_timeout), response produced (send_timeout);
                       leaves to FLUSH when both are over */
    CONN_ST_FLUSH,  /* everything queued; waiting for the output to drain; leaves to
                       IDLE/HEAD (keep-alive) or LINGER */
    CONN_ST_LINGER, /* write side shut after the last response; reading and dropping
                       until EOF or a short timeout, then closed */
};

enum conn_body_kind { CONN_BODY_NONE, CONN_BODY_LENGTH, CONN_BODY_CHUNKED };

/* One request's state.  A connection has one from the first byte of a
 * request until it is idle again; idle keep-alive connections have none
 * (c->q == NULL), so 10,000 of them cost only struct conn and a bufferevent.
 * Released ones wait in a small per-process cache with their buffers, so a
 * busy connection allocates nothing per request. */
struct creq {
    struct req r;
    struct http_reqp hp;
    struct timing tm;

    /* request body */
    enum conn_body_kind body_kind;
    int64_t body_left;      /* CONN_BODY_LENGTH: bytes still to read */
    struct http_chunked ck; /* CONN_BODY_CHUNKED */
    uint64_t body_read;     /* body bytes read so far (decoded) */
    bool body_done;
    struct evbuffer *sink; /* where body bytes go; NULL drops them */
    bool sink_chunked;     /* re-encode into chunks in the sink */
    bool sink_wait;        /* the handler has no sink right now: leave bytes in the input */
    struct evbuffer *tee;  /* a copy of what went into the sink (for retries), or NULL */
    size_t tee_max;        /* past this the copy is dropped and tee_overflow set */
    bool tee_overflow;
    bool want_continue;                   /* Expect: 100-continue not answered yet */
    void (*on_body)(void *ud, bool done); /* told after each pump that moved bytes */
    void *body_ud;

    /* response */
    struct buf head; /* the response head being built (conn_head_*) */
    int status;
    bool head_sent;             /* the response head is queued */
    bool chunked_out;           /* the response body is being chunked to the client */
    bool resp_done;             /* the handler has queued everything */
    bool keepalive;             /* keep the connection after this response */
    bool lingering_close;       /* unread request bytes may remain: linger before closing */
    void (*on_drain)(void *ud); /* client output drained below the low watermark */
    void *drain_ud;

    struct addr client, local; /* r.client, r.local point here (from the conn's) */
    struct proxy *px;          /* proxy_http.c's state, kept with the creq */
    struct creq *next_free;    /* the cache's list */
};

struct conn {
    struct worker *w;
    struct bufferevent *bev;
    const struct cf_listen *ls;
    /* the client's and our address, kept compact (an idle connection holds
     * them for hours): inet only; for a unix listener the peer is unnamed
     * and local_len is 0, meaning the listener's own address */
    struct sockaddr_in6 peer_sa, local_sa;
    socklen_t peer_len, local_len;
    enum conn_state st;
    struct event *timer;      /* header, keep-alive and linger deadlines */
    struct conn *prev, *next; /* the worker's list */
    struct creq *q;           /* the current request; NULL while IDLE (owned) */
    unsigned nreq;            /* requests begun on this connection */
    int rt_ms, wt_ms;         /* the bufferevent's read/write timeouts now (0: none) */
    bool head_timer; /* HEAD: client_header_timeout is armed (st_head arms it when it waits) */

    const struct cf_server *defsrv; /* the listener's default server: head limits, timeouts */
    int busy;                       /* callbacks running on the stack: freeing waits */
    bool dead;                      /* closed; freed when busy drops to 0 */
    bool peer_eof; /* the client shut its side: answer what is buffered, then close */
    bool file_out; /* a file segment went into the output once (static.c): bevio_write_now
                      writes with evbuffer_write() (sendfile) from then on */
};

/* Takes the accepted socket `fd` (non-blocking) from listener `ls`.  On
 * failure the fd is closed and the error logged. */
void conn_accept(struct worker *w, const struct cf_listen *ls, int fd, const struct sockaddr *sa,
                 socklen_t salen);
/* Closes the connection if it is IDLE (graceful stop).  May close. */
void conn_close_if_idle(struct conn *c);
/* Closes at once (fast stop). */
void conn_close(struct conn *c);
/* Frees the cache of released request states (worker exit). */
void conn_cache_free(void);

/* Callbacks from other objects (an upstream's bufferevent) that may end up
 * closing the connection hold it while they run: conn_release() frees a
 * connection closed meanwhile and returns false then. */
static inline void conn_hold(struct conn *c)
{
    c->busy++;
}
bool conn_release(struct conn *c);

/* --- for handlers, while ACTIVE ------------------------------------------ */

struct evbuffer *conn_output(struct conn *c);
/* Starts the response head: status line (reason NULL = the standard one),
 * Server, Date. */
void conn_head_begin(struct conn *c, int status, const char *reason, size_t reason_len);
/* One header line (borrows name and value). */
void conn_head_add(struct conn *c, const char *name, size_t nl, const char *value, size_t vl);
/* Does `expires` in loc write Expires and Cache-Control for this status
 * (replacing the upstream's)? */
bool conn_sets_expires(const struct cf_loc *loc, int status);
/* Ends the head: framing (Content-Length when content_length >= 0, else
 * chunked for HTTP/1.1 clients when has_body, else the connection closes
 * after the body), Connection, expires, add_header, Server-Timing.  After it the body
 * goes through conn_body_out(). */
void conn_head_end(struct conn *c, int64_t content_length, bool has_body);
/* Moves n bytes of response body from `from` (or all when n < 0) to the
 * client, chunk-encoding them when needed. */
void conn_body_out(struct conn *c, struct evbuffer *from, int64_t n);
/* Adds body bytes (copied). */
void conn_body_add(struct conn *c, const void *p, size_t n);
/* The handler has queued the whole response.  May close. */
void conn_response_done(struct conn *c);
/* The handler cannot go on: answers `status` with an error page when no head
 * went out yet, else closes the connection.  May close. */
void conn_fail(struct conn *c, int status);
/* Sends a complete small response with this body (Content-Type given or
 * text/html).  Then the handler is done.  May close. */
void conn_send_simple(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                      const char *location);
/* Is the client output over the high watermark (stop feeding it)? */
bool conn_output_full(struct conn *c);

/* Request body: attaches the sink (borrowed evbuffer, NULL = drop) and
 * starts moving what has arrived.  `on_body` is called after bytes moved
 * (done = the whole body was read).  May close (a framing error: 400). */
void conn_body_attach(struct conn *c, struct evbuffer *sink, bool chunked,
                      void (*on_body)(void *ud, bool done), void *ud);
/* Keeps body bytes in the client input until the next attach (an upstream
 * try failed and another may follow). */
void conn_body_pause(struct conn *c);
/* Moves more body bytes into the sink (call when the sink drained).  Returns
 * false when the connection was closed. */
bool conn_body_pump(struct conn *c);
/* Sends "100 Continue" if the client asked for it and no body came yet. */
void conn_send_continue(struct conn *c);

const char *conn_status_text(int status);

#endif
