/* request: one client request as handlers, filters and phases see it, apart
 * from the connection it came on (HTTP/2 will carry many on one).
 *
 * A request reaches its session (the protocol that read it and writes its
 * response: h1.c today) only through struct sess_ops; a handler reaches the
 * request only through the functions below and never touches a connection.
 *
 * What it holds: the head (struct req: the variables' view, with `hp` the
 * parsed bytes its strings point into), the body stream (a sink the handler
 * attaches, with backpressure, a replay copy for retries, 100-continue), the
 * response (head being built, framing, done/fail), timing marks, the phase
 * cursor and one context slot for the content handler.
 *
 * Ownership: the session takes a request from request_get() when a request
 * begins and gives it back with request_put(); released ones wait in a small
 * per-process cache with their buffers and the handler's context, so a busy
 * connection allocates nothing per request.  Functions documented "may
 * close" can end the connection and with it the request: the caller must not
 * touch q afterwards unless it holds it (request_hold/request_release). */
#ifndef PROXY_REQUEST_H
#define PROXY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "phase.h"
#include "req.h"
#include "timing.h"

struct evbuffer;
struct event_base;
struct request;
struct session;
struct worker;
struct h_ops;
struct spool;

/* What a session does for its requests.  Every function borrows s and q. */
struct sess_ops {
    const char *name;
    /* Where the response's bytes go (after the filters). */
    struct evbuffer *(*output)(struct session *s);
    /* Is the output over its high watermark (stop producing)? */
    bool (*output_full)(struct session *s);
    /* The output may hold file segments from now on (sendfile). */
    void (*file_out)(struct session *s);
    /* Starts q->head (empty): the status line of q->r.status with this reason
     * (borrowed) and the fields every response has (Server, Date). */
    void (*head_begin)(struct session *s, struct request *q, const char *reason, size_t reason_len);
    /* Ends the head (framing, connection, q->head_more) and queues it. */
    void (*head_end)(struct session *s, struct request *q);
    /* q->resp_done was set: finish once it is out and the body read.  May
     * close. */
    void (*done)(struct session *s, struct request *q);
    /* Gives up: the client sees a cut response.  May close. */
    void (*close)(struct session *s);
    /* Moves request body bytes that arrived into q's sink.  False when the
     * connection was closed. */
    bool (*body_pump)(struct session *s, struct request *q);
    /* Sends "100 Continue" now, if nothing of the body came yet. */
    void (*send_continue)(struct session *s, struct request *q);
    /* The location is known: the session applies its settings (keep-alive,
     * body timeout). */
    void (*routed)(struct session *s, struct request *q);
    void (*hold)(struct session *s);
    /* False when the connection was closed meanwhile (and is freed now). */
    bool (*release)(struct session *s);
};

struct session {
    const struct sess_ops *ops;
    struct worker *w; /* the worker's shared state (wstate.h) */
};

struct request {
    struct req r;                   /* the variables' view */
    struct http_reqp hp;            /* the parsed head: r's strings point into it */
    struct timing tm;               /* Server-Timing marks */
    struct phase_cursor ph;         /* where the phase run is */
    struct session *sess;           /* the session it belongs to (borrowed) */
    const struct cf_listen *ls;     /* the listener it came on */
    const struct cf_server *defsrv; /* the listener's default server */

    /* request body (the session decodes, the request routes the bytes) */
    uint64_t body_read;    /* body bytes read so far (decoded) */
    bool body_done;        /* the whole body was read (or there is none) */
    bool want_continue;    /* Expect: 100-continue not answered yet */
    bool sink_chunked;     /* re-encode into chunks in the sink */
    bool sink_wait;        /* no sink right now: leave bytes in the input */
    bool tee_overflow;     /* the replay copy outgrew tee_max and was dropped */
    struct evbuffer *sink; /* where body bytes go (borrowed); NULL drops them */
    struct evbuffer *tee;  /* a copy of what went into the sink, or NULL (borrowed) */
    size_t tee_max;
    void (*on_body)(void *ud, bool done); /* told after each pump that moved bytes */
    void *body_ud;

    /* response */
    struct buf head;            /* the head being built (status line, handler's fields) */
    struct buf head_more;       /* fields header filters add (after the framing) */
    int64_t content_length;     /* request_head_end's: -1 unknown */
    bool has_body;              /* request_head_end's */
    bool head_sent;             /* the head is queued */
    bool chunked_out;           /* the body is chunked to the client (f_chunked) */
    bool resp_done;             /* the handler has queued everything */
    bool keepalive;             /* keep the connection after this response */
    bool lingering_close;       /* unread request bytes may remain: linger before closing */
    void (*on_drain)(void *ud); /* the client output drained below the low watermark */
    void *drain_ud;

    /* the body read whole before the handler goes on (request_body.c) */
    struct spool *spool; /* owned, kept with the cached request; NULL until needed */
    bool spooling;       /* body bytes go into the spool */
    bool spooled;        /* the whole body is in the spool */
    bool spool_failed;   /* a temp file write failed: the rest is dropped, 500 */
    void (*on_read)(struct request *q, void *ud); /* request_read_body's callback */
    void *read_ud;

    /* the content handler's per-request state, kept with the cached request */
    const struct h_ops *ctx_ops;
    void *ctx;

    struct addr client, local; /* r.client, r.local point here */
    struct request *next_free; /* the cache's list */
};

/* --- for modules, at init --------------------------------------------------- */

/* Registers the core's phase handler (content) and the filter chain's sink.
 * Called once before the configuration is read. */
void request_init(void);

/* --- for sessions ------------------------------------------------------------ */

/* A request state (cached or new; reset by request_reset), NULL when memory
 * runs out. */
struct request *request_get(void);
/* Takes q back (its request is over and nothing refers to it). */
void request_put(struct request *q);
/* Frees the cache (worker exit). */
void request_cache_free(void);
/* Empties q for the next request of session s (client and local addresses
 * borrowed, copied). */
void request_reset(struct request *q, struct session *s, const struct cf_listen *ls,
                   const struct cf_server *defsrv, const struct sockaddr *peer, socklen_t peer_len,
                   const struct sockaddr *local, socklen_t local_len);
/* A head was parsed into q: runs the phases (server, location, ..., content).
 * May close. */
void request_run(struct request *q);
/* A phase handler that returned PHASE_AGAIN has finished its work on q:
 * the phases go on after it (PHASE_NEXT to the end answers 404, as
 * request_run).  May close. */
void request_resume(struct request *q);
/* The response is over (or the client left): the log phase. */
void request_log(struct request *q);
/* The connection closes under a running handler: tells it to stop. */
void request_abort(struct request *q);
/* Body bytes for the sink: moves n bytes from the start of `in` (decoded
 * body) to the sink (copying them to the replay tee) or drops them. */
void request_body_push(struct request *q, struct evbuffer *in, size_t n);
/* Has the sink room for more (under its high watermark)? */
bool request_body_room(const struct request *q);
/* A chunked body ended: closes the re-encoded body in the sink. */
void request_body_end(struct request *q);
/* The location whose settings apply now: the routed one, else the default
 * server's. */
const struct cf_loc *request_loc(const struct request *q);
/* nginx's small page of `status` (an error or a redirect, signed with our
 * name) as the response, with Location when given (borrowed).  May close. */
void request_page(struct request *q, int status, const char *location);
/* "proxy" or "proxy/0.1", as server_tokens says. */
const char *request_server_name(const struct request *q);

/* --- for phase handlers ------------------------------------------------------ */

/* The location is chosen (q->r.loc set): $request_id, the routed mark, and
 * the session applies the location's settings. */
void request_routed(struct request *q);

/* --- for handlers -------------------------------------------------------- */

/* The handler's context slot: ctx kept by `ops` (its free/trim apply), or
 * NULL when another handler's (which is freed by request_set_ctx). */
void *request_ctx(const struct request *q, const struct h_ops *ops);
void request_set_ctx(struct request *q, const struct h_ops *ops, void *ctx);
struct event_base *request_base(const struct request *q);
const struct cf_main *request_conf(const struct request *q);
/* Holds q's session while a callback from elsewhere (an upstream socket)
 * runs; release returns false when the connection was closed meanwhile (q
 * is gone then). */
void request_hold(struct request *q);
bool request_release(struct request *q);

/* Response head: begin (reason NULL = the standard one), fields (borrowed),
 * end: framing (Content-Length when content_length >= 0, else chunked for
 * an HTTP/1.1 client when has_body, else the connection ends the body), then
 * the header filters (expires, add_header, Server-Timing). */
void request_head_begin(struct request *q, int status, const char *reason, size_t reason_len);
void request_head_add(struct request *q, const char *name, size_t nl, const char *value, size_t vl);
void request_head_end(struct request *q, int64_t content_length, bool has_body);
/* For header filters: a field after the framing ones. */
void request_filter_head_add(struct request *q, const char *name, size_t nl, const char *value,
                             size_t vl);
/* Body pieces through the filter chain: n bytes moved from `from` (all when
 * n < 0), bytes copied, or a file segment (takes fd).  0, or -1 when the
 * piece could not be queued (the caller closes). */
int request_body_out(struct request *q, struct evbuffer *from, int64_t n);
int request_body_add(struct request *q, const void *p, size_t n);
int request_body_file(struct request *q, int fd, int64_t off, int64_t len);
/* The whole response is queued.  May close. */
void request_done(struct request *q);
/* The handler cannot go on: an error page of `status` when no head went out
 * yet, else the connection closes.  May close. */
void request_fail(struct request *q, int status);
/* A complete small response (Content-Type ctype, or text/html; Location when
 * given); then the handler is done.  May close. */
void request_send_simple(struct request *q, int status, const char *ctype, const char *body,
                         size_t len, const char *location);
/* Gives up on the response: the client sees it cut.  May close. */
void request_close(struct request *q);
/* Closes the connection without answering (nginx's 444), the request
 * logged with `status`.  Closes. */
void request_close_unanswered(struct request *q, int status);
/* Is the client output over its high watermark? */
bool request_output_full(const struct request *q);
/* fn(ud) runs when the client output drained below its low watermark
 * (NULL: nobody waits). */
void request_on_drain(struct request *q, void (*fn)(void *ud), void *ud);
/* Is this a HEAD request? */
bool request_is_head(const struct request *q);

/* Request body stream.  attach: bytes go into `sink` (borrowed evbuffer;
 * NULL drops them), re-chunked when `chunked`; on_body(ud, done) after each
 * move.  Starts moving at once.  May close (a framing error answers 400). */
void request_body_attach(struct request *q, struct evbuffer *sink, bool chunked,
                         void (*on_body)(void *ud, bool done), void *ud);
/* Reads and drops the body (after "100 Continue" if the client waits for
 * it), as a handler that answers locally does.  False when the request is
 * over (closed, or answered because the body was bad). */
bool request_body_discard(struct request *q);
/* Keeps body bytes in the input until the next attach. */
void request_body_pause(struct request *q);
/* The rest of the body is not wanted (the response is complete): dropped. */
void request_body_drop(struct request *q);
/* Moves more body bytes into the sink (call when it drained).  False when
 * the connection was closed. */
bool request_body_pump(struct request *q);
/* Sends "100 Continue" if the client asked for it and no body came yet. */
void request_send_continue(struct request *q);
/* Keeps a copy of the body that goes into the sink in `tee` (borrowed),
 * while it is at most max bytes (for a retry); tee NULL: no copy can be
 * kept. */
void request_body_tee(struct request *q, struct evbuffer *tee, size_t max);
/* Was part of the body consumed that the copy no longer has? */
bool request_body_lost(const struct request *q);

/* Buffered request body (request_body.c), nginx's request buffering.
 *
 * read_body: reads the whole body before going on: client_body_buffer_size
 * bytes in memory, the rest in a temp file under client_body_temp_path
 * (client_body_in_file_only as nginx), "100 Continue" first if the client
 * waits for it.  client_body_timeout and client_max_body_size apply.  Then
 * a chunked body has a length (q->r.content_length, q->r.chunked false),
 * $request_body / $request_body_file are set, and done(q, ud) runs (at
 * once when there is no body).  When reading fails the request is answered
 * (400, 408, 413, or 500 when the temp file cannot be written) and done is
 * never called.  May close. */
void request_read_body(struct request *q, void (*done)(struct request *q, void *ud), void *ud);
/* The body read_body kept (borrowed; its cursor is the handler's to use),
 * or NULL when there is none. */
struct spool *request_body_spool(struct request *q);
/* For the session and the request: bytes while spooling; the end of a
 * request's body state (free_it: the request itself goes). */
void request_spool_push(struct request *q, struct evbuffer *in, size_t n);
void request_body_spool_end(struct request *q, bool free_it);

#endif
