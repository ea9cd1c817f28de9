/* conf_upstream: upstream { } and resolver (see conf_upstream.h). */
#include "conf_upstream.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "lb.h"

#define MAX_RESOLVED 16

/* A `server` line without parameters, as nginx's. */
static const struct cf_peer peer_defaults = {.weight = 1, .max_fails = 1, .fail_timeout_ms = 10000};

static int set_resolver(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                        struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    b->cf->resolver_valid_ms = 0;
    for (int i = 1; i < n->nargs; i++) {
        const char *a = n->args[i];
        if (strncmp(a, "valid=", 6) == 0) {
            int64_t v;
            if (conf_parse_msec(a + 6, &v) < 0)
                return conf_error(b->R, n->file, n->line, "invalid parameter \"%s\"", a);
            b->cf->resolver_valid_ms = (int)v;
            continue;
        }
        if (strchr(a, '='))
            return conf_error(b->R, n->file, n->line, "invalid parameter \"%s\"", a);
        struct addr tmp;
        char e[256];
        if (addr_parse(a, 53, &tmp, e, sizeof(e)) < 0)
            return conf_error(b->R, n->file, n->line, "invalid resolver address \"%s\": %s", a, e);
        char **slot = CONF_PUSH(b->R->A, b->cf->resolvers, b->cf->nresolvers);
        if (!slot)
            return conf_oom(b->R);
        *slot = n->args[i];
    }
    if (!b->cf->nresolvers)
        return conf_error(b->R, n->file, n->line,
                          "invalid number of arguments in \"resolver\" "
                          "directive");
    return 0;
}

struct cf_upstream *conf_upstream_find(struct conf_build *b, const char *name)
{
    for (int i = 0; i < b->nups; i++)
        if (strcasecmp(b->ups[i]->name, name) == 0)
            return b->ups[i];
    return NULL;
}

struct cf_upstream *conf_upstream_new(struct conf_build *b, const char *name, struct conf_node *n)
{
    struct cf_upstream *u = conf_alloc(b->R->A, sizeof(*u));
    struct cf_upstream **slot = u ? CONF_PUSH(b->R->A, b->ups, b->nups) : NULL;
    if (!slot) {
        conf_oom(b->R);
        return NULL;
    }
    *slot = u;
    u->name = conf_strdup(b->R->A, name);
    u->lb_name = "round_robin";
    u->keepalive_timeout_ms = 60000;
    u->keepalive_requests = 1000;
    u->where = (struct cf_where){n->file, n->line};
    u->lb_where = u->where;
    return u->name ? u : NULL;
}

static int set_upstream(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                        struct conf_scope *s)
{
    (void)cmd;
    /* implicit upstreams are made after every directive ran (conf_proxy_finish) */
    if (conf_upstream_find(b, n->args[1]))
        return conf_error(b->R, n->file, n->line, "duplicate upstream \"%s\"", n->args[1]);
    struct cf_upstream *u = conf_upstream_new(b, n->args[1], n);
    if (!u)
        return -1;
    struct conf_scope in = *s;
    in.ctx = CONF_UPS;
    in.up = u;
    in.up_set = 0;
    if (conf_run_block(b, n, &in) < 0)
        return -1;
    if (u->npeers == 0)
        return conf_error(b->R, n->file, n->line, "no servers are inside upstream");
    return 0;
}

int conf_upstream_add_peers(struct conf_build *b, struct conf_node *n, struct cf_upstream *u,
                            const char *spec, const struct cf_peer *tmpl)
{
    if (!tmpl)
        tmpl = &peer_defaults;
    struct addr addrs[MAX_RESOLVED];
    char e[256];
    int na = addr_resolve(spec, 80, addrs, MAX_RESOLVED, e, sizeof(e));
    if (na < 0)
        return conf_error(b->R, n->file, n->line, "host not found in upstream \"%s\" (%s)", spec,
                          e);
    for (int i = 0; i < na; i++) {
        struct cf_peer *p = CONF_PUSH(b->R->A, u->peers, u->npeers);
        if (!p)
            return conf_oom(b->R);
        *p = *tmpl;
        p->addr = addrs[i];
        p->name = conf_strdup(b->R->A, spec);
        p->where = (struct cf_where){n->file, n->line};
        if (!p->name)
            return conf_oom(b->R);
    }
    return 0;
}

static int set_ups_server(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                          struct conf_scope *s)
{
    (void)cmd;
    struct cf_peer pt = peer_defaults;
    for (int i = 2; i < n->nargs; i++) {
        const char *a = n->args[i];
        const char *eq = strchr(a, '=');
        int iv;
        int64_t tv;
        if (strncmp(a, "weight=", 7) == 0) {
            if (conf_parse_int(eq + 1, &iv) < 0 || iv < 1)
                goto bad;
            pt.weight = iv;
        } else if (strncmp(a, "max_fails=", 10) == 0) {
            if (conf_parse_int(eq + 1, &iv) < 0)
                goto bad;
            pt.max_fails = iv;
        } else if (strncmp(a, "max_conns=", 10) == 0) {
            if (conf_parse_int(eq + 1, &iv) < 0)
                goto bad;
            pt.max_conns = iv;
        } else if (strncmp(a, "fail_timeout=", 13) == 0) {
            if (conf_parse_msec(eq + 1, &tv) < 0)
                goto bad;
            pt.fail_timeout_ms = (int)tv;
        } else if (strncmp(a, "slow_start=", 11) == 0) {
            if (conf_parse_msec(eq + 1, &tv) < 0)
                goto bad;
            pt.slow_start_ms = (int)tv;
        } else if (strcmp(a, "backup") == 0) {
            pt.backup = true;
        } else if (strcmp(a, "down") == 0) {
            pt.down = true;
        } else if (strcmp(a, "resolve") == 0) {
            pt.resolve = true;
        } else {
            goto bad;
        }
        continue;
    bad:
        return conf_error(b->R, n->file, n->line, "invalid parameter \"%s\"", a);
    }
    if (pt.resolve && b->cf->nresolvers == 0)
        return conf_error(b->R, n->file, n->line,
                          "no resolver defined to resolve \"%s\" (the \"resolver\" directive must "
                          "come before the upstream)",
                          n->args[1]);
    return conf_upstream_add_peers(b, n, s->up, n->args[1], &pt);
}

static int set_health_check(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                            struct conf_scope *s)
{
    (void)cmd;
    struct cf_health_check *h = &s->up->hc;
    *h = (struct cf_health_check){true, 5000, 1, 1, 5000, "/"};
    for (int i = 1; i < n->nargs; i++) {
        const char *a = n->args[i];
        const char *v = strchr(a, '=');
        int iv;
        int64_t tv;
        if (!v)
            goto bad;
        v++;
        if (strncmp(a, "interval=", 9) == 0 && conf_parse_msec(v, &tv) == 0 && tv > 0)
            h->interval_ms = (int)tv;
        else if (strncmp(a, "timeout=", 8) == 0 && conf_parse_msec(v, &tv) == 0 && tv > 0)
            h->timeout_ms = (int)tv;
        else if (strncmp(a, "fails=", 6) == 0 && conf_parse_int(v, &iv) == 0 && iv > 0)
            h->fails = iv;
        else if (strncmp(a, "passes=", 7) == 0 && conf_parse_int(v, &iv) == 0 && iv > 0)
            h->passes = iv;
        else if (strncmp(a, "uri=", 4) == 0 && v[0] == '/')
            h->uri = (char *)v;
        else
            goto bad;
        continue;
    bad:
        return conf_error(b->R, n->file, n->line, "invalid parameter \"%s\"", a);
    }
    return 0;
}

/* ip_hash, least_conn, hash KEY ..., random ...: the arguments are kept for
 * the policy, which checks them (conf_upstream_check_policies). */
static int set_policy(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                      struct conf_scope *s)
{
    (void)b;
    (void)cmd;
    struct cf_upstream *u = s->up;
    u->lb_name = CONF_NAME(n);
    u->lb_args = n->args + 1;
    u->nlb_args = n->nargs - 1;
    u->lb_where = (struct cf_where){n->file, n->line};
    return 0;
}

static int set_keepalive(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                         struct conf_scope *s)
{
    (void)cmd;
    int v;
    if (conf_parse_int(n->args[1], &v) < 0 || v < 1)
        return conf_bad_value(b, n, n->args[1]);
    s->up->keepalive = v;
    return 0;
}

int conf_upstream_check_policies(struct conf_build *b)
{
    for (int i = 0; i < b->nups; i++) {
        struct cf_upstream *u = b->ups[i];
        const struct lb_ops *ops = lb_find(u->lb_name);
        if (!ops)
            return conf_error(b->R, u->lb_where.file, u->lb_where.line,
                              "unknown balancing method \"%s\"", u->lb_name);
        struct lb_peer *lp = calloc((size_t)u->npeers, sizeof(*lp));
        if (!lp)
            return conf_oom(b->R);
        for (int k = 0; k < u->npeers; k++)
            lp[k] = (struct lb_peer){.weight = u->peers[k].weight,
                                     .eff_weight = u->peers[k].weight,
                                     .name = u->peers[k].name};
        char e[256] = "";
        void *st = ops->create(lp, u->npeers, u->lb_args, u->nlb_args, e, sizeof(e));
        if (st && ops->destroy)
            ops->destroy(st);
        free(lp);
        if (!st)
            return conf_error(b->R, u->lb_where.file, u->lb_where.line, "%s", e);
    }
    return 0;
}

#define UPS_OFF(f) offsetof(struct cf_upstream, f)

#define UPS_ONCE(nm, mn, mx, setter, off_, bit_)                                                   \
    CONF_ONCE_CMD(nm, CONF_UPS, mn, mx, setter, CONF_ST_UPS, off_, bit_)

static const struct conf_cmd cmds[] = {
    {.name = "upstream",
     .ctx = CONF_HTTP,
     .min = 1,
     .max = 1,
     .block = true,
     .set = set_upstream,
     .bit = -1},
    CONF_ONCE_CMD("resolver", CONF_HTTP, 1, -1, set_resolver, CONF_ST_MAIN, 0, MAIN_RESOLVER),
    CONF_CMD("server", CONF_UPS, 1, -1, set_ups_server),
    UPS_ONCE("keepalive", 1, 1, set_keepalive, 0, UPS_KEEPALIVE),
    UPS_ONCE("keepalive_timeout", 1, 1, conf_set_msec, UPS_OFF(keepalive_timeout_ms),
             UPS_KEEPALIVE_TIMEOUT),
    UPS_ONCE("keepalive_requests", 1, 1, conf_set_int, UPS_OFF(keepalive_requests),
             UPS_KEEPALIVE_REQUESTS),
    UPS_ONCE("health_check", 0, -1, set_health_check, 0, UPS_HEALTH_CHECK),
};

static const struct conf_cmd *policy_cmd_find(const char *name);

const struct conf_cmds conf_upstream_cmds = {cmds, sizeof(cmds) / sizeof(cmds[0]), policy_cmd_find};

/* Every policy of the lb table is a directive of upstream { } with any
 * arguments; one per block. */
static const struct conf_cmd policy_cmd = {.name = "(balancing method)",
                                           .ctx = CONF_UPS,
                                           .min = 0,
                                           .max = -1,
                                           .set = set_policy,
                                           .store = CONF_ST_UPS,
                                           .bit = UPS_POLICY,
                                           .dup = CONF_ONCE,
                                           .dup_msg = "load balancing method redefined"};

/* The table entry of balancing method `name` (any lb_find() name), or NULL:
 * the table's finder. */
static const struct conf_cmd *policy_cmd_find(const char *name)
{
    return lb_find(name) ? &policy_cmd : NULL;
}
