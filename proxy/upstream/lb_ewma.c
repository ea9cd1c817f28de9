/* lb_ewma: `peak_ewma [decay=T]`: peak-EWMA latency with power of two
 * choices (as Finagle and Linkerd do it; HAProxy users ask for it).
 *
 * Each peer keeps a latency estimate that jumps up to any slower sample at
 * once (peak) and otherwise decays towards new samples with time constant
 * decay (default 10s): w = exp(-dt / decay); est = est * w + sample * (1 -
 * w).  A pick draws two different usable peers (weighted random) and takes
 * the one with the lower est * (active + 1) / weight; an unmeasured peer
 * has est 0, so it is tried.  Failures count as a sample of decay seconds
 * (a failing peer looks slow, not fast).  Samples are the time until the
 * response head. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"

struct ew_peer {
    double est;
    double stamp; /* when est was last updated */
};

struct ew {
    struct lb_peer *peers;
    int n;
    double decay;
    struct ew_peer *p;
    struct lb_alias al; /* the draws of the two choices */
    uint64_t seed;
};

static void ew_destroy(void *v)
{
    struct ew *st = v;
    if (st) {
        free(st->p);
        lb_alias_free(&st->al);
    }
    free(st);
}

static void *ew_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                       size_t errlen)
{
    struct ew *st = calloc(1, sizeof(*st));
    if (!st || !(st->p = calloc((size_t)(n ? n : 1), sizeof(*st->p))) ||
        lb_alias_init(&st->al, peers, n) < 0) {
        snprintf(err, errlen, "out of memory");
        ew_destroy(st);
        return NULL;
    }
    st->peers = peers;
    st->n = n;
    st->decay = 10.0;
    st->seed = lb_seed();
    for (int i = 0; i < nargs; i++) {
        char *end;
        double d;
        if (strncmp(args[i], "decay=", 6) == 0 && (d = strtod(args[i] + 6, &end)) > 0 &&
            end != args[i] + 6 && isfinite(d)) {
            if (strcmp(end, "ms") == 0)
                d /= 1000;
            else if (*end && strcmp(end, "s") != 0)
                goto bad;
            st->decay = d;
            continue;
        }
    bad:
        snprintf(err, errlen, "invalid parameter \"%s\"", args[i]);
        ew_destroy(st);
        return NULL;
    }
    return st;
}

static double cost(const struct ew *st, int i, double now)
{
    const struct ew_peer *p = &st->p[i];
    double est = p->est;
    if (est > 0 && now > p->stamp)
        est *= exp(-(now - p->stamp) / st->decay); /* idle peers look better with time */
    return est * (st->peers[i].active + 1) / st->peers[i].weight;
}

static int ew_pick(void *v, const struct lb_ctx *ctx)
{
    struct ew *st = v;
    if (st->n < 2 || st->al.total <= 0)
        return lb_wrr(st->peers, st->n, ctx);
    int a = -1, b = -1;
    for (int k = 0; k < 20 && a < 0; k++) {
        int p = lb_alias_draw(&st->al, &st->seed);
        if (ctx->usable(ctx->ud, p))
            a = p;
    }
    if (a < 0)
        return lb_wrr(st->peers, st->n, ctx);
    for (int k = 0; k < 20 && b < 0; k++) {
        int p = lb_alias_draw(&st->al, &st->seed);
        if (p != a && ctx->usable(ctx->ud, p))
            b = p;
    }
    if (b < 0)
        return a;
    return cost(st, b, ctx->now) < cost(st, a, ctx->now) ? b : a;
}

static void ew_release(void *v, int peer, enum lb_result r, double hs, double s, double now)
{
    struct ew *st = v;
    if (peer < 0 || peer >= st->n || r == LB_DISCARD)
        return;
    double t = r == LB_FAIL ? st->decay : hs >= 0 ? hs : s;
    if (t < 0)
        return;
    struct ew_peer *p = &st->p[peer];
    if (t > p->est) {
        p->est = t;
    } else {
        double dt = now - p->stamp;
        double w = dt > 0 ? exp(-dt / st->decay) : 1.0;
        p->est = p->est * w + t * (1 - w);
    }
    p->stamp = now;
}

const struct lb_ops lb_ewma_ops = {
    .name = "peak_ewma",
    .create = ew_create,
    .pick = ew_pick,
    .release = ew_release,
    .destroy = ew_destroy,
};
