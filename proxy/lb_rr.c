/* lb_rr: nginx's default, smooth weighted round robin
 * (ngx_http_upstream_get_peer): every pick adds each usable peer's effective
 * weight to its counter, takes the largest counter and subtracts the total
 * from it.  Weights 5,1,1 give a a b a c a a from a fresh start. */
#include <stdio.h>
#include <stdlib.h>

#include "lb.h"

struct rr {
    struct lb_peer *peers;
    int n;
};

static void *rr_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                       size_t errlen)
{
    (void)args;
    if (nargs > 0) {
        snprintf(err, errlen, "round robin takes no arguments");
        return NULL;
    }
    struct rr *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->peers = peers;
    st->n = n;
    return st;
}

static int rr_pick(void *v, const struct lb_ctx *ctx)
{
    struct rr *st = v;
    return lb_wrr(st->peers, st->n, ctx);
}

static void rr_release(void *v, int peer, enum lb_result r, double hs, double s, double now)
{
    (void)v, (void)peer, (void)r, (void)hs, (void)s, (void)now;
}

static void rr_destroy(void *v)
{
    free(v);
}

const struct lb_ops lb_rr_ops = {
    .name = "round_robin",
    .create = rr_create,
    .pick = rr_pick,
    .release = rr_release,
    .destroy = rr_destroy,
};
