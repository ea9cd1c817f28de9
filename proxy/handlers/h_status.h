/* h_status: the JSON document of every upstream and its peers, for
 * `location /status { status; }` (the engine answers it with
 * Content-Type: application/json).
 *
 * Shape (one worker's view; each worker balances on its own, as nginx
 * without a zone):
 *   {"pid": 123, "upstreams": {"NAME": {"method": "least_conn", "args": [],
 *     "peers": [{"server": "127.0.0.1:8001", "backup": false,
 *       "state": "up"|"down"|"unavailable"|"unhealthy", "weight": 1,
 *       "effective_weight": 1, "active": 0, "requests": 10, "failures": 0,
 *       "fails": 0, "response_time_avg": 0.004 (seconds, null if none),
 *       "health_checks": {"checks": 5, "fails": 0}}]}}} */
#ifndef PROXY_STATUS_H
#define PROXY_STATUS_H

#include "buf.h"
#include "config.h"

/* Appends the document (with a final newline) to out (borrowed).  Upstreams
 * without a runtime group (before up_init_all) show no peers.  0, or -1
 * when memory runs out. */
int status_render(const struct cf_main *cf, struct buf *out);

/* Registers the content handler "status" (init): answers with the
 * document above. */
int h_status_init(void);

#endif
