/* upstream: runtime groups, failure accounting, tiers (see upstream.h). */
#include "upstream.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "health.h"
#include "log.h"
#include "timing.h"
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
    int hc_run;                /* consecutive health check results of one kind */
    bool hc_last_ok;
    uint64_t requests, failures, nresp, hc_checks, hc_fails;
    double resp_sum;
};

struct up_tier {
    int n;
    int *idx; /* group peer index of each tier peer */
    struct lb_peer *lp;
    void *st;
    /* lb_ctx.gen: moves on whenever a peer's usability or effective weight
     * may change by other means than the policy's own picks and releases
     * (see lb_sets.h) */
    uint64_t gen;
    int nfailed; /* peers at max_fails: they come back by time alone */
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
    struct hc *hc;           /* active health checks, NULL when off */
    struct event *dns_timer; /* re-resolution of `server NAME resolve` */
    struct dns_q *dq;        /* one per resolved name */
    int ndq;
};

struct dns_q {
    struct up_group *g;
    int first, count; /* the peers made from this name, in order */
    char host[256];
    int port;
    bool pending;
    struct evdns_getaddrinfo_request *req;
};

static void changed(struct up_group *g, const struct up_peer *p)
{
    g->tier[p->tier].gen++;
}

/* Every change of p->fails goes here: the tier counts its failed peers. */
static void set_fails(struct up_group *g, struct up_peer *p, int fails)
{
    int mf = p->cf->max_fails;
    if (mf > 0 && (p->fails >= mf) != (fails >= mf))
        g->tier[p->tier].nfailed += fails >= mf ? 1 : -1;
    if (p->fails != fails) {
        p->fails = fails;
        changed(g, p);
    }
}

/* One worker's resolver for `resolve` servers (NULL when none is needed). */
static struct evdns_base *dns_base;
static int dns_refs;

/* monotonic, read once per loop turn (timing.h) */
static int64_t real_now_ms(void)
{
    return (int64_t)(timing_now() * 1000.0);
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
    hc_free(g->hc);
    for (int i = 0; i < g->ndq; i++)
        if (g->dq[i].req)
            evdns_getaddrinfo_cancel(g->dq[i].req);
    free(g->dq);
    if (g->dns_timer)
        event_free(g->dns_timer);
    if (g->dns_timer && --dns_refs == 0 && dns_base) {
        evdns_base_free(dns_base, 1);
        dns_base = NULL;
    }
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
        t->gen = 1;
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

/* --- DNS re-resolution ------------------------------------------------------
 * `server NAME resolve` with `resolver ADDR...` in http { }: every
 * resolver_valid (`resolver ... valid=T`, default 30s) each worker asks the
 * resolvers again with libevent's asynchronous evdns (never blocking the
 * loop).  The peers the name gave at start are slots: the new addresses
 * fill them in order (a changed address is logged at notice); slots left
 * without an address are "down" until an answer fills them again;
 * addresses beyond the slots are ignored (logged once per change).  A
 * failed lookup keeps the old addresses (logged at warn). */

static void dns_answer(int rc, struct evutil_addrinfo *res, void *ud)
{
    struct dns_q *q = ud;
    if (rc == EVUTIL_EAI_CANCEL)
        return; /* the group is being freed */
    q->req = NULL;
    q->pending = false;
    struct up_group *g = q->g;
    if (rc != 0) {
        log_warn("upstream \"%s\": could not re-resolve \"%s\": %s", g->cf->name, q->host,
                 evutil_gai_strerror(rc));
        return;
    }
    int k = 0, extra = 0;
    for (struct evutil_addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
            continue;
        if (k >= q->count) {
            extra++;
            continue;
        }
        struct up_peer *p = &g->p[q->first + k];
        struct addr na;
        memset(&na, 0, sizeof(na));
        memcpy(&na.ss, a->ai_addr, a->ai_addrlen);
        na.len = (socklen_t)a->ai_addrlen;
        if (na.ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&na.ss)->sin_port = htons((uint16_t)q->port);
        else
            ((struct sockaddr_in6 *)&na.ss)->sin6_port = htons((uint16_t)q->port);
        if (!addr_equal(&na, &p->addr) || p->gone) {
            char nm[ADDR_STRLEN];
            addr_format(&na, nm, sizeof(nm));
            log_notice("upstream \"%s\": %s now resolves to %s (was %s)", g->cf->name, q->host, nm,
                       p->gone ? "none" : p->name);
            p->addr = na;
            memcpy(p->name, nm, sizeof(p->name));
            p->gone = false;
            set_fails(g, p, 0);
            changed(g, p);
        }
        k++;
    }
    for (int j = k; j < q->count; j++) {
        struct up_peer *p = &g->p[q->first + j];
        if (!p->gone)
            log_notice("upstream \"%s\": %s no longer resolves to %s", g->cf->name, q->host,
                       p->name);
        p->gone = true;
        changed(g, p);
    }
    if (extra)
        log_info("upstream \"%s\": %s has %d more addresses than at start; not used", g->cf->name,
                 q->host, extra);
    evutil_freeaddrinfo(res);
}

static void dns_tick(evutil_socket_t fd, short what, void *ud)
{
    (void)fd, (void)what;
    struct up_group *g = ud;
    for (int i = 0; i < g->ndq; i++) {
        struct dns_q *q = &g->dq[i];
        if (q->pending)
            continue;
        struct evutil_addrinfo hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        q->pending = true;
        struct evdns_getaddrinfo_request *r =
            evdns_getaddrinfo(dns_base, q->host, NULL, &hints, dns_answer, q);
        if (q->pending)
            q->req = r;
    }
}

static int dns_start(struct up_group *g, const struct cf_main *cf, struct event_base *base,
                     char *err, size_t errlen)
{
    for (int i = 0; i < g->n; i++)
        if (g->p[i].cf->resolve && (i == 0 || strcmp(g->p[i - 1].cf->name, g->p[i].cf->name)))
            g->ndq++;
    if (g->ndq == 0 || !base)
        return 0;
    if (cf->nresolvers == 0) {
        const struct cf_where *w = &g->p[0].cf->where;
        snprintf(err, errlen, "%s:%d: no resolver defined to resolve servers of upstream \"%s\"",
                 w->file ? w->file : "?", w->line, g->cf->name);
        return -1;
    }
    if (!dns_base) {
        dns_base = evdns_base_new(base, 0);
        if (!dns_base) {
            snprintf(err, errlen, "cannot start the resolver");
            return -1;
        }
        for (int i = 0; i < cf->nresolvers; i++)
            if (evdns_base_nameserver_ip_add(dns_base, cf->resolvers[i]) != 0) {
                snprintf(err, errlen, "invalid resolver address \"%s\"", cf->resolvers[i]);
                evdns_base_free(dns_base, 0);
                dns_base = NULL;
                return -1;
            }
    }
    g->dns_timer = event_new(base, -1, EV_PERSIST, dns_tick, g);
    if (g->dns_timer)
        dns_refs++; /* group_free() gives it back */
    g->dq = calloc((size_t)g->ndq, sizeof(*g->dq));
    if (!g->dns_timer || !g->dq) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int k = -1;
    for (int i = 0; i < g->n; i++) {
        if (!g->p[i].cf->resolve)
            continue;
        if (k >= 0 && strcmp(g->p[i - 1].cf->name, g->p[i].cf->name) == 0 &&
            g->dq[k].first + g->dq[k].count == i) {
            g->dq[k].count++;
            continue;
        }
        struct dns_q *q = &g->dq[++k];
        q->g = g;
        q->first = i;
        q->count = 1;
        q->port = addr_port(&g->p[i].addr);
        const char *nm = g->p[i].cf->name;
        const char *colon = strrchr(nm, ':');
        size_t hl = colon && !strchr(colon, ']') ? (size_t)(colon - nm) : strlen(nm);
        if (hl >= sizeof(q->host))
            hl = sizeof(q->host) - 1;
        memcpy(q->host, nm, hl);
        q->host[hl] = 0;
    }
    g->ndq = k + 1;
    int ms = cf->resolver_valid_ms > 0 ? cf->resolver_valid_ms : 30000;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return event_add(g->dns_timer, &tv);
}

/* The health checker's view of a group's peers (health.h). */
static bool hc_is_down(void *ud, int peer)
{
    return up_peer_is_down(ud, peer);
}

static const struct addr *hc_addr(void *ud, int peer)
{
    return up_peer_addr(ud, peer);
}

static const char *hc_host(void *ud, int peer)
{
    return up_peer_host(ud, peer);
}

static void hc_result(void *ud, int peer, bool ok, const char *why)
{
    up_hc_result(ud, peer, ok, why);
}

int up_init_all(struct cf_main *cf, struct event_base *base, char *err, size_t errlen)
{
    for (int i = 0; i < cf->nupstreams; i++) {
        struct cf_upstream *u = cf->upstreams[i];
        struct up_group *g = group_new(u, err, errlen);
        if (!g) {
            up_free_all(cf);
            return -1;
        }
        u->rt = g;
        if (dns_start(g, cf, base, err, errlen) < 0) {
            up_free_all(cf);
            return -1;
        }
        if (u->hc.enabled && base &&
            !(g->hc = hc_start(base, &(struct hc_peers){g, hc_is_down, hc_addr, hc_host, hc_result},
                               u, err, errlen))) {
            up_free_all(cf);
            return -1;
        }
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
        .gen = t->ntries == 0 && g->nslow == 0 && tier->nfailed == 0 ? tier->gen : 0,
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
    struct lb_peer *lp = &g->tier[p->tier].lp[p->ti];
    if (++lp->active == p->cf->max_conns)
        changed(g, p);
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
    if (lp->active > 0 && lp->active-- == p->cf->max_conns)
        changed(g, p);
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
    if (g->single) /* a discarded try counts as nginx's state 0: not a failure */
        return;
    int mf = p->cf->max_fails;
    if (res == UP_FAIL) {
        set_fails(g, p, p->fails + 1);
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
        set_fails(g, p, 0);
    }
}

/* --- health checks (health.c runs them) ---------------------------------- */

void up_hc_result(struct up_group *g, int peer, bool ok, const char *why)
{
    struct up_peer *p = &g->p[peer];
    p->hc_checks++;
    if (!ok)
        p->hc_fails++;
    if (ok != p->hc_last_ok || p->hc_run == 0)
        p->hc_run = 0;
    p->hc_last_ok = ok;
    p->hc_run++;
    int need_f = g->cf->hc.fails > 0 ? g->cf->hc.fails : 1;
    int need_p = g->cf->hc.passes > 0 ? g->cf->hc.passes : 1;
    if (!ok && !p->unhealthy && p->hc_run >= need_f) {
        p->unhealthy = true;
        changed(g, p);
        log_warn("upstream \"%s\": server %s is unhealthy (%d failed check%s, last: %s)",
                 g->cf->name, p->name, p->hc_run, p->hc_run == 1 ? "" : "s", why ? why : "?");
    } else if (ok && p->unhealthy && p->hc_run >= need_p) {
        p->unhealthy = false;
        changed(g, p);
        set_fails(g, p, 0);
        log_notice("upstream \"%s\": server %s is healthy again", g->cf->name, p->name);
        start_slow(g, p, now_ms());
    }
}

bool up_peer_is_down(const struct up_group *g, int peer)
{
    return g->p[peer].cf->down || g->p[peer].gone;
}

const char *up_peer_host(const struct up_group *g, int peer)
{
    const char *n = g->p[peer].cf->name;
    return strncmp(n, "unix:", 5) == 0 ? "localhost" : n;
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
