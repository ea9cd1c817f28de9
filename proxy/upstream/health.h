/* health: active health checks of one upstream group's peers, on the
 * worker's event loop (open-source nginx has none; this follows nginx
 * plus's meaning).
 *
 * Syntax, inside `upstream NAME { }` (parsed by conf.c into cf_health_check):
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

#include "config.h"

struct event_base;
struct up_group;
struct hc;

/* Starts checking every peer of `g` on `base` as u->hc says (u->hc.enabled
 * must be true).  Returns the checker (owned by the caller; hc_free), or
 * NULL with a message in err. */
struct hc *hc_start(struct event_base *base, struct up_group *g, const struct cf_upstream *u,
                    char *err, size_t errlen);
void hc_free(struct hc *h);

#endif
