/* lb: the policy table and the pieces several policies share. */
#include "lb.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern const struct lb_ops lb_rr_ops, lb_ip_hash_ops, lb_least_conn_ops, lb_hash_ops, lb_random_ops,
    lb_least_time_ops, lb_ewma_ops;

static const struct lb_ops *const table[] = {
    &lb_rr_ops,     &lb_ip_hash_ops,    &lb_least_conn_ops, &lb_hash_ops,
    &lb_random_ops, &lb_least_time_ops, &lb_ewma_ops,
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

const struct lb_ops *lb_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < NTABLE; i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}

const char *const *lb_names(void)
{
    static const char *names[NTABLE + 1];
    for (size_t i = 0; i < NTABLE; i++)
        names[i] = table[i]->name;
    names[NTABLE] = NULL;
    return names;
}

int lb_wrr_walk(struct lb_peer *peers, int n, const struct lb_ctx *ctx, bool *clean)
{
    int best = -1;
    int total = 0;
    bool full = true;
    for (int i = 0; i < n; i++) {
        if (!ctx->usable(ctx->ud, i))
            continue;
        struct lb_peer *p = &peers[i];
        p->cur_weight += p->eff_weight;
        total += p->eff_weight;
        if (p->eff_weight < p->weight) {
            p->eff_weight++;
            full = false;
        }
        if (best < 0 || p->cur_weight > peers[best].cur_weight)
            best = i;
    }
    if (best >= 0)
        peers[best].cur_weight -= total;
    *clean = full;
    return best;
}

int lb_wrr(struct lb_peer *peers, int n, const struct lb_ctx *ctx)
{
    bool clean;
    return lb_wrr_walk(peers, n, ctx, &clean);
}

int64_t *lb_weight_sums(const struct lb_peer *peers, int n)
{
    int64_t *s = malloc(sizeof(*s) * (size_t)(n ? n : 1));
    if (!s)
        return NULL;
    int64_t t = 0;
    for (int i = 0; i < n; i++) {
        t += peers[i].weight;
        s[i] = t;
    }
    return s;
}

int lb_weight_walk(const int64_t *sums, int n, uint64_t w)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if ((uint64_t)sums[mid] <= w)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int lb_alias_init(struct lb_alias *a, const struct lb_peer *peers, int n)
{
    memset(a, 0, sizeof(*a));
    size_t nn = (size_t)(n > 0 ? n : 1);
    int *small = malloc(nn * sizeof(int)), *large = malloc(nn * sizeof(int));
    a->keep = malloc(nn * sizeof(*a->keep));
    a->alias = malloc(nn * sizeof(*a->alias));
    if (!small || !large || !a->keep || !a->alias) {
        free(small);
        free(large);
        lb_alias_free(a);
        return -1;
    }
    a->n = n;
    for (int i = 0; i < n; i++)
        a->total += peers[i].weight;
    /* column i holds weight_i * n of n * total: fill every column to total */
    int ns = 0, nl = 0;
    for (int i = 0; i < n; i++) {
        a->keep[i] = (int64_t)peers[i].weight * n;
        a->alias[i] = i;
        if (a->keep[i] < a->total)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
        int s = small[--ns], l = large[nl - 1];
        a->alias[s] = l;
        a->keep[l] -= a->total - a->keep[s];
        if (a->keep[l] < a->total) {
            nl--;
            small[ns++] = l;
        }
    }
    while (nl > 0) /* what is left is full */
        a->keep[large[--nl]] = a->total;
    free(small);
    free(large);
    return 0;
}

void lb_alias_free(struct lb_alias *a)
{
    free(a->keep);
    free(a->alias);
    a->keep = NULL;
    a->alias = NULL;
}

int lb_alias_draw(const struct lb_alias *a, uint64_t *seed)
{
    int col = (int)(lb_rand(seed) % (uint64_t)a->n);
    uint64_t coin = lb_rand(seed) % (uint64_t)a->total;
    return (int64_t)coin < a->keep[col] ? col : a->alias[col];
}

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t lb_crc32_update(uint32_t crc, const void *p, size_t len)
{
    if (crc_table[1] == 0)
        crc_init();
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++)
        crc = crc_table[(crc ^ s[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

uint64_t lb_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t fixed_seed;

void lb_fix_seed(uint64_t seed)
{
    fixed_seed = seed;
}

uint64_t lb_seed(void)
{
    if (fixed_seed)
        return fixed_seed;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)getpid() << 16);
    return s ? s : 0x9e3779b97f4a7c15ull;
}
