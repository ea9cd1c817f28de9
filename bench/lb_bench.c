/* lb_bench: the cost of one pick (plus its release) of every balancing
 * policy with 2, 100 and 10,000 servers, in ns, through the lb_ops table
 * exactly as upstream.c drives it.  Every server is usable; keys and client
 * addresses vary over 4096 values; weights are 1..3.  A benchmark, not a
 * test:  build/bench/lb_bench [-w] [min_seconds_per_cell, default 0.2]
 * -w: lb_ctx.gen 0, so round_robin, least_conn and least_time walk every
 * peer per pick as nginx does (the state after a failure, a retry or
 * during slow start) instead of their fast modes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lb.h"

#define NKEYS 4096

static bool all_usable(void *ud, int i)
{
    (void)ud, (void)i;
    return true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct variant {
    const char *label;
    const char *policy;
    char *args[3];
    int nargs;
};

static const struct variant V[] = {
    {"round_robin", "round_robin", {NULL}, 0},
    {"ip_hash", "ip_hash", {NULL}, 0},
    {"least_conn", "least_conn", {NULL}, 0},
    {"hash", "hash", {"$request_uri"}, 1},
    {"hash consistent", "hash", {"$request_uri", "consistent"}, 2},
    {"hash consistent bounded=1.25", "hash", {"$request_uri", "consistent", "bounded=1.25"}, 3},
    {"random", "random", {NULL}, 0},
    {"random two least_conn", "random", {"two", "least_conn"}, 2},
    {"least_time header", "least_time", {"header"}, 1},
    {"peak_ewma", "peak_ewma", {NULL}, 0},
};

static bool walk;

static double cell(const struct variant *v, int n, double min_s, char keys[][24],
                   struct addr *clients)
{
    struct lb_peer *peers = calloc((size_t)n, sizeof(*peers));
    char(*names)[24] = calloc((size_t)n, 24);
    if (!peers || !names) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        snprintf(names[i], 24, "10.%d.%d.%d:80", i >> 16 & 255, i >> 8 & 255, i & 255);
        peers[i].weight = peers[i].eff_weight = 1 + i % 3;
        peers[i].name = names[i];
    }
    char err[256];
    const struct lb_ops *ops = lb_find(v->policy);
    void *st = ops->create(peers, n, (char **)v->args, v->nargs, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "%s: %s\n", v->label, err);
        exit(1);
    }
    uint32_t rs[LB_RSTATE];
    /* gen: nothing changes but through picks and releases, as upstream.c
     * tells a policy between failures (lb_sets.h); `-w` keeps it 0 */
    struct lb_ctx ctx = {.usable = all_usable, .rstate = rs, .now = 1000.0, .gen = walk ? 0 : 1};
    long picks = 0;
    double t0 = now_s(), t;
    long batch = 1000;
    do {
        for (long k = 0; k < batch; k++, picks++) {
            memset(rs, 0, sizeof(rs));
            ctx.key = keys[picks % NKEYS];
            ctx.key_len = strlen(ctx.key);
            ctx.client = &clients[picks % NKEYS];
            ctx.now += 0.0001;
            int p = ops->pick(st, &ctx);
            if (p < 0) {
                fprintf(stderr, "%s: no pick\n", v->label);
                exit(1);
            }
            peers[p].active++;
            peers[p].active--;
            ops->release(st, p, LB_OK, 0.001, 0.002, ctx.now);
        }
        t = now_s() - t0;
    } while (t < min_s);
    ops->destroy(st);
    free(peers);
    free(names);
    return t * 1e9 / (double)picks;
}

int main(int argc, char **argv)
{
    int a = 1;
    if (argc > 1 && strcmp(argv[1], "-w") == 0) {
        walk = true;
        a++;
    }
    double min_s = argc > a ? atof(argv[a]) : 0.2;
    if (!(min_s > 0))
        min_s = 0.2;
    static char keys[NKEYS][24];
    static struct addr clients[NKEYS];
    for (int i = 0; i < NKEYS; i++) {
        char spec[64], err[128];
        snprintf(keys[i], sizeof(keys[i]), "/item/%d?u=%d", i * 7919, i);
        snprintf(spec, sizeof(spec), "10.%d.%d.7:1", i >> 8 & 255, i & 255);
        if (addr_parse(spec, -1, &clients[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    int ns[] = {2, 100, 10000};
    printf("%-30s %12s %12s %12s\n", "policy (ns per pick+release)", "2", "100", "10000");
    for (size_t v = 0; v < sizeof(V) / sizeof(V[0]); v++) {
        printf("%-30s", V[v].label);
        for (int k = 0; k < 3; k++) {
            printf(" %12.1f", cell(&V[v], ns[k], min_s, keys, clients));
            fflush(stdout);
        }
        printf("\n");
    }
    return 0;
}
