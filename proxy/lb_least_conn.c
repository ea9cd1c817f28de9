/* lb_least_conn: nginx's least_conn (ngx_http_upstream_least_conn_module.c).
 *
 * The usable peer with the fewest active connections relative to its weight
 * (a.conns * b.weight < b.conns * a.weight) wins; when several tie, smooth
 * weighted round robin runs among the tied peers, starting from the first. */
#include <stdio.h>
#include <stdlib.h>

#include "lb.h"

struct lc {
    struct lb_peer *peers;
    int n;
};

static void *lc_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                       size_t errlen)
{
    (void)args;
    if (nargs > 0) {
        snprintf(err, errlen, "least_conn takes no arguments");
        return NULL;
    }
    struct lc *st = calloc(1, sizeof(*st));
    if (!st) {
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
    struct lb_peer *pe = st->peers;
    int best = -1;
    bool many = false;
    for (int i = 0; i < st->n; i++) {
        if (!ctx->usable(ctx->ud, i))
            continue;
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
    return best;
}

static void lc_release(void *v, int peer, enum lb_result r, double hs, double s, double now)
{
    (void)v, (void)peer, (void)r, (void)hs, (void)s, (void)now;
}

static void lc_destroy(void *v)
{
    free(v);
}

const struct lb_ops lb_least_conn_ops = {
    .name = "least_conn",
    .create = lc_create,
    .pick = lc_pick,
    .release = lc_release,
    .destroy = lc_destroy,
};
