/* lb: the table of balancing policies.
 *
 * A policy chooses among the peers the upstream module offers it; it never
 * counts failures or decides health (upstream.c does, and tells the policy
 * which peers may be picked through lb_ctx.usable).  One file per policy
 * (lb_rr.c, lb_ip_hash.c, ...), each exporting one `const struct lb_ops`.
 * Tests drive policies only through this table.
 *
 * Weights follow nginx's round robin: `weight` is configured, `eff_weight`
 * (nginx's effective_weight) is lowered by upstream.c on a failure
 * (weight / max_fails) and on slow start, and raised by one per pick that
 * considers the peer (lb_wrr); `cur_weight` is the smooth round robin's
 * running counter, owned by whichever policy runs lb_wrr on the array. */
#ifndef PROXY_LB_H
#define PROXY_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "req.h"

/* The peers a policy sees: the primaries, or the backups of a group. */
struct lb_peer {
    int weight;       /* configured weight */
    int eff_weight;   /* weight now (failures, slow_start lower it); <= weight */
    int cur_weight;   /* smooth weighted round robin counter (lb_wrr) */
    int active;       /* connections open now (maintained by upstream.c) */
    const char *name; /* the `server` text as written ("10.0.0.1:80"): consistent hashing */
};

struct lb_ctx {
    const struct req *r;       /* the request; may be NULL (tests) */
    const struct addr *client; /* the client address ip_hash uses; NULL: none (unix) */
    const char *key;           /* keyed policies: the evaluated key (borrowed) */
    size_t key_len;
    /* May peer i be picked now (not down, not failed, below max_conns, not
     * tried by this request)? */
    bool (*usable)(void *ud, int peer);
    void *ud;
    uint32_t *rstate; /* LB_RSTATE words of per-request policy state,
                         zero before the request's first pick */
    double now;       /* monotonic seconds */
    /* Non-zero: nothing about the peers changes while it stays the same but
     * through this policy's picks and releases (lb_sets.h); 0: unknown. */
    uint64_t gen;
};

#define LB_RSTATE 4

enum lb_result { LB_OK, LB_FAIL, LB_DISCARD };

struct lb_ops {
    const char *name; /* directive: "round_robin", "ip_hash", "least_conn", "hash", ... */
    /* The first argument is a key template: upstream.c compiles it and
     * passes its value for each request in lb_ctx.key (hash KEY ...). */
    bool keyed;
    /* Builds the policy's state for `n` peers (borrowed; the array outlives
     * the state); `args` are the directive's arguments (borrowed; for a keyed
     * policy args[0] is the key).  NULL with a message in err on a bad
     * argument or when memory runs out. */
    void *(*create)(struct lb_peer *peers, int n, char **args, int nargs, char *err, size_t errlen);
    /* Returns the chosen peer index, or -1 when no usable peer is left. */
    int (*pick)(void *st, const struct lb_ctx *ctx);
    /* The try on `peer` ended; times in seconds (-1 unknown): until the
     * response head, until the last byte. */
    void (*release)(void *st, int peer, enum lb_result r, double header_secs, double secs,
                    double now);
    void (*destroy)(void *st);
};

/* Finds a policy by directive name; NULL if unknown. */
const struct lb_ops *lb_find(const char *name);
/* The names of every policy, NULL-terminated (for messages and benches). */
const char *const *lb_names(void);

/* Shared by policies: nginx's smooth weighted round robin over the usable
 * peers of `peers` (ngx_http_upstream_get_peer).  Returns the index or -1. */
int lb_wrr(struct lb_peer *peers, int n, const struct lb_ctx *ctx);
/* lb_wrr that also tells whether every usable peer was at its full weight
 * (the fast modes of lb_sets.h start from such picks). */
int lb_wrr_walk(struct lb_peer *peers, int n, const struct lb_ctx *ctx, bool *clean);

/* Running sums of the configured weights, for lb_weight_walk: malloc'ed
 * array of n (NULL when memory runs out). */
int64_t *lb_weight_sums(const struct lb_peer *peers, int n);
/* nginx's "while (w >= peer->weight) { w -= peer->weight; peer++; }" in
 * O(log n): the peer whose weight range holds w (0 <= w < total). */
int lb_weight_walk(const int64_t *sums, int n, uint64_t w);

/* Weighted draws in O(1) (Walker's alias method, exact in integers): peer i
 * with probability weight_i / total.  For random and peak_ewma. */
struct lb_alias {
    int n;
    int64_t total; /* sum of the weights */
    int64_t *keep; /* column i keeps i for coins below keep[i] (of total) */
    int *alias;    /* and gives alias[i] above */
};
/* 0, or -1 when memory runs out; the weights are read once. */
int lb_alias_init(struct lb_alias *a, const struct lb_peer *peers, int n);
void lb_alias_free(struct lb_alias *a);
int lb_alias_draw(const struct lb_alias *a, uint64_t *seed);

/* nginx's CRC32 (IEEE 802.3, as ngx_crc32_long / ngx_crc32_update). */
uint32_t lb_crc32_update(uint32_t crc, const void *p, size_t len);
#define LB_CRC32_INIT     0xffffffffu
#define lb_crc32_final(c) ((c) ^ 0xffffffffu)

/* A small fast pseudo-random generator (xorshift64*) for random choices. */
uint64_t lb_rand(uint64_t *state);
/* A seed for a policy's generator: from the clock and the pid, or the one
 * lb_fix_seed() set (tests: reproducible draws; 0 = back to the clock). */
uint64_t lb_seed(void);
void lb_fix_seed(uint64_t seed);

#endif
