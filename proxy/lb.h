/* lb: the table of balancing policies.
 *
 * A policy chooses among the peers the upstream module offers it; it never
 * counts failures or decides health (upstream.c does, and tells the policy
 * which peers may be picked through lb_ctx.usable).  One file per policy
 * (lb_rr.c, lb_ip_hash.c, ...), each exporting one `const struct lb_ops`.
 * Tests drive policies only through this table. */
#ifndef PROXY_LB_H
#define PROXY_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "req.h"

/* The peers a policy sees: the primaries, or the backups of a group. */
struct lb_peer {
    int weight;      /* configured weight */
    int eff_weight;  /* weight now (slow_start ramps it up); <= weight */
    int active;      /* connections open now (maintained by upstream.c) */
    const struct addr *addr;
    const char *name;
};

struct lb_ctx {
    const struct req *r;        /* the request (hash keys, client address); may be NULL in tests */
    const struct addr *client;  /* the client address ip_hash uses */
    /* May peer i be picked now (not down, not failed, below max_conns, not
     * tried by this request)? */
    bool (*usable)(void *ud, int peer);
    void *ud;
    int ntries;                 /* how many picks this request already made */
};

enum lb_result { LB_OK, LB_FAIL, LB_DISCARD };

struct lb_ops {
    const char *name; /* directive: "round_robin", "ip_hash", "least_conn", "hash", ... */
    /* Builds the policy's state for `n` peers; `args` are the directive's
     * arguments (borrowed).  NULL with a message in err on a bad argument. */
    void *(*create)(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                    size_t errlen);
    /* Returns the chosen peer index, or -1 when no usable peer is left. */
    int (*pick)(void *st, const struct lb_ctx *ctx);
    /* The try on `peer` ended; `secs` is the response time (-1 unknown). */
    void (*release)(void *st, int peer, enum lb_result r, double header_secs, double secs);
    void (*destroy)(void *st);
};

/* Finds a policy by directive name; NULL if unknown. */
const struct lb_ops *lb_find(const char *name);

#endif
