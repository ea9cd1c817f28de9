/* lbt: a small bench for driving balancing policies only through the lb_ops
 * table in unit tests: peers with weights, a usable() that honours down
 * flags, max_conns and the request's tried set, and requests that hold or
 * release their connection.
 * Checks that run thousands of times per test are `if (...) ck_abort_msg()`:
 * a passing ck_assert_*() sends its file and line to the runner (one write()
 * each in Check's fork mode), which made those tests take seconds. */
#ifndef TESTS_PROXY_LBT_H
#define TESTS_PROXY_LBT_H

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lb.h"

#define LBT_MAX 64

struct lbt {
    const struct lb_ops *ops;
    void *st;
    struct lb_peer p[LBT_MAX];
    char names[LBT_MAX][32];
    int n;
    bool down[LBT_MAX];
    int max_conns[LBT_MAX];
    bool tried[LBT_MAX];
    uint32_t rs[LB_RSTATE];
    const char *key;
    struct addr client;
    bool has_client;
    double now;
    /* lb_ctx.gen for a request's first pick (retries get 0), as upstream.c
     * passes it: a test that changes down, max_conns or weights behind the
     * policy's back moves it on (0: always unknown) */
    uint64_t gen;
    bool retry;
    long usable_calls;
};

static inline bool lbt_usable(void *ud, int i)
{
    struct lbt *t = ud;
    if (i < 0 || i >= t->n)
        ck_abort_msg("usable(%d) out of range", i);
    t->usable_calls++;
    if (t->down[i] || t->tried[i])
        return false;
    return !(t->max_conns[i] && t->p[i].active >= t->max_conns[i]);
}

/* Creates policy `name` over peers 127.0.0.1:8001... with weights w;
 * returns the create() error text or NULL on success. */
static inline const char *lbt_init_args(struct lbt *t, const char *name, const int *w, int n,
                                        char **args, int nargs)
{
    static char err[256];
    memset(t, 0, sizeof(*t));
    t->ops = lb_find(name);
    ck_assert_msg(t->ops != NULL, "policy %s", name);
    t->n = n;
    for (int i = 0; i < n; i++) {
        snprintf(t->names[i], sizeof(t->names[i]), "127.0.0.1:%d", 8001 + i);
        t->p[i].weight = t->p[i].eff_weight = w[i];
        t->p[i].name = t->names[i];
    }
    err[0] = 0;
    t->st = t->ops->create(t->p, n, args, nargs, err, sizeof(err));
    return t->st ? NULL : err;
}

static inline void lbt_init(struct lbt *t, const char *name, const int *w, int n, char **args,
                            int nargs)
{
    const char *e = lbt_init_args(t, name, w, n, args, nargs);
    ck_assert_msg(e == NULL, "create %s: %s", name, e ? e : "");
}

static inline void lbt_free(struct lbt *t)
{
    if (t->st)
        t->ops->destroy(t->st);
    t->st = NULL;
}

static inline void lbt_client(struct lbt *t, const char *ip)
{
    char err[128];
    char spec[80];
    snprintf(spec, sizeof(spec), strchr(ip, ':') ? "[%s]:1" : "%s:1", ip);
    if (addr_parse(spec, -1, &t->client, err, sizeof(err)) != 0)
        ck_abort_msg("client %s: %s", ip, err);
    t->has_client = true;
}

/* Starts a new request (fresh tried set and per-request state). */
static inline void lbt_new_request(struct lbt *t)
{
    memset(t->tried, 0, sizeof(t->tried));
    memset(t->rs, 0, sizeof(t->rs));
    t->retry = false;
}

/* One more pick for the current request; marks it tried and active. */
static inline int lbt_next(struct lbt *t)
{
    struct lb_ctx ctx = {
        .client = t->has_client ? &t->client : NULL,
        .key = t->key,
        .key_len = t->key ? strlen(t->key) : 0,
        .usable = lbt_usable,
        .ud = t,
        .rstate = t->rs,
        .now = t->now,
        .gen = t->retry ? 0 : t->gen,
    };
    int i = t->ops->pick(t->st, &ctx);
    t->retry = true;
    if (i >= 0) {
        if (i >= t->n)
            ck_abort_msg("pick %d of %d peers", i, t->n);
        t->tried[i] = true;
        if (++t->p[i].active == t->max_conns[i] && t->gen) /* as upstream.c */
            t->gen++;
    }
    return i;
}

/* Ends the try on peer i: `header_secs` until the response head,
 * `last_byte_secs` until its last byte (-1: unknown), as upstream.c does. */
static inline void lbt_release(struct lbt *t, int i, enum lb_result r, double header_secs,
                               double last_byte_secs)
{
    if (t->p[i].active <= 0)
        ck_abort_msg("release of peer %d, which holds nothing", i);
    if (t->p[i].active-- == t->max_conns[i] && t->gen)
        t->gen++;
    t->ops->release(t->st, i, r, header_secs, last_byte_secs, t->now);
}

/* A whole request: picks one peer and releases it at once (OK). */
static inline int lbt_pick(struct lbt *t)
{
    lbt_new_request(t);
    int i = lbt_next(t);
    if (i >= 0)
        lbt_release(t, i, LB_OK, -1, -1);
    return i;
}

/* Counts picks of `total` one-shot requests per peer. */
static inline void lbt_count(struct lbt *t, int total, long *counts)
{
    memset(counts, 0, sizeof(long) * (size_t)t->n);
    for (int k = 0; k < total; k++) {
        int i = lbt_pick(t);
        if (i < 0)
            ck_abort_msg("no peer at pick %d", k);
        counts[i]++;
    }
}

/* Asserts each peer's share of `total` is within 1% (absolute) of its
 * weight's share. */
static inline void lbt_assert_shares(struct lbt *t, const long *counts, int total)
{
    int w = 0;
    for (int i = 0; i < t->n; i++)
        w += t->p[i].weight;
    for (int i = 0; i < t->n; i++) {
        double want = (double)t->p[i].weight / w, got = (double)counts[i] / total;
        ck_assert_msg(got > want - 0.01 && got < want + 0.01, "peer %d: share %.4f, weight %.4f", i,
                      got, want);
    }
}

#endif
