/* upstream: runtime groups, failure accounting, tiers (see upstream.h). */
#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "vars.h"

struct up_peer {
    const struct cf_peer *cf;
    struct addr addr; /* may change with DNS re-resolution */
    char name[ADDR_STRLEN];
    int tier; /* 0 primary, 1 backup */
    int ti;   /* index in its tier's lb_peer array */
    int fails;
    int64_t checked, accessed; /* ms, as nginx's rr peer fields */
    int64_t ss_start;          /* slow start began (ms); 0 when not ramping */
    bool unhealthy;            /* active health check verdict */
    bool gone;                 /* no address any more after re-resolution */
    uint64_t requests, failures, nresp, hc_checks, hc_fails;
    double resp_sum;
};

struct up_tier {
    int n;
    int *idx; /* group peer index of each tier peer */
    struct lb_peer *lp;
    void *st;
};

struct up_group {
    struct cf_upstream *cf;
    const struct lb_ops *ops;
    struct tmpl *key; /* keyed policies */
    struct up_peer *p;
    int n;
    bool single; /* one primary, no backups: never marked failed */
    int nslow;   /* peers ramping up (slow start) */
    struct up_tier tier[2];
};

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t (*now_ms)(void) = real_now_ms;

void up_set_clock(int64_t (*f)(void))
{
    now_ms = f ? f : real_now_ms;
}

/* --- building ------------------------------------------------------------ */

static const struct lb_ops *group_ops(const struct cf_upstream *u, char *err, size_t errlen)
{
    const char *name = u->lb_name ? u->lb_name : "round_robin";
    const struct lb_ops *ops = lb_find(name);
    if (!ops) {
        snprintf(err, errlen, "%s:%d: unknown balancing method \"%s\" in upstream \"%s\"",
                 u->lb_where.file ? u->lb_where.file : "?", u->lb_where.line, name, u->name);
        return NULL;
    }
    if (ops->keyed && u->nlb_args < 1) {
        snprintf(err, errlen, "%s:%d: \"%s\" needs a key in upstream \"%s\"",
                 u->lb_where.file ? u->lb_where.file : "?", u->lb_where.line, name, u->name);
        return NULL;
    }
    return ops;
}

static void tier_free(struct up_group *g, struct up_tier *t)
{
    if (t->st)
        g->ops->destroy(t->st);
    free(t->idx);
    free(t->lp);
    memset(t, 0, sizeof(*t));
}

static void group_free(struct up_group *g)
{
    if (!g)
        return;
    tier_free(g, &g->tier[0]);
    tier_free(g, &g->tier[1]);
    if (g->key)
        tmpl_free(g->key);
    free(g->p);
    free(g);
}

static struct up_group *group_new(struct cf_upstream *u, char *err, size_t errlen)
{
    const struct lb_ops *ops = group_ops(u, err, errlen);
    if (!ops)
        return NULL;
    struct up_group *g = calloc(1, sizeof(*g));
    if (!g || !(g->p = calloc((size_t)(u->npeers ? u->npeers : 1), sizeof(*g->p)))) {
        free(g);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->cf = u;
    g->ops = ops;
    g->n = u->npeers;
    const char *where = u->lb_where.file ? u->lb_where.file : "?";
    if (ops->keyed) {
        char e[256];
        g->key = tmpl_compile(u->lb_args[0], e, sizeof(e));
        if (!g->key) {
            snprintf(err, errlen, "%s:%d: %s", where, u->lb_where.line, e);
            goto fail;
        }
    }
    for (int i = 0; i < g->n; i++) {
        struct up_peer *p = &g->p[i];
        p->cf = &u->peers[i];
        p->addr = u->peers[i].addr;
        p->tier = u->peers[i].backup ? 1 : 0;
        addr_format(&p->addr, p->name, sizeof(p->name));
        g->tier[p->tier].n++;
    }
    if (g->tier[0].n == 0) {
        snprintf(err, errlen, "%s:%d: no servers in upstream \"%s\"",
                 u->where.file ? u->where.file : "?", u->where.line, u->name);
        goto fail;
    }
    g->single = g->tier[0].n == 1 && g->tier[1].n == 0;
    for (int k = 0; k < 2; k++) {
        struct up_tier *t = &g->tier[k];
        if (t->n == 0)
            continue;
        t->idx = calloc((size_t)t->n, sizeof(*t->idx));
        t->lp = calloc((size_t)t->n, sizeof(*t->lp));
        if (!t->idx || !t->lp) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        int j = 0;
        for (int i = 0; i < g->n; i++) {
            if (g->p[i].tier != k)
                continue;
            g->p[i].ti = j;
            t->idx[j] = i;
            t->lp[j].weight = u->peers[i].weight > 0 ? u->peers[i].weight : 1;
            t->lp[j].eff_weight = t->lp[j].weight;
            t->lp[j].name = u->peers[i].name;
            j++;
        }
        char e[256];
        e[0] = 0;
        t->st = ops->create(t->lp, t->n, u->lb_args, u->nlb_args, e, sizeof(e));
        if (!t->st) {
            snprintf(err, errlen, "%s:%d: %s in upstream \"%s\"", where, u->lb_where.line, e,
                     u->name);
            goto fail;
        }
    }
    return g;
fail:
    group_free(g);
    return NULL;
}

int up_check_all(const struct cf_main *cf, char *err, size_t errlen)
{
    for (int i = 0; i < cf->nupstreams; i++) {
        struct up_group *g = group_new(cf->upstreams[i], err, errlen);
        if (!g)
            return -1;
        group_free(g);
    }
    return 0;
}

int up_init_all(struct cf_main *cf, struct event_base *base, char *err, size_t errlen)
{
    (void)base;
    for (int i = 0; i < cf->nupstreams; i++) {
        struct up_group *g = group_new(cf->upstreams[i], err, errlen);
        if (!g) {
            up_free_all(cf);
            return -1;
        }
        cf->upstreams[i]->rt = g;
    }
    return 0;
}

void up_free_all(struct cf_main *cf)
{
    for (int i = 0; i < cf->nupstreams; i++) {
        group_free(cf->upstreams[i]->rt);
        cf->upstreams[i]->rt = NULL;
    }
}

/* --- one request's tries -------------------------------------------------- */

void up_try_init(struct up_try *t, const struct up_group *g)
{
    memset(t, 0, sizeof(*t));
    t->tried = t->small;
    if (g && g->n > 128) {
        t->tried = calloc((size_t)(g->n + 63) / 64, sizeof(uint64_t));
        if (!t->tried) /* fall back: the small map only covers 128 peers */
            t->tried = t->small;
    }
}

void up_try_free(struct up_try *t)
{
    if (t->tried && t->tried != t->small)
        free(t->tried);
    t->tried = t->small;
}

static bool tried(const struct up_try *t, int i)
{
    if (t->tried == t->small && i >= 128)
        return false;
    return (t->tried[i / 64] >> (i % 64)) & 1;
}

static void set_tried(struct up_try *t, int i)
{
    if (t->tried == t->small && i >= 128)
        return;
    t->tried[i / 64] |= (uint64_t)1 << (i % 64);
}

struct pick_ud {
    struct up_group *g;
    struct up_tier *tier;
    struct up_try *t;
    int64_t now;
};

static bool peer_failed(const struct up_peer *p, int64_t now)
{
    int mf = p->cf->max_fails;
    return mf > 0 && p->fails >= mf && now - p->checked <= p->cf->fail_timeout_ms;
}

static bool usable(void *v, int ti)
{
    struct pick_ud *u = v;
    int i = u->tier->idx[ti];
    const struct up_peer *p = &u->g->p[i];
    if (tried(u->t, i) || p->cf->down || p->unhealthy || p->gone)
        return false;
    if (peer_failed(p, u->now))
        return false;
    if (p->cf->max_conns > 0 && u->tier->lp[ti].active >= p->cf->max_conns)
        return false;
    return true;
}

/* slow_start: the effective weight grows linearly from 1 to the weight over
 * slow_start after a peer comes back (see up_done and the health checks). */
static void apply_slow_start(struct up_group *g, int64_t now)
{
    for (int i = 0; i < g->n; i++) {
        struct up_peer *p = &g->p[i];
        if (!p->ss_start)
            continue;
        struct lb_peer *lp = &g->tier[p->tier].lp[p->ti];
        int64_t el = now - p->ss_start;
        if (el >= p->cf->slow_start_ms) {
            p->ss_start = 0;
            g->nslow--;
            continue;
        }
        int cap = (int)((int64_t)lp->weight * el / p->cf->slow_start_ms);
        if (cap < 1)
            cap = 1;
        if (lp->eff_weight > cap)
            lp->eff_weight = cap;
    }
}

static void start_slow(struct up_group *g, struct up_peer *p, int64_t now)
{
    if (p->cf->slow_start_ms <= 0 || g->single)
        return;
    if (!p->ss_start)
        g->nslow++;
    p->ss_start = now ? now : 1;
    g->tier[p->tier].lp[p->ti].eff_weight = 1;
}

static int pick_tier(struct up_group *g, int k, const struct req *r, struct up_try *t,
                     const char *key, size_t keylen, int64_t now)
{
    struct up_tier *tier = &g->tier[k];
    if (tier->n == 0)
        return -1;
    struct pick_ud u = {g, tier, t, now};
    struct lb_ctx ctx = {
        .r = r,
        .client = r ? r->client : NULL,
        .key = key,
        .key_len = keylen,
        .usable = usable,
        .ud = &u,
        .rstate = t->rstate,
        .now = (double)now / 1000.0,
    };
    if (ctx.client && addr_is_unix(ctx.client))
        ctx.client = NULL;
    int ti = g->ops->pick(tier->st, &ctx);
    return ti < 0 ? -1 : tier->idx[ti];
}

int up_pick(struct up_group *g, const struct req *r, struct up_try *t)
{
    if (!g || g->n == 0)
        return -1;
    int64_t now = now_ms();
    int i = -1;
    if (g->single) {
        struct up_peer *p = &g->p[0];
        struct lb_peer *lp = &g->tier[0].lp[0];
        if (tried(t, 0) || p->cf->down || p->unhealthy || p->gone ||
            (p->cf->max_conns > 0 && lp->active >= p->cf->max_conns))
            return -1;
        i = 0;
    } else {
        if (g->nslow)
            apply_slow_start(g, now);
        struct buf kb = BUF_INIT;
        const char *key = NULL;
        size_t keylen = 0;
        if (g->key && r) {
            if (tmpl_eval(g->key, r, &kb, CF_ESC_NONE) == 0) {
                key = kb.data;
                keylen = kb.len;
            }
        }
        if (!t->backup) {
            i = pick_tier(g, 0, r, t, key, keylen, now);
            if (i < 0 && g->tier[1].n > 0) {
                t->backup = true;
                memset(t->rstate, 0, sizeof(t->rstate));
            }
        }
        if (i < 0 && t->backup)
            i = pick_tier(g, 1, r, t, key, keylen, now);
        buf_free(&kb);
        if (i < 0)
            return -1;
    }
    struct up_peer *p = &g->p[i];
    set_tried(t, i);
    t->ntries++;
    g->tier[p->tier].lp[p->ti].active++;
    p->requests++;
    if (now - p->checked > p->cf->fail_timeout_ms)
        p->checked = now;
    return i;
}

void up_done(struct up_group *g, int peer, enum up_result res, const struct up_timing *tm)
{
    if (!g || peer < 0 || peer >= g->n)
        return;
    struct up_peer *p = &g->p[peer];
    struct up_tier *tier = &g->tier[p->tier];
    struct lb_peer *lp = &tier->lp[p->ti];
    int64_t now = now_ms();
    if (lp->active > 0)
        lp->active--;
    double hs = tm ? tm->header : -1, rs = tm ? tm->response : -1;
    if (res == UP_OK && rs >= 0) {
        p->resp_sum += rs;
        p->nresp++;
    }
    if (res == UP_FAIL)
        p->failures++;
    g->ops->release(tier->st, p->ti,
                    res == UP_OK     ? LB_OK
                    : res == UP_FAIL ? LB_FAIL
                                     : LB_DISCARD,
                    hs, rs, (double)now / 1000.0);
    if (g->single || res == UP_DISCARD)
        return;
    int mf = p->cf->max_fails;
    if (res == UP_FAIL) {
        p->fails++;
        p->accessed = now;
        p->checked = now;
        if (mf > 0) {
            lp->eff_weight -= lp->weight / mf;
            if (p->fails == mf)
                log_warn("upstream server temporarily disabled: %s in upstream \"%s\"", p->name,
                         g->cf->name);
        }
        if (lp->eff_weight < 0)
            lp->eff_weight = 0;
    } else if (p->accessed < p->checked) {
        if (mf > 0 && p->fails >= mf)
            start_slow(g, p, now);
        p->fails = 0;
    }
}

/* --- accessors ------------------------------------------------------------- */

int up_npeers(const struct up_group *g)
{
    return g ? g->n : 0;
}

const struct addr *up_peer_addr(const struct up_group *g, int peer)
{
    return &g->p[peer].addr;
}

const char *up_peer_name(const struct up_group *g, int peer)
{
    return g->p[peer].name;
}

const struct cf_upstream *up_group_conf(const struct up_group *g)
{
    return g->cf;
}

const char *up_state_name(enum up_state s)
{
    switch (s) {
    case UP_ST_UP:
        return "up";
    case UP_ST_DOWN:
        return "down";
    case UP_ST_UNAVAILABLE:
        return "unavailable";
    case UP_ST_UNHEALTHY:
        return "unhealthy";
    }
    return "?";
}

void up_peer_info(const struct up_group *g, int peer, struct up_peer_info *o)
{
    const struct up_peer *p = &g->p[peer];
    const struct lb_peer *lp = &g->tier[p->tier].lp[p->ti];
    memset(o, 0, sizeof(*o));
    o->name = p->name;
    o->backup = p->tier == 1;
    o->state = p->cf->down || p->gone                   ? UP_ST_DOWN
               : p->unhealthy                           ? UP_ST_UNHEALTHY
               : !g->single && peer_failed(p, now_ms()) ? UP_ST_UNAVAILABLE
                                                        : UP_ST_UP;
    o->weight = lp->weight;
    o->eff_weight = lp->eff_weight;
    o->active = lp->active;
    o->fails = p->fails;
    o->requests = p->requests;
    o->failures = p->failures;
    o->hc_checks = p->hc_checks;
    o->hc_fails = p->hc_fails;
    o->resp_avg = p->nresp ? p->resp_sum / (double)p->nresp : -1;
}
