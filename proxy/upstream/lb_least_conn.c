/* lb_least_conn: nginx's least_conn (ngx_http_upstream_least_conn_module.c).
 *
 * The usable peer with the fewest active connections relative to its weight
 * (a.conns * b.weight < b.conns * a.weight) wins; when several tie, smooth
 * weighted round robin runs among the tied peers, starting from the first.
 *
 * That is a walk of every peer per pick.  In a steady state (lb_sets.h) the
 * usable peers sit instead in classes keyed by connections per weight, the
 * least class first, with the tie round robin run lazily inside it:
 * O(log n) per pick and release, the same choices. */
#include <stdio.h>
#include <stdlib.h>

#include "lb.h"
#include "lb_sets.h"

struct lc {
    struct lb_peer *peers;
    int n;
    struct lbs *s;
};

/* a/b against c/d, b and d > 0 */
static int ratio_cmp(const struct lbs_key *x, const struct lbs_key *y)
{
    int64_t l = x->a * y->b, r = y->a * x->b;
    return l < r ? -1 : l > r;
}

static int64_t gcd(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The class of `active` connections on peer i, in lowest terms. */
static struct lbs_key key_of(const void *pol, int i, int active)
{
    const struct lc *st = pol;
    int64_t w = st->peers[i].weight, g = gcd(active, w);
    return (struct lbs_key){active / g, w / g, 0};
}

static void *lc_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                       size_t errlen)
{
    (void)args;
    if (nargs > 0) {
        snprintf(err, errlen, "least_conn takes no arguments");
        return NULL;
    }
    struct lc *st = calloc(1, sizeof(*st));
    if (!st || !(st->s = lbs_create(peers, n, LBS_MIN_KEYED, ratio_cmp, key_of, st))) {
        free(st);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->peers = peers;
    st->n = n;
    return st;
}

static int lc_pick(void *v, const struct lb_ctx *ctx)
{
    struct lc *st = v;
    if (lbs_on(st->s, ctx)) {
        int i = lbs_pick_min(st->s);
        /* its connection count grows by one after pick returns */
        if (i >= 0)
            lbs_rekey(st->s, i, st->peers[i].active + 1);
        return i;
    }
    struct lb_peer *pe = st->peers;
    int best = -1;
    bool many = false, clean = true;
    for (int i = 0; i < st->n; i++) {
        if (!ctx->usable(ctx->ud, i))
            continue;
        clean &= pe[i].eff_weight == pe[i].weight;
        if (best < 0 ||
            (int64_t)pe[i].active * pe[best].weight < (int64_t)pe[best].active * pe[i].weight) {
            best = i;
            many = false;
        } else if ((int64_t)pe[i].active * pe[best].weight ==
                   (int64_t)pe[best].active * pe[i].weight) {
            many = true;
        }
    }
    if (best < 0)
        return -1;
    if (many) {
        int total = 0;
        for (int i = best; i < st->n; i++) {
            if (!ctx->usable(ctx->ud, i))
                continue;
            if ((int64_t)pe[i].active * pe[best].weight != (int64_t)pe[best].active * pe[i].weight)
                continue;
            pe[i].cur_weight += pe[i].eff_weight;
            total += pe[i].eff_weight;
            if (pe[i].eff_weight < pe[i].weight)
                pe[i].eff_weight++;
            if (pe[i].cur_weight > pe[best].cur_weight)
                best = i;
        }
        pe[best].cur_weight -= total;
    }
    lbs_warm(st->s, ctx, clean, best);
    return best;
}

/* Called after the peer's count dropped. */
static void lc_release(void *v, int peer, enum lb_result r, double hs, double s, double now)
{
    (void)r, (void)hs, (void)s, (void)now;
    struct lc *st = v;
    lbs_rekey(st->s, peer, st->peers[peer].active);
}

static void lc_destroy(void *v)
{
    struct lc *st = v;
    if (st)
        lbs_destroy(st->s);
    free(st);
}

const struct lb_ops lb_least_conn_ops = {
    .name = "least_conn",
    .create = lc_create,
    .pick = lc_pick,
    .release = lc_release,
    .destroy = lc_destroy,
};
