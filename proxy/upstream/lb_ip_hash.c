/* lb_ip_hash: nginx's ip_hash (ngx_http_upstream_ip_hash_module.c).
 *
 * The key is the first three octets of an IPv4 client address, the whole 16
 * bytes of an IPv6 one, three zero bytes for anything else (unix sockets).
 * hash starts at 89 and takes hash = (hash * 113 + byte) % 6271 over the key
 * bytes; hash % total_weight walks the peers' configured weights.  A peer
 * that cannot be used makes the loop hash the key again from the last value;
 * after 20 such misses the request falls back to round robin.  A retry of
 * the same request continues from the hash of its previous pick, as nginx
 * keeps it in the request's peer data (lb_ctx.rstate). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "lb.h"

struct iph {
    struct lb_peer *peers;
    int n;
    int total;
    int64_t *sums;
};

static void *iph_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                        size_t errlen)
{
    (void)args;
    if (nargs > 0) {
        snprintf(err, errlen, "ip_hash takes no arguments");
        return NULL;
    }
    struct iph *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->peers = peers;
    st->n = n;
    for (int i = 0; i < n; i++)
        st->total += peers[i].weight;
    if (!(st->sums = lb_weight_sums(peers, n))) {
        snprintf(err, errlen, "out of memory");
        free(st);
        return NULL;
    }
    return st;
}

enum { RS_HASH, RS_TRIES, RS_STARTED };

static int iph_pick(void *v, const struct lb_ctx *ctx)
{
    struct iph *st = v;
    uint32_t *rs = ctx->rstate;
    if (!rs[RS_STARTED]) {
        rs[RS_STARTED] = 1;
        rs[RS_HASH] = 89;
        rs[RS_TRIES] = 0;
    }
    if (rs[RS_TRIES] > 20 || st->n < 2 || st->total <= 0)
        return lb_wrr(st->peers, st->n, ctx);

    static const unsigned char pseudo[3] = {0, 0, 0};
    const unsigned char *a = pseudo;
    size_t alen = 3;
    if (ctx->client) {
        const struct sockaddr *sa = (const struct sockaddr *)&ctx->client->ss;
        if (sa->sa_family == AF_INET) {
            a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr.s_addr;
        } else if (sa->sa_family == AF_INET6) {
            a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
            alen = 16;
        }
    }
    uint32_t hash = rs[RS_HASH];
    for (;;) {
        for (size_t i = 0; i < alen; i++)
            hash = (hash * 113 + a[i]) % 6271;
        int p = lb_weight_walk(st->sums, st->n, hash % (uint32_t)st->total);
        if (ctx->usable(ctx->ud, p)) {
            rs[RS_HASH] = hash;
            return p;
        }
        if (++rs[RS_TRIES] > 20) {
            rs[RS_HASH] = hash;
            return lb_wrr(st->peers, st->n, ctx);
        }
    }
}

static void iph_release(void *v, int peer, enum lb_result r, double hs, double s, double now)
{
    (void)v, (void)peer, (void)r, (void)hs, (void)s, (void)now;
}

static void iph_destroy(void *v)
{
    struct iph *st = v;
    if (st)
        free(st->sums);
    free(st);
}

const struct lb_ops lb_ip_hash_ops = {
    .name = "ip_hash",
    .create = iph_create,
    .pick = iph_pick,
    .release = iph_release,
    .destroy = iph_destroy,
};
