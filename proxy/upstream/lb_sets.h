/* lb_sets: nginx's smooth weighted round robin without walking every peer.
 *
 * lb_wrr walks all n peers per pick, as nginx does.  While nothing about
 * the peers changes (upstream.c's lb_ctx.gen stays the same and every
 * usable peer runs at its full weight), the same choices can be made in
 * O(log n): the usable peers sit in classes ordered by a key (least_conn:
 * connections per weight; least_time: its score; round robin: one class),
 * and a smooth round robin runs inside the least class lazily.  Inside a
 * class every member's counter grows by its weight per step, so a member
 * keeps off = cur_weight - tau * weight, where tau counts the class's
 * steps; members of one weight are a heap by off (largest first, then the
 * lowest index, which is nginx's tie rule), and a step compares the tops
 * of the class's few weight heaps.  The picks and the counters are exactly
 * the ones lb_wrr (or nginx's least_conn tie walk) would give: lbs_clear
 * writes every counter back into the lb_peer array before an exact walk.
 *
 * The fast mode is a promise between upstream.c and the policy: while
 * ctx->gen is the same non-zero value, no peer's usability or effective
 * weight changes except through the policy's own pick (the chosen peer's
 * `active` grows by one after pick returns) and release (called after
 * `active` dropped by one).  A policy goes fast after LBS_WARMUP exact
 * picks under one gen that found every usable peer at its full weight. */
#ifndef PROXY_LB_SETS_H
#define PROXY_LB_SETS_H

#include <stdbool.h>
#include <stdint.h>

#include "lb.h"

#define LBS_WARMUP 8
/* least_conn and least_time move a peer between classes twice per request:
 * below this many peers their walk costs less (bench/lb_bench). */
#define LBS_MIN_KEYED 16
/* More distinct weights among the usable peers than this: stay exact. */
#define LBS_MAXW 16

/* A class key.  Keys that compare equal must have equal fields (a policy
 * keeps them canonical: least_conn reduces a/b), so they hash alike. */
struct lbs_key {
    int64_t a, b;
    double d;
};

typedef int (*lbs_cmp)(const struct lbs_key *x, const struct lbs_key *y);
/* The key of peer i of policy state `pol` with `active` connections. */
typedef struct lbs_key (*lbs_keyf)(const void *pol, int i, int active);

struct lbs;

/* State for the n peers of `peers` (borrowed) of policy state `pol`; the
 * fast mode only for n >= min_n (below, the walk is cheaper).  NULL when
 * memory runs out. */
struct lbs *lbs_create(struct lb_peer *peers, int n, int min_n, lbs_cmp cmp, lbs_keyf key,
                       const void *pol);
void lbs_destroy(struct lbs *s);

/* Is the fast mode on for this pick?  When it was on under another gen (or
 * ctx->gen is 0), writes the counters back, leaves it and returns false. */
bool lbs_on(struct lbs *s, const struct lb_ctx *ctx);
/* Reports an exact pick of `best` (-1: none): `clean` when every usable
 * peer was at its full weight.  After LBS_WARMUP clean picks under one gen
 * the fast mode starts: every usable peer, its cur_weight as it is now,
 * goes into the class of its key (`best` with one connection more, as
 * upstream.c counts it right after).  True when the fast mode is on;
 * false also when memory runs out or there are more than LBS_MAXW weights. */
bool lbs_warm(struct lbs *s, const struct lb_ctx *ctx, bool clean, int best);
/* Leaves the fast mode: every member's cur_weight is written back. */
void lbs_clear(struct lbs *s);

/* Fast mode only.  One smooth round robin step in the least class; returns
 * the peer, or -1 when no peer is in any class.  (least_conn skips the step
 * when one peer alone has the least load; for a lone member a step adds
 * its weight and takes the same total off, so the counters agree.) */
int lbs_pick_min(struct lbs *s);
/* Member i now has `active` connections (or its key changed otherwise):
 * it moves to its key's class, its counter kept.  No-op for a peer in no
 * class; when memory runs out the fast mode ends (lbs_clear). */
void lbs_rekey(struct lbs *s, int i, int active);
bool lbs_member(const struct lbs *s, int i);
/* Member i's smooth round robin counter now. */
int64_t lbs_cur(const struct lbs *s, int i);

#endif
