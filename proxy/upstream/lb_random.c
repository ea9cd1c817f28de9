/* lb_random: `random` and `random two [least_conn]` (nginx's
 * ngx_http_upstream_random_module.c without a zone).
 *
 * random: a peer drawn with probability weight / total weight (nginx
 * searches the running sums; an alias table does it in O(1)); an unusable
 * draw is retried, after 20 misses round robin takes over.  random two: two different peers drawn
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
    struct lb_alias al;
    uint64_t seed;
};

static void rnd_destroy(void *v)
{
    struct rnd *st = v;
    if (st)
        lb_alias_free(&st->al);
    free(st);
}

static void *rnd_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                        size_t errlen)
{
    struct rnd *st = calloc(1, sizeof(*st));
    if (!st || lb_alias_init(&st->al, peers, n) < 0) {
        snprintf(err, errlen, "out of memory");
        free(st);
        return NULL;
    }
    st->peers = peers;
    st->n = n;
    st->seed = lb_seed();
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

enum { RS_TRIES };

static int draw_usable(struct rnd *st, const struct lb_ctx *ctx, int skip)
{
    for (;;) {
        int p = lb_alias_draw(&st->al, &st->seed);
        if (p != skip && ctx->usable(ctx->ud, p))
            return p;
        if (++ctx->rstate[RS_TRIES] > 20)
            return -1;
    }
}

static int rnd_pick(void *v, const struct lb_ctx *ctx)
{
    struct rnd *st = v;
    if (st->n < 2 || st->al.total <= 0 || ctx->rstate[RS_TRIES] > 20)
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
