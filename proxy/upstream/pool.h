/* pool: connections to upstream peers, and the per-upstream cache of idle
 * keep-alive ones (upstream { keepalive N; keepalive_timeout; keepalive_requests; }).
 *
 * As in nginx, `keepalive N` bounds the idle connections one worker keeps
 * for an upstream (least recently used dropped first); an idle connection is
 * closed when the peer sends anything or closes, after keepalive_timeout, or
 * once it has served keepalive_requests requests.  TCP and unix sockets.
 * The pool is per process (one worker = one pool). */
#ifndef PROXY_POOL_H
#define PROXY_POOL_H

#include <stdbool.h>

#include "addr.h"
#include "config.h"

struct event_base;
struct sock;
struct pool_slot;

struct pconn {
    struct sock *sk; /* owned (level-triggered); closes the socket */
    const struct cf_upstream *up;
    int peer;
    unsigned nreq;             /* exchanges completed on it */
    bool reused;               /* taken from the idle cache */
    bool ready;                /* connected at once by pool_connect(): no handshake to wait for */
    struct pconn *next, *prev; /* the idle list of its slot */
    struct pool_slot *slot;    /* non-NULL while idle */
};

/* Takes an idle connection to `peer` of `up`, or NULL.  The caller owns it
 * and sets its sock callbacks (sock_setcb()). */
struct pconn *pool_take(const struct cf_upstream *up, int peer);
/* Connects to `a` (non-blocking).  Either connected at once (ready: a unix
 * socket, usually) or in progress (the sock reports
 * SOCK_CONNECTED or an error, sock_connect_wait()).  NULL, errno set, when it could not
 * even start (refused, a full listen queue, out of memory). */
struct pconn *pool_connect(struct event_base *base, const struct cf_upstream *up, int peer,
                           const struct addr *a);
/* Gives back a connection after a complete exchange: cached idle when the
 * upstream has keepalive and the limits allow, else freed.  Takes pc. */
void pool_put(struct pconn *pc);
/* Closes and frees (takes pc). */
void pool_free(struct pconn *pc);
/* Closes every idle connection (worker exit). */
void pool_free_all(void);

#endif
