/* route: server and location lookup (see route.h).
 *
 * route_init() builds, per listen address, the group of servers on it with
 * its name tables (exact names sorted for bsearch, wildcards longest first),
 * and per server its exact locations sorted for bsearch and its prefix
 * locations longest first.  Lookups only read these arrays. */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

struct name_ent {
    const char *name; /* exact: the name; "*.x": ".x"; "x.*": "x." */
    size_t len;
    const struct cf_server *srv;
};

struct group { /* every server on one listen address */
    struct addr addr;
    const struct cf_server *def;
    struct name_ent *exact; /* sorted by name */
    int nexact;
    struct name_ent *head; /* "*.example.com", longest first */
    int nhead;
    struct name_ent *tail; /* "www.example.*", longest first */
    int ntail;
};

struct srv_rt {
    struct route_all *all;
    struct group **groups;       /* per listen of the server */
    const struct cf_loc **exact; /* sorted by path */
    int nexact;
    const struct cf_loc **prefix; /* longest first */
    int nprefix;
};

struct route_all {
    struct group *groups;
    int ngroups;
    struct srv_rt *srv; /* one per server */
    int nsrv;
};

static int cmp_name(const void *a, const void *b)
{
    const struct name_ent *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int cmp_len_desc(const void *a, const void *b)
{
    const struct name_ent *x = a, *y = b;
    return (x->len < y->len) - (x->len > y->len);
}

static int cmp_loc_path(const void *a, const void *b)
{
    const struct cf_loc *x = *(const struct cf_loc *const *)a;
    const struct cf_loc *y = *(const struct cf_loc *const *)b;
    size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
    int c = memcmp(x->path, y->path, n);
    return c ? c : (x->path_len > y->path_len) - (x->path_len < y->path_len);
}

static int cmp_loc_len_desc(const void *a, const void *b)
{
    const struct cf_loc *x = *(const struct cf_loc *const *)a;
    const struct cf_loc *y = *(const struct cf_loc *const *)b;
    return (x->path_len < y->path_len) - (x->path_len > y->path_len);
}

static int push_name(struct name_ent **arr, int *n, const char *name, size_t len,
                     const struct cf_server *srv)
{
    for (int i = 0; i < *n; i++) /* nginx: the first server with a name keeps it */
        if ((*arr)[i].len == len && memcmp((*arr)[i].name, name, len) == 0)
            return 0;
    struct name_ent *p = realloc(*arr, (size_t)(*n + 1) * sizeof(*p));
    if (!p)
        return -1;
    *arr = p;
    p[(*n)++] = (struct name_ent){name, len, srv};
    return 0;
}

static int add_server_names(struct group *g, const struct cf_server *s)
{
    for (int i = 0; i < s->nnames; i++) {
        const char *nm = s->names[i];
        size_t l = strlen(nm);
        int rc = 0;
        if (nm[0] == '*' && nm[1] == '.')
            rc = push_name(&g->head, &g->nhead, nm + 1, l - 1, s);
        else if (l > 2 && nm[l - 1] == '*' && nm[l - 2] == '.')
            rc = push_name(&g->tail, &g->ntail, nm, l - 1, s);
        else if (nm[0] == '.') /* ".example.com": the name and every subdomain */
            rc = push_name(&g->exact, &g->nexact, nm + 1, l - 1, s) < 0 ||
                         push_name(&g->head, &g->nhead, nm, l, s) < 0
                     ? -1
                     : 0;
        else
            rc = push_name(&g->exact, &g->nexact, nm, l, s);
        if (rc < 0)
            return -1;
    }
    return 0;
}

void route_free(struct cf_main *cf)
{
    if (!cf->nservers || !cf->servers[0].rt)
        return;
    struct route_all *all = ((struct srv_rt *)cf->servers[0].rt)->all;
    for (int i = 0; i < all->ngroups; i++) {
        free(all->groups[i].exact);
        free(all->groups[i].head);
        free(all->groups[i].tail);
    }
    for (int i = 0; i < all->nsrv; i++) {
        free(all->srv[i].groups);
        free(all->srv[i].exact);
        free(all->srv[i].prefix);
        cf->servers[i].rt = NULL;
    }
    free(all->groups);
    free(all->srv);
    free(all);
}

int route_init(struct cf_main *cf, char *err, size_t errlen)
{
    struct route_all *all = calloc(1, sizeof(*all));
    int total = 0;
    for (int s = 0; s < cf->nservers; s++)
        total += cf->servers[s].nlistens;
    if (!all)
        goto oom;
    all->groups = calloc((size_t)(total ? total : 1), sizeof(*all->groups));
    all->srv = calloc((size_t)(cf->nservers ? cf->nservers : 1), sizeof(*all->srv));
    if (!all->groups || !all->srv) {
        free(all->groups);
        free(all->srv);
        free(all);
        goto oom;
    }
    all->nsrv = cf->nservers;
    for (int s = 0; s < cf->nservers; s++) {
        all->srv[s].all = all;
        cf->servers[s].rt = &all->srv[s];
    }
    for (int s = 0; s < cf->nservers; s++) {
        const struct cf_server *srv = &cf->servers[s];
        struct srv_rt *rt = &all->srv[s];
        rt->groups = calloc((size_t)(srv->nlistens ? srv->nlistens : 1), sizeof(*rt->groups));
        rt->exact = calloc((size_t)(srv->nlocs ? srv->nlocs : 1), sizeof(*rt->exact));
        rt->prefix = calloc((size_t)(srv->nlocs ? srv->nlocs : 1), sizeof(*rt->prefix));
        if (!rt->groups || !rt->exact || !rt->prefix)
            goto oom_free;
        for (int i = 0; i < srv->nlistens; i++) {
            const struct cf_listen *ls = &srv->listens[i];
            struct group *g = NULL;
            for (int k = 0; k < all->ngroups && !g; k++)
                if (addr_equal(&all->groups[k].addr, &ls->addr))
                    g = &all->groups[k];
            if (!g) {
                g = &all->groups[all->ngroups++];
                g->addr = ls->addr;
                g->def = srv; /* the first server on an address is the default */
            }
            if (ls->default_server)
                g->def = srv;
            rt->groups[i] = g;
            if (add_server_names(g, srv) < 0)
                goto oom_free;
        }
        for (int i = 0; i < srv->nlocs; i++) {
            const struct cf_loc *l = &srv->locs[i];
            if (l->match == CF_LOC_EXACT)
                rt->exact[rt->nexact++] = l;
            else
                rt->prefix[rt->nprefix++] = l;
        }
        if (rt->nexact > 1)
            qsort(rt->exact, (size_t)rt->nexact, sizeof(*rt->exact), cmp_loc_path);
        if (rt->nprefix > 1)
            qsort(rt->prefix, (size_t)rt->nprefix, sizeof(*rt->prefix), cmp_loc_len_desc);
    }
    /* default_server anywhere wins over "first"; a second is refused by conf_merge.c */
    for (int s = 0; s < cf->nservers; s++)
        for (int i = 0; i < cf->servers[s].nlistens; i++)
            if (cf->servers[s].listens[i].default_server)
                all->srv[s].groups[i]->def = &cf->servers[s];
    for (int k = 0; k < all->ngroups; k++) {
        struct group *g = &all->groups[k];
        if (g->nexact > 1)
            qsort(g->exact, (size_t)g->nexact, sizeof(*g->exact), cmp_name);
        if (g->nhead > 1)
            qsort(g->head, (size_t)g->nhead, sizeof(*g->head), cmp_len_desc);
        if (g->ntail > 1)
            qsort(g->tail, (size_t)g->ntail, sizeof(*g->tail), cmp_len_desc);
    }
    return 0;
oom_free:
    route_free(cf);
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

const struct cf_server *route_server(const struct cf_main *cf, const struct cf_listen *ls,
                                     const char *host, size_t host_len)
{
    const struct group *g = NULL;
    for (int s = 0; s < cf->nservers && !g; s++) {
        const struct cf_server *srv = &cf->servers[s];
        if (ls >= srv->listens && ls < srv->listens + srv->nlistens)
            g = ((const struct srv_rt *)srv->rt)->groups[ls - srv->listens];
    }
    if (!g) /* a listen of another configuration: match by address */
        for (int s = 0; s < cf->nservers && !g; s++) {
            const struct cf_server *srv = &cf->servers[s];
            for (int i = 0; i < srv->nlistens && !g; i++)
                if (addr_equal(&srv->listens[i].addr, &ls->addr))
                    g = ((const struct srv_rt *)srv->rt)->groups[i];
        }
    if (!g)
        return &cf->servers[0];
    if (host_len && host_len > 0 && host[host_len - 1] == '.') /* "example.com." */
        host_len--;
    struct name_ent key = {host, host_len, NULL};
    const struct name_ent *e =
        bsearch(&key, g->exact, (size_t)g->nexact, sizeof(*g->exact), cmp_name);
    if (e)
        return e->srv;
    if (!host_len)
        return g->def;
    for (int i = 0; i < g->nhead; i++) { /* ".example.com" suffix */
        const struct name_ent *w = &g->head[i];
        if (host_len > w->len && memcmp(host + host_len - w->len, w->name, w->len) == 0)
            return w->srv;
    }
    for (int i = 0; i < g->ntail; i++) { /* "www.example." prefix */
        const struct name_ent *w = &g->tail[i];
        if (host_len > w->len && memcmp(host, w->name, w->len) == 0)
            return w->srv;
    }
    return g->def;
}

const struct cf_loc *route_location(const struct cf_server *srv, const char *uri, size_t len)
{
    const struct srv_rt *rt = srv->rt;
    if (!rt)
        return srv->def_loc;
    if (rt->nexact) {
        struct cf_loc k = {.path = (char *)uri, .path_len = len};
        const struct cf_loc *kp = &k;
        const struct cf_loc **e =
            bsearch(&kp, rt->exact, (size_t)rt->nexact, sizeof(*rt->exact), cmp_loc_path);
        if (e)
            return *e;
    }
    for (int i = 0; i < rt->nprefix; i++) {
        const struct cf_loc *l = rt->prefix[i];
        if (l->path_len <= len && memcmp(l->path, uri, l->path_len) == 0)
            return l;
    }
    return srv->def_loc;
}

/* --- the phases it fills ----------------------------------------------------- */

/* Server selection: by Host among the servers on the listener. */
static enum phase_rc server_phase(void *rp)
{
    struct request *q = rp;
    struct req *r = &q->r;
    r->server = route_server(request_conf(q), q->ls, r->host.p ? r->host.p : "", r->host.len);
    return PHASE_NEXT;
}

/* Location lookup, then what nginx checks once the location is known: the
 * body size limit. */
static enum phase_rc location_phase(void *rp)
{
    struct request *q = rp;
    struct req *r = &q->r;
    /* "OPTIONS *" concerns the server as a whole: the location of "/" */
    bool star = r->uri.len == 1 && r->uri.p[0] == '*';
    r->loc = route_location(r->server, star ? "/" : r->uri.p, star ? 1 : r->uri.len);
    request_routed(q);
    if (r->loc->client_max_body_size > 0 && r->content_length > r->loc->client_max_body_size) {
        request_fail(q, 413);
        return PHASE_DONE;
    }
    return PHASE_NEXT;
}

int route_phases_init(void)
{
    if (phase_add(PH_SERVER, server_phase) < 0 || phase_add(PH_FIND_LOCATION, location_phase) < 0)
        return -1;
    return 0;
}
