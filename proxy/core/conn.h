/* conn: one client connection: its socket and transport (a sock,
 * sock.h; TLS would sit there), reads and writes with
 * backpressure, its timeouts, the keep-alive and lingering-close states, and
 * the worker's list of open connections.
 *
 *   IDLE --first byte--> HEAD --head parsed, routed--> ACTIVE --response
 *   queued and request body read--> FLUSH --output drained--> IDLE/HEAD
 *   (keep-alive, pipelined bytes parsed at once) or LINGER --> closed.
 *
 * The connection knows no protocol: the session on top of it (h1.c) embeds
 * struct conn, decides the transitions (conn_set_state) and is told of what
 * happens through struct conn_proto.  No other module touches the
 * sock.
 *
 * Ownership: the connection owns its sock (which closes the socket)
 * and its timer; it frees itself (through proto->free, which frees the
 * container) when closed and no callback holds it, so after any call
 * documented "may close" the caller must not touch c again unless it holds
 * it (conn_hold/conn_release). */
#ifndef PROXY_CONN_H
#define PROXY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "config.h"

struct worker;
struct sock;
struct evbuffer;
struct event;

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
                       until EOF, lingering_timeout without a byte, or lingering_time
                       in all, then closed */
};

struct conn;

/* What the connection tells the session on top of it.  Every function
 * borrows c and runs with c held. */
struct conn_proto {
    /* The location whose settings (timeouts) apply now. */
    const struct cf_loc *(*loc)(const struct conn *c);
    /* IDLE: the first byte of a request came.  False when no request state
     * can be had (out of memory): the connection closes. */
    bool (*begin)(struct conn *c);
    /* HEAD: bytes arrived (or are waiting). */
    void (*head)(struct conn *c);
    /* ACTIVE: bytes arrived (request body). */
    void (*body)(struct conn *c);
    /* ACTIVE: the output drained below the low watermark. */
    void (*drain)(struct conn *c);
    /* FLUSH: the output is out. */
    void (*flushed)(struct conn *c);
    /* HEAD: client_header_timeout ran out with part of a head read. */
    void (*head_timeout)(struct conn *c);
    /* ACTIVE: client_body_timeout ran out. */
    void (*body_timeout)(struct conn *c);
    /* ACTIVE/FLUSH: the client shut its side.  True when the request was
     * whole (answer it, and what is buffered, then close); false: close. */
    bool (*peer_eof)(struct conn *c);
    /* The connection closes (before the socket goes). */
    void (*closing)(struct conn *c);
    /* IDLE and no callback on the stack: per-request state can go. */
    void (*idle)(struct conn *c);
    /* Frees the container of c (after the socket and timer went). */
    void (*free)(struct conn *c);
};

struct conn {
    const struct conn_proto *proto;
    struct worker *w;
    struct sock *sk; /* edge-triggered (SOCK_EDGE) */
    const struct cf_listen *ls;
    /* the client's and our address, kept compact (an idle connection holds
     * them for hours): inet only; for a unix listener the peer is unnamed
     * and local_len is 0, meaning the listener's own address */
    struct sockaddr_in6 peer_sa, local_sa;
    socklen_t peer_len, local_len;
    enum conn_state st;
    struct event *timer;            /* header, keep-alive and linger deadlines */
    struct conn *prev, *next;       /* the worker's list (conn.c only) */
    int rt_ms, wt_ms;               /* the sock's read/write timeouts now (0: none) */
    const struct cf_server *defsrv; /* the listener's default server: head limits, timeouts */
    int busy;                       /* callbacks running on the stack: freeing waits */
    bool head_timer;                /* HEAD: client_header_timeout is armed (conn_head_wait) */
    bool body_wait;                 /* ACTIVE: a request body is coming (client_body_timeout) */
    bool dead;                      /* closed; freed when busy drops to 0 */
    bool peer_eof;     /* the client shut its side: answer what is buffered, then close */
    bool file_out;     /* a file segment went into the output once: writes use
                          evbuffer_write() (sendfile) from then on */
    bool discarding;   /* ACTIVE/FLUSH: the response is complete, the rest of the
                          request body is read and dropped (conn_discard) */
    double linger_end; /* LINGER: timing_now() past which it closes */
};

/* Sets c (zeroed by the caller, the start of its container) up on the
 * accepted socket `fd` (non-blocking) from listener `ls` and links it into
 * w's list.  Takes fd.  0, or -1 (fd closed, error logged; c was not linked
 * and the caller frees its container). */
int conn_init(struct conn *c, const struct conn_proto *proto, struct worker *w,
              const struct cf_listen *ls, int fd, const struct sockaddr *sa, socklen_t salen);
/* Starts reading, in HEAD under client_header_timeout (once the session has
 * its state for the first request). */
void conn_start(struct conn *c);

/* The only place the state changes; each state arms its own deadline and
 * read interest (see enum conn_state). */
void conn_set_state(struct conn *c, enum conn_state st);
/* HEAD waits for more bytes: client_header_timeout runs from the first wait
 * on. */
void conn_head_wait(struct conn *c);
/* ACTIVE: the request body is over (or there is none: call before entering
 * ACTIVE): no read timeout any more. */
void conn_body_over(struct conn *c);
/* ACTIVE: the response is complete before the request body: its rest is
 * read and dropped by the session from now on (as nginx discards it), under
 * lingering_timeout between reads and lingering_time in all; the connection
 * closes when either runs out.  conn_body_over() ends it. */
void conn_discard(struct conn *c);
/* Is a deadline armed that bounds the state c is in?  IDLE, HEAD (once
 * waiting), LINGER and discarding: the connection's timer; ACTIVE reading a
 * body: client_body_timeout; output waiting: send_timeout.  ACTIVE with
 * nothing to read or write waits for its handler, whose own deadlines
 * (proxy_read_timeout, ...) bound it: false there. */
bool conn_timer_armed(const struct conn *c);
/* Enters FLUSH and writes what it can now.  True when the output is out
 * (the session finishes at once); false: proto->flushed comes later. */
bool conn_flush(struct conn *c);

struct evbuffer *conn_input(struct conn *c);
struct evbuffer *conn_output(struct conn *c);
/* Is the output over its high watermark (stop producing)? */
bool conn_output_full(const struct conn *c);
/* The output may hold file segments from now on. */
void conn_file_out(struct conn *c);

static inline void conn_hold(struct conn *c)
{
    c->busy++;
}
/* Frees a connection closed meanwhile and returns false then. */
bool conn_release(struct conn *c);
/* Closes (the socket goes when no callback holds c). */
void conn_close(struct conn *c);
/* Graceful stop: closes every IDLE connection of w. */
void conn_close_idle_all(struct worker *w);
/* Fast stop, or worker_shutdown_timeout: closes every connection of w. */
void conn_close_all(struct worker *w);

#endif
