/* upstream: the runtime state of upstream groups in one worker: peers,
 * balancing through the lb policy table, failure accounting (max_fails /
 * fail_timeout), max_conns, backup servers, slow start, active health checks
 * and DNS re-resolution.
 *
 * The connection side (connecting, keep-alive pools, writing requests) is not
 * here: it asks this module which peer to try (up_pick) and tells it how the
 * try went (up_done).  Failure counting lives only here, never in a policy.
 *
 * nginx's rules, as ngx_http_upstream_round_robin.c has them: a peer that
 * failed max_fails times (each failure within fail_timeout of the previous
 * check) is skipped for fail_timeout, then offered again to one request; a
 * success after that clears its failures.  Each failure lowers the peer's
 * effective weight by weight/max_fails, each pick raises it back by one.  A
 * group of one server without backups is never marked failed.  Backups are
 * offered only when no primary is usable; a request that moved to the
 * backups stays there. */
#ifndef PROXY_UPSTREAM_H
#define PROXY_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "lb.h"
#include "req.h"

struct event_base;
struct up_group; /* runtime state of one cf_upstream (cf_upstream.rt) */

/* Checks every upstream's balancing directive (known method, valid
 * arguments, key variables) without creating anything: for `proxy -t` and
 * the master.  0, or -1 with "FILE:LINE: ..." in err. */
int up_check_all(const struct cf_main *cf, char *err, size_t errlen);

/* Creates the runtime group of every upstream in cf (cf_upstream.rt), starts
 * health checks and re-resolution timers on `base` (NULL: none, as in unit
 * tests).  0, or -1 with a message ("FILE:LINE: ..." where the config is at
 * fault) in err. */
int up_init_all(struct cf_main *cf, struct event_base *base, char *err, size_t errlen);
void up_free_all(struct cf_main *cf);

/* One request's attempts (what proxy_next_upstream needs).  The caller owns
 * it: up_try_init() before the first pick, up_try_free() after the last. */
struct up_try {
    int ntries;                 /* picks made so far */
    bool backup;                /* the request moved on to the backup servers */
    uint64_t small[2];          /* tried bitmap for up to 128 peers */
    uint64_t *tried;            /* points at small or at a heap bitmap */
    uint32_t rstate[LB_RSTATE]; /* the policy's per-request state */
};
void up_try_init(struct up_try *t, const struct up_group *g);
void up_try_free(struct up_try *t);

/* Picks the peer for the next try: a usable (not down, not failed within
 * fail_timeout, healthy, below max_conns) primary not tried yet, by the
 * group's policy; backups only when no primary is usable.  Counts the
 * connection as active.  Returns the peer index, or -1 when none is left
 * (the caller answers 502, or the last upstream response).  `r` may be NULL. */
int up_pick(struct up_group *g, const struct req *r, struct up_try *t);

enum up_result {
    UP_OK,      /* a response was received (any status not counted as failure) */
    UP_FAIL,    /* error, timeout, invalid header, or a proxy_next_upstream http_* status
                   retried (but http_403 and http_404 move on as UP_OK, as nginx's) */
    UP_DISCARD, /* the try was abandoned by us (client went away): neither */
};

struct up_timing { /* seconds, -1 when unknown */
    double connect;
    double header;   /* until the response head was read */
    double response; /* until the last byte */
};

/* Ends a try begun by up_pick(): releases the active connection, counts
 * failures and feeds timings to the policy (least_time, ewma).  `tm` may be
 * NULL. */
void up_done(struct up_group *g, int peer, enum up_result res, const struct up_timing *tm);

int up_npeers(const struct up_group *g);
const struct addr *up_peer_addr(const struct up_group *g, int peer);
/* "127.0.0.1:8001" / "unix:/path": what $upstream_addr shows. */
const char *up_peer_name(const struct up_group *g, int peer);
const struct cf_upstream *up_group_conf(const struct up_group *g);

/* What the status page shows of one peer. */
enum up_state { UP_ST_UP, UP_ST_DOWN, UP_ST_UNAVAILABLE, UP_ST_UNHEALTHY };
struct up_peer_info {
    const char *name;
    bool backup;
    enum up_state state;
    int weight, eff_weight;
    int active;
    int fails; /* failures counted now toward max_fails */
    uint64_t requests, failures;
    uint64_t hc_checks, hc_fails; /* health checks made / failed */
    double resp_avg;              /* mean response time in seconds, -1 when none */
};
void up_peer_info(const struct up_group *g, int peer, struct up_peer_info *out);
const char *up_state_name(enum up_state s);

/* For health.c: a check of `peer` passed or failed (`why`, may be NULL);
 * counts consecutive results against the group's fails=/passes= and flips
 * the peer's health, logging the change. */
void up_hc_result(struct up_group *g, int peer, bool ok, const char *why);
bool up_peer_is_down(const struct up_group *g, int peer); /* `down` or gone from DNS */
/* The Host a health check sends: the `server` name as written. */
const char *up_peer_host(const struct up_group *g, int peer);

/* Test seam: the monotonic clock in milliseconds that failure accounting and
 * slow start read; up_set_clock(NULL) restores the real one. */
void up_set_clock(int64_t (*now_ms)(void));

#endif
