/* lb_hash: `hash KEY`, `hash KEY consistent` and `hash KEY consistent
 * bounded=F` (ngx_http_upstream_hash_module.c for the first two).
 *
 * hash KEY: nginx's Cache::Memcached-compatible rehash loop.  Each round
 * adds ((crc32([REHASH] KEY) >> 16) & 0x7fff) to a running sum (REHASH, the
 * round number in decimal, is left out of the first round) and walks the
 * configured weights with sum % total_weight; an unusable peer starts the
 * next round; after 20 misses round robin takes over.  An empty key goes
 * to round robin.
 *
 * consistent: ketama points as nginx makes them (Cache::Memcached::Fast):
 * for each peer, weight * 160 points, point j being crc32(HOST "\0" PORT
 * PREV) where HOST and PORT split the `server` text at its last ':' (no
 * port: the whole text; "unix:" names: the path) and PREV is the previous
 * point's hash as 4 little-endian bytes (zero for the first).  Points are
 * sorted, equal hashes kept once.  A key goes to the first point >= its
 * crc32; peers written with the same `server` text share points and split
 * them by weighted round robin; an unusable server moves the key to the
 * next point (20 times at most, then round robin).
 *
 * bounded=F (F >= 1, e.g. 1.25): consistent hashing with bounded loads
 * (Mirrokni, Thorup, Zadimoghaddam 2016): walking the ring, a peer is taken
 * only while its active connections stay below ceil(F * (in-flight + 1) *
 * weight / total weight), so no peer carries more than F times its share.
 * A key keeps its peer whenever that peer is under its bound. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"

struct point {
    uint32_t hash;
    int server; /* index of the first peer with this `server` text */
};

struct hs {
    struct lb_peer *peers;
    int n;
    int total; /* total configured weight */
    bool consistent;
    double bound;     /* bounded=F, 0 when off */
    int inflight;     /* picks not released yet (bounded loads) */
    struct point *pt; /* consistent */
    int npt;
    int *server_of; /* peer -> index of the first peer with the same name */
    int *next_same; /* peer -> next peer with the same name, -1 at the end */
    int64_t *sums;  /* running sums of weights (hash KEY) */
};

static int cmp_point(const void *a, const void *b)
{
    uint32_t x = ((const struct point *)a)->hash, y = ((const struct point *)b)->hash;
    return x < y ? -1 : x > y;
}

static int build_points(struct hs *st)
{
    st->pt = malloc(sizeof(*st->pt) * (size_t)st->total * 160);
    st->server_of = malloc(sizeof(int) * (size_t)st->n);
    st->next_same = malloc(sizeof(int) * (size_t)st->n);
    if (!st->pt || !st->server_of || !st->next_same)
        return -1;
    int *last = malloc(sizeof(int) * (size_t)st->n); /* per first peer: the last one seen */
    if (!last)
        return -1;
    int np = 0;
    for (int i = 0; i < st->n; i++) {
        const char *s = st->peers[i].name ? st->peers[i].name : "";
        st->server_of[i] = i;
        st->next_same[i] = -1;
        /* peers of one `server` line are adjacent: look back only there */
        if (i > 0 && strcmp(st->peers[i - 1].name ? st->peers[i - 1].name : "", s) == 0) {
            st->server_of[i] = st->server_of[i - 1];
            st->next_same[last[st->server_of[i]]] = i;
        }
        last[st->server_of[i]] = i;
        size_t len = strlen(s);
        const char *host = s, *port = NULL;
        size_t hlen = len, plen = 0;
        if (len >= 5 && strncasecmp(s, "unix:", 5) == 0) {
            host = s + 5;
            hlen = len - 5;
        } else {
            for (size_t j = 0; j < len; j++)
                if (s[len - j - 1] == ':') {
                    hlen = len - j - 1;
                    port = s + len - j;
                    plen = j;
                    break;
                }
        }
        uint32_t base = LB_CRC32_INIT;
        base = lb_crc32_update(base, host, hlen);
        base = lb_crc32_update(base, "", 1);
        if (port)
            base = lb_crc32_update(base, port, plen);
        unsigned char prev[4] = {0, 0, 0, 0};
        int npoints = st->peers[i].weight * 160;
        for (int j = 0; j < npoints; j++) {
            uint32_t h = lb_crc32_final(lb_crc32_update(base, prev, 4));
            st->pt[np].hash = h;
            st->pt[np].server = st->server_of[i];
            np++;
            prev[0] = (unsigned char)(h & 0xff);
            prev[1] = (unsigned char)((h >> 8) & 0xff);
            prev[2] = (unsigned char)((h >> 16) & 0xff);
            prev[3] = (unsigned char)((h >> 24) & 0xff);
        }
    }
    free(last);
    qsort(st->pt, (size_t)np, sizeof(*st->pt), cmp_point);
    int i = 0;
    for (int j = 1; j < np; j++)
        if (st->pt[i].hash != st->pt[j].hash)
            st->pt[++i] = st->pt[j];
    st->npt = np ? i + 1 : 0;
    return 0;
}

static void hs_destroy(void *v)
{
    struct hs *st = v;
    if (!st)
        return;
    free(st->pt);
    free(st->server_of);
    free(st->next_same);
    free(st->sums);
    free(st);
}

static void *hs_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                       size_t errlen)
{
    struct hs *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->peers = peers;
    st->n = n;
    for (int i = 0; i < n; i++)
        st->total += peers[i].weight;
    if (nargs < 1) {
        snprintf(err, errlen, "hash needs a key");
        goto fail;
    }
    for (int i = 1; i < nargs; i++) {
        if (strcmp(args[i], "consistent") == 0) {
            st->consistent = true;
        } else if (strncmp(args[i], "bounded=", 8) == 0) {
            char *end;
            double f = strtod(args[i] + 8, &end);
            if (end == args[i] + 8 || *end || !(f >= 1.0) || !isfinite(f)) {
                snprintf(err, errlen, "invalid bounded factor \"%s\" (a number >= 1, e.g. 1.25)",
                         args[i] + 8);
                goto fail;
            }
            st->bound = f;
        } else {
            snprintf(err, errlen, "invalid parameter \"%s\"", args[i]);
            goto fail;
        }
    }
    if (st->bound > 0 && !st->consistent) {
        snprintf(err, errlen, "\"bounded=\" needs \"consistent\"");
        goto fail;
    }
    if (!(st->sums = lb_weight_sums(peers, n)) || (st->consistent && build_points(st) < 0)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return st;
fail:
    hs_destroy(st);
    return NULL;
}

enum { RS_HASH, RS_REHASH, RS_TRIES, RS_STARTED };

static int plain_pick(struct hs *st, const struct lb_ctx *ctx)
{
    uint32_t *rs = ctx->rstate;
    for (;;) {
        uint32_t h = LB_CRC32_INIT;
        if (rs[RS_REHASH] > 0) {
            char b[16];
            int bl = snprintf(b, sizeof(b), "%u", (unsigned)rs[RS_REHASH]);
            h = lb_crc32_update(h, b, (size_t)bl);
        }
        h = lb_crc32_final(lb_crc32_update(h, ctx->key, ctx->key_len));
        rs[RS_HASH] += (h >> 16) & 0x7fff;
        rs[RS_REHASH]++;
        int p = lb_weight_walk(st->sums, st->n, rs[RS_HASH] % (uint32_t)st->total);
        if (ctx->usable(ctx->ud, p))
            return p;
        if (++rs[RS_TRIES] > 20)
            return lb_wrr(st->peers, st->n, ctx);
    }
}

/* The first point with hash >= h (npt when none: wraps to 0). */
static uint32_t find_point(const struct hs *st, uint32_t h)
{
    int lo = 0, hi = st->npt;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (st->pt[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo;
}

static bool under_bound(const struct hs *st, int i)
{
    if (st->bound <= 0)
        return true;
    double cap = ceil(st->bound * (double)(st->inflight + 1) * st->peers[i].weight / st->total);
    return (double)st->peers[i].active < cap;
}

static int chash_pick(struct hs *st, const struct lb_ctx *ctx)
{
    uint32_t *rs = ctx->rstate;
    if (!rs[RS_STARTED]) {
        rs[RS_STARTED] = 1;
        uint32_t h = lb_crc32_final(lb_crc32_update(LB_CRC32_INIT, ctx->key, ctx->key_len));
        rs[RS_HASH] = find_point(st, h);
    }
    int limit = st->bound > 0 ? st->npt : 20;
    for (;;) {
        int server = st->pt[rs[RS_HASH] % (uint32_t)st->npt].server;
        int best = -1, total = 0;
        for (int i = server; i >= 0; i = st->next_same[i]) {
            if (!ctx->usable(ctx->ud, i) || !under_bound(st, i))
                continue;
            struct lb_peer *p = &st->peers[i];
            p->cur_weight += p->eff_weight;
            total += p->eff_weight;
            if (p->eff_weight < p->weight)
                p->eff_weight++;
            if (best < 0 || p->cur_weight > st->peers[best].cur_weight)
                best = i;
        }
        if (best >= 0) {
            st->peers[best].cur_weight -= total;
            return best;
        }
        rs[RS_HASH]++;
        if ((int)++rs[RS_TRIES] > limit)
            return lb_wrr(st->peers, st->n, ctx);
    }
}

static int hs_pick(void *v, const struct lb_ctx *ctx)
{
    struct hs *st = v;
    int p;
    if (ctx->rstate[RS_TRIES] > 20 && st->bound <= 0)
        p = lb_wrr(st->peers, st->n, ctx);
    else if (st->n < 2 || !ctx->key || ctx->key_len == 0 || st->total <= 0)
        p = lb_wrr(st->peers, st->n, ctx);
    else if (st->consistent)
        p = chash_pick(st, ctx);
    else
        p = plain_pick(st, ctx);
    if (p >= 0)
        st->inflight++;
    return p;
}

static void hs_release(void *v, int peer, enum lb_result r, double hs, double s, double now)
{
    (void)peer, (void)r, (void)hs, (void)s, (void)now;
    struct hs *st = v;
    if (st->inflight > 0)
        st->inflight--;
}

const struct lb_ops lb_hash_ops = {
    .name = "hash",
    .keyed = true,
    .create = hs_create,
    .pick = hs_pick,
    .release = hs_release,
    .destroy = hs_destroy,
};
