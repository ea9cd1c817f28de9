/* health: active health checks of one upstream group's peers, on the
 * worker's event loop (open-source nginx has none; this follows nginx
 * plus's meaning).
 *
 * Syntax, inside `upstream NAME { }` (parsed by conf_upstream.c into cf_health_check):
 *     health_check [interval=T] [fails=N] [passes=N] [uri=PATH] [timeout=T];
 * Every `interval` (default 5s) each peer that is not `down` gets
 * "GET uri HTTP/1.0" (uri default "/", Host: the server's name) on a fresh
 * non-blocking connection; a 2xx or 3xx status line within `timeout`
 * (default 1s) passes, anything else (refused, reset, timeout, other
 * status) fails.  After `fails` consecutive failures (default 1) the peer
 * is unhealthy and gets no requests; after `passes` consecutive passes
 * (default 1) it is healthy again (and slow_start ramps it up).  Peers start
 * healthy.  State changes are logged at warn ("unhealthy") and notice
 * ("healthy").  Each worker checks on its own. */
#ifndef PROXY_HEALTH_H
#define PROXY_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct addr;
struct event_base;
struct hc;

/* What the checker asks of the peers' owner (upstream.c), so that it knows
 * nothing of groups: `ud` is the owner's, passed back to every call. */
struct hc_peers {
    void *ud;
    bool (*is_down)(void *ud, int peer);                          /* skip it this round */
    const struct addr *(*addr)(void *ud, int peer);               /* where to connect */
    const char *(*host)(void *ud, int peer);                      /* the Host header */
    void (*result)(void *ud, int peer, bool ok, const char *why); /* a verdict */
};

/* Starts checking peers 0 .. u->npeers-1 on `base` as u->hc says
 * (u->hc.enabled must be true), asking and telling `peers` (copied).
 * Returns the checker (owned by the caller; hc_free), or NULL with a
 * message in err. */
struct hc *hc_start(struct event_base *base, const struct hc_peers *peers,
                    const struct cf_upstream *u, char *err, size_t errlen);
void hc_free(struct hc *h);

#endif
