/* lb_random: `random` and `random two [least_conn]` (nginx's
 * ngx_http_upstream_random_module.c without a zone).
 *
 * random: a peer drawn with probability weight / total weight (a binary
 * search over the running sums); an unusable draw is retried, after 20
 * misses round robin takes over.  random two: two different peers drawn
 * that way, the one with fewer active connections relative to its weight
 * wins (least_conn is the only method nginx has for it, and the default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"

struct rnd {
    struct lb_peer *peers;
    int n;
    bool two;
    int64_t *cum; /* running sums of weights */
    int64_t total;
    uint64_t seed;
};

static void rnd_destroy(void *v)
{
    struct rnd *st = v;
    if (st)
        free(st->cum);
    free(st);
}

static void *rnd_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                        size_t errlen)
{
    struct rnd *st = calloc(1, sizeof(*st));
    if (!st || !(st->cum = calloc((size_t)(n ? n : 1), sizeof(int64_t)))) {
        snprintf(err, errlen, "out of memory");
        rnd_destroy(st);
        return NULL;
    }
    st->peers = peers;
    st->n = n;
    st->seed = lb_seed();
    for (int i = 0; i < n; i++) {
        st->total += peers[i].weight;
        st->cum[i] = st->total;
    }
    if (nargs >= 1) {
        if (strcmp(args[0], "two") != 0) {
            snprintf(err, errlen, "invalid parameter \"%s\"", args[0]);
            goto fail;
        }
        st->two = true;
        if (nargs >= 2 && strcmp(args[1], "least_conn") != 0) {
            snprintf(err, errlen, "invalid parameter \"%s\"", args[1]);
            goto fail;
        }
        if (nargs > 2) {
            snprintf(err, errlen, "invalid parameter \"%s\"", args[2]);
            goto fail;
        }
    }
    return st;
fail:
    rnd_destroy(st);
    return NULL;
}

static int draw(struct rnd *st)
{
    int64_t x = (int64_t)(lb_rand(&st->seed) % (uint64_t)st->total);
    int lo = 0, hi = st->n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (st->cum[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

enum { RS_TRIES };

static int draw_usable(struct rnd *st, const struct lb_ctx *ctx, int not )
{
    for (;;) {
        int p = draw(st);
        if (p != not &&ctx->usable(ctx->ud, p))
            return p;
        if (++ctx->rstate[RS_TRIES] > 20)
            return -1;
    }
}

static int rnd_pick(void *v, const struct lb_ctx *ctx)
{
    struct rnd *st = v;
    if (st->n < 2 || st->total <= 0 || ctx->rstate[RS_TRIES] > 20)
        return lb_wrr(st->peers, st->n, ctx);
    int a = draw_usable(st, ctx, -1);
    if (a < 0)
        return lb_wrr(st->peers, st->n, ctx);
    if (!st->two)
        return a;
    int b = draw_usable(st, ctx, a);
    if (b < 0)
        return a;
    const struct lb_peer *pa = &st->peers[a], *pb = &st->peers[b];
    return (int64_t)pb->active * pa->weight < (int64_t)pa->active * pb->weight ? b : a;
}

static void rnd_release(void *v, int peer, enum lb_result r, double hs, double s, double now)
{
    (void)v, (void)peer, (void)r, (void)hs, (void)s, (void)now;
}

const struct lb_ops lb_random_ops = {
    .name = "random",
    .create = rnd_create,
    .pick = rnd_pick,
    .release = rnd_release,
    .destroy = rnd_destroy,
};
