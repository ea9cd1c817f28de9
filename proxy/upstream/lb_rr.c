/* lb_rr: nginx's default, smooth weighted round robin
 * (ngx_http_upstream_get_peer): every pick adds each usable peer's effective
 * weight to its counter, takes the largest counter and subtracts the total
 * from it.  Weights 5,1,1 give a a b a c a a from a fresh start.
 *
 * Three ways to the same choice:
 *  - the walk (lb_wrr_walk), O(n), whenever anything changed (a failure,
 *    slow start, max_conns reached, a retry's tried peers);
 *  - lb_sets' lazy round robin, O(log n), once LBS_WARMUP walks under one
 *    generation found every usable peer at full weight;
 *  - a schedule, O(1): in that steady state the round robin repeats itself
 *    after W picks (W = the sum of the weights: every counter is back where
 *    it was).  The fast mode records W picks with a copy of the counters
 *    from before; if they came back, the recording is replayed.  Leaving
 *    the schedule at position pos writes back each counter as
 *    base + pos * weight - W * (picks of the peer in the first pos). */
#include <stdio.h>
#include <stdlib.h>

#include "lb.h"
#include "lb_sets.h"

#define SCHED_MAX (1 << 20) /* the longest schedule kept (4 MiB) */

struct rr {
    struct lb_peer *peers;
    int n;
    struct lbs *s;
    /* the schedule; rec < 0: no recording */
    int *seq, cap;
    int64_t W;
    int rec;        /* picks recorded */
    bool replay;    /* seq holds one whole period */
    int pos;        /* next pick of the period when replaying */
    int *mem, nmem; /* the members, and their counters at the start */
    int64_t *base;
    int *cnt; /* scratch: picks per peer */
};

/* One class: every key is the same. */
static int key_cmp(const struct lbs_key *x, const struct lbs_key *y)
{
    (void)x, (void)y;
    return 0;
}

static struct lbs_key key_of(const void *pol, int i, int active)
{
    (void)pol, (void)i, (void)active;
    return (struct lbs_key){0, 0, 0};
}

static void rr_destroy(void *v)
{
    struct rr *st = v;
    if (!st)
        return;
    lbs_destroy(st->s);
    free(st->seq);
    free(st->mem);
    free(st->base);
    free(st->cnt);
    free(st);
}

static void *rr_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                       size_t errlen)
{
    (void)args;
    if (nargs > 0) {
        snprintf(err, errlen, "round robin takes no arguments");
        return NULL;
    }
    struct rr *st = calloc(1, sizeof(*st));
    size_t nn = (size_t)(n > 0 ? n : 1);
    if (!st || !(st->s = lbs_create(peers, n, 1, key_cmp, key_of, NULL)) ||
        !(st->mem = calloc(nn, sizeof(int))) || !(st->base = calloc(nn, sizeof(int64_t))) ||
        !(st->cnt = calloc(nn, sizeof(int)))) {
        rr_destroy(st);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->peers = peers;
    st->n = n;
    st->rec = -1;
    return st;
}

/* Starts recording a period from the counters as they are now. */
static void record(struct rr *st)
{
    st->replay = false;
    st->rec = -1;
    st->nmem = 0;
    st->W = 0;
    for (int i = 0; i < st->n; i++)
        if (lbs_member(st->s, i)) {
            st->base[st->nmem] = lbs_cur(st->s, i);
            st->mem[st->nmem++] = i;
            st->W += st->peers[i].weight;
        }
    if (st->W == 0 || st->W > SCHED_MAX)
        return;
    if (st->cap < st->W) {
        int *a = realloc(st->seq, sizeof(*a) * (size_t)st->W);
        if (!a)
            return;
        st->seq = a;
        st->cap = (int)st->W;
    }
    st->rec = 0;
}

/* A recording is complete: a period if every counter came back. */
static void recorded(struct rr *st)
{
    for (int k = 0; k < st->nmem; k++)
        if (lbs_cur(st->s, st->mem[k]) != st->base[k]) {
            record(st);
            return;
        }
    st->replay = true;
    st->pos = 0;
}

/* Leaves the fast modes, every counter as the walk would have left it. */
static void leave(struct rr *st)
{
    lbs_clear(st->s);
    if (st->replay) {
        for (int k = 0; k < st->nmem; k++)
            st->cnt[st->mem[k]] = 0;
        for (int j = 0; j < st->pos; j++)
            st->cnt[st->seq[j]]++;
        for (int k = 0; k < st->nmem; k++) {
            int i = st->mem[k];
            st->peers[i].cur_weight =
                (int)(st->base[k] + st->pos * (int64_t)st->peers[i].weight - st->W * st->cnt[i]);
        }
    }
    st->replay = false;
    st->rec = -1;
}

static int rr_pick(void *v, const struct lb_ctx *ctx)
{
    struct rr *st = v;
    if (st->replay || st->rec >= 0) {
        if (lbs_on(st->s, ctx)) {
            if (st->replay) {
                int i = st->seq[st->pos];
                if (++st->pos == st->W)
                    st->pos = 0;
                return i;
            }
            int i = lbs_pick_min(st->s);
            st->seq[st->rec++] = i;
            if (st->rec == st->W)
                recorded(st);
            return i;
        }
        leave(st);
    } else if (lbs_on(st->s, ctx)) {
        return lbs_pick_min(st->s);
    }
    bool clean;
    int best = lb_wrr_walk(st->peers, st->n, ctx, &clean);
    if (lbs_warm(st->s, ctx, clean, best))
        record(st);
    return best;
}

static void rr_release(void *v, int peer, enum lb_result r, double hs, double s, double now)
{
    (void)v, (void)peer, (void)r, (void)hs, (void)s, (void)now;
}

const struct lb_ops lb_rr_ops = {
    .name = "round_robin",
    .create = rr_create,
    .pick = rr_pick,
    .release = rr_release,
    .destroy = rr_destroy,
};
