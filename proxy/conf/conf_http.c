/* conf_http: http, server and location directives (see conf_http.h). */
#include "conf_http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* expires off | epoch | max | [+|-]TIME, as nginx's (the `modified` and
 * `@time-of-day` forms are refused). */
static int set_expires(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                       struct conf_scope *s)
{
    const char *v = n->args[1];
    if (n->nargs == 3 || strcmp(v, "modified") == 0)
        return conf_error(b->R, n->file, n->line, "\"expires modified\" is not supported");
    if (v[0] == '@')
        return conf_error(b->R, n->file, n->line, "\"expires @time\" is not supported");
    int mode = CF_EXP_TIME;
    int64_t secs = 0;
    if (strcmp(v, "off") == 0) {
        mode = CF_EXP_OFF;
    } else if (strcmp(v, "epoch") == 0) {
        mode = CF_EXP_EPOCH;
    } else if (strcmp(v, "max") == 0) {
        mode = CF_EXP_MAX;
    } else {
        bool neg = v[0] == '-';
        int64_t ms;
        /* up to 100 years, in whole seconds */
        if (conf_parse_time(v + (neg || v[0] == '+'), 100LL * 365 * 86400000, &ms) < 0 ||
            ms % 1000 != 0)
            return conf_bad_value(b, n, v);
        secs = neg ? -ms / 1000 : ms / 1000;
    }
    s->lc->loc.expires = mode;
    s->lc->loc.expires_s = secs;
    return 0;
}

/* gzip: responses are sent as the upstream or the file has them. */
static int set_gzip(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                    struct conf_scope *s)
{
    return conf_only_off(b, cmd, n, s, "responses are sent uncompressed");
}

int conf_set_header(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                    struct conf_scope *s)
{
    struct loc_conf *lc = s->lc;
    struct cf_header **arr;
    int *cnt;
    if (cmd->bit == F_PROXY_HEADERS) {
        arr = &lc->loc.proxy_headers;
        cnt = &lc->loc.nproxy_headers;
    } else if (cmd->bit == F_UWSGI_PARAMS) {
        arr = &lc->loc.uwsgi_params;
        cnt = &lc->loc.nuwsgi_params;
    } else {
        arr = &lc->loc.add_headers;
        cnt = &lc->loc.nadd_headers;
    }
    bool always = false, if_not_empty = false;
    if (n->nargs == 4) {
        if (cmd->bit == F_ADD_HEADERS && strcmp(n->args[3], "always") == 0)
            always = true;
        else if (cmd->bit == F_UWSGI_PARAMS && strcmp(n->args[3], "if_not_empty") == 0)
            if_not_empty = true;
        else
            return conf_error(b->R, n->file, n->line, "invalid parameter \"%s\"", n->args[3]);
    }
    if (!n->args[1][0] || strpbrk(n->args[1], " \t\r\n:$"))
        return conf_error(b->R, n->file, n->line, "invalid header name \"%s\" in \"%s\" directive",
                          n->args[1], CONF_NAME(n));
    struct cf_header *h = CONF_PUSH(b->R->A, *arr, *cnt);
    if (!h)
        return conf_oom(b->R);
    h->name = n->args[1];
    if (cmd->bit == F_UWSGI_PARAMS && strncmp(h->name, "HTTP_", 5) == 0)
        lc->loc.uwsgi_http_params = true;
    h->always = always;
    h->if_not_empty = if_not_empty;
    h->value = conf_compile(b, n, n->args[2]);
    return h->value ? 0 : -1;
}

static int set_lhb(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                   struct conf_scope *s)
{
    int num;
    int64_t size;
    if (conf_parse_int(n->args[1], &num) < 0 || num < 1)
        return conf_bad_value(b, n, n->args[1]);
    if (conf_parse_size(n->args[2], &size) < 0 || size < 64 || size > (1 << 24))
        return conf_bad_value(b, n, n->args[2]);
    s->lc->lhb_n = num;
    s->lc->lhb_size = (int)size;
    return 0;
}

struct loc_conf *conf_http_new_level(struct conf_build *b, struct loc_conf *parent,
                                     struct srv_conf *srv)
{
    struct loc_conf *lc = conf_alloc(b->R->A, sizeof(*lc));
    if (!lc) {
        conf_oom(b->R);
        return NULL;
    }
    lc->parent = parent;
    lc->srv = srv;
    return lc;
}

static int set_server(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                      struct conf_scope *s)
{
    (void)cmd;
    struct srv_conf *sc = conf_alloc(b->R->A, sizeof(*sc));
    struct srv_conf **slot = sc ? CONF_PUSH(b->R->A, b->srvs, b->nsrvs) : NULL;
    if (!slot)
        return conf_oom(b->R);
    *slot = sc;
    sc->n = n;
    if (!(sc->def = conf_http_new_level(b, b->http, sc)))
        return -1;
    sc->def->loc.where = (struct cf_where){n->file, n->line};
    struct conf_scope in = *s;
    in.ctx = CONF_SRV;
    in.sc = sc;
    in.lc = sc->def;
    return conf_run_block(b, n, &in);
}

static int set_listen(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                      struct conf_scope *s)
{
    (void)cmd;
    struct cf_listen l = {.backlog = 511, .fd = -1, .where = {n->file, n->line}};
    const char *a = n->args[1];
    char spec[512];
    if (strncmp(a, "*:", 2) == 0)
        snprintf(spec, sizeof(spec), "0.0.0.0:%s", a + 2);
    else
        snprintf(spec, sizeof(spec), "%s", a);
    char e[256];
    if (strncmp(a, "unix:", 5) != 0) {
        /* a bare word without a port is a host on port 80, as nginx has it */
        const char *colon = strrchr(spec, ':');
        bool digits = true;
        for (const char *c = spec; *c; c++)
            if (!isdigit((unsigned char)*c))
                digits = false;
        if (!digits && (!colon || (spec[0] == '[' && spec[strlen(spec) - 1] == ']'))) {
            size_t len = strlen(spec);
            snprintf(spec + len, sizeof(spec) - len, ":80");
        }
    }
    if (addr_parse(spec, -1, &l.addr, e, sizeof(e)) < 0)
        return conf_error(b->R, n->file, n->line,
                          "invalid address \"%s\" in \"listen\" directive "
                          "(%s)",
                          a, e);
    if (!addr_is_unix(&l.addr) && addr_port(&l.addr) == 0)
        return conf_error(b->R, n->file, n->line,
                          "invalid port in \"%s\" of the \"listen\" "
                          "directive",
                          a);
    for (int i = 2; i < n->nargs; i++) {
        const char *p = n->args[i];
        if (strcmp(p, "default_server") == 0 || strcmp(p, "default") == 0) {
            l.default_server = true;
        } else if (strcmp(p, "reuseport") == 0) {
            l.reuseport = l.opts = true;
        } else if (strncmp(p, "backlog=", 8) == 0) {
            int v;
            if (conf_parse_int(p + 8, &v) < 0 || v < 1)
                return conf_error(b->R, n->file, n->line, "invalid backlog \"%s\"", p + 8);
            l.backlog = v;
            l.opts = true;
        } else if (strcmp(p, "deferred") == 0) {
            l.deferred = l.opts = true;
        } else if (strcmp(p, "bind") == 0) {
            l.opts = true; /* we always bind each address separately */
        } else {
            return conf_error(b->R, n->file, n->line, "invalid parameter \"%s\" (not supported)",
                              p);
        }
    }
    struct srv_conf *sc = s->sc;
    for (int i = 0; i < sc->nlistens; i++)
        if (addr_equal(&sc->listens[i].addr, &l.addr))
            return conf_error(b->R, n->file, n->line, "duplicate listen %s", a);
    struct cf_listen *slot = CONF_PUSH(b->R->A, sc->listens, sc->nlistens);
    if (!slot)
        return conf_oom(b->R);
    *slot = l;
    return 0;
}

static int set_server_name(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                           struct conf_scope *s)
{
    (void)cmd;
    struct srv_conf *sc = s->sc;
    for (int i = 1; i < n->nargs; i++) {
        char *name = conf_strdup(b->R->A, n->args[i]);
        if (!name)
            return conf_oom(b->R);
        if (name[0] == '~')
            return conf_error(b->R, n->file, n->line,
                              "regular expression server names are not "
                              "supported (\"%s\")",
                              name);
        if (strchr(name, '$'))
            return conf_error(b->R, n->file, n->line,
                              "variables in server names are not supported");
        if (strchr(name + 1, '*') &&
            !(name[strlen(name) - 1] == '*' && strlen(name) > 2 && name[strlen(name) - 2] == '.'))
            return conf_error(b->R, n->file, n->line, "invalid server name or wildcard \"%s\"",
                              name);
        if (name[0] == '*' && name[1] != '.')
            return conf_error(b->R, n->file, n->line, "invalid server name or wildcard \"%s\"",
                              name);
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        char **slot = CONF_PUSH(b->R->A, sc->names, sc->nnames);
        if (!slot)
            return conf_oom(b->R);
        *slot = name;
    }
    return 0;
}

static int set_location(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                        struct conf_scope *s)
{
    (void)cmd;
    enum cf_loc_match m = CF_LOC_PREFIX;
    const char *path;
    if (n->nargs == 3) {
        const char *mod = n->args[1];
        if (strcmp(mod, "=") == 0)
            m = CF_LOC_EXACT;
        else if (strcmp(mod, "^~") == 0)
            m = CF_LOC_PREFERRED;
        else if (strcmp(mod, "~") == 0 || strcmp(mod, "~*") == 0)
            return conf_error(b->R, n->file, n->line,
                              "regular expression locations are not "
                              "supported");
        else
            return conf_error(b->R, n->file, n->line, "invalid location modifier \"%s\"", mod);
        path = n->args[2];
    } else {
        path = n->args[1];
        if (path[0] == '=' && path[1]) {
            m = CF_LOC_EXACT;
            path++;
        } else if (path[0] == '^' && path[1] == '~' && path[2]) {
            m = CF_LOC_PREFERRED;
            path += 2;
        } else if (path[0] == '~') {
            return conf_error(b->R, n->file, n->line,
                              "regular expression locations are not "
                              "supported");
        } else if (path[0] == '@') {
            return conf_error(b->R, n->file, n->line, "named locations are not supported");
        }
    }
    struct loc_conf *parent = s->lc;
    if (s->ctx == CONF_LOC) {
        if (parent->loc.match == CF_LOC_EXACT)
            return conf_error(b->R, n->file, n->line,
                              "location \"%s\" cannot be inside the exact location \"%s\"", path,
                              parent->loc.path);
        if (strncmp(path, parent->loc.path, parent->loc.path_len) != 0)
            return conf_error(b->R, n->file, n->line, "location \"%s\" is outside location \"%s\"",
                              path, parent->loc.path);
    }
    struct srv_conf *sc = s->sc;
    for (int i = 0; i < sc->nlocs; i++) {
        struct cf_loc *o = &sc->locs[i]->loc;
        if (strcmp(o->path, path) == 0 && (o->match == CF_LOC_EXACT) == (m == CF_LOC_EXACT))
            return conf_error(b->R, n->file, n->line, "duplicate location \"%s\"", path);
    }
    struct loc_conf *lc = conf_http_new_level(b, parent, sc);
    struct loc_conf **slot = lc ? CONF_PUSH(b->R->A, sc->locs, sc->nlocs) : NULL;
    if (!slot)
        return conf_oom(b->R);
    *slot = lc;
    lc->loc.match = m;
    lc->loc.path = conf_strdup(b->R->A, path);
    if (!lc->loc.path)
        return conf_oom(b->R);
    lc->loc.path_len = strlen(path);
    lc->loc.where = (struct cf_where){n->file, n->line};
    struct conf_scope in = *s;
    in.ctx = CONF_LOC;
    in.lc = lc;
    return conf_run_block(b, n, &in);
}

/* lingering_close off | on | always */
static int set_lingering_close(struct conf_build *b, const struct conf_cmd *cmd,
                               struct conf_node *n, struct conf_scope *s)
{
    static const char *const names[] = {"off", "on", "always"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(n->args[1], names[i]) == 0) {
            *(int *)((char *)s->lc + cmd->off) = i;
            return 0;
        }
    }
    return conf_bad_value(b, n, n->args[1]);
}

static const struct conf_cmd cmds[] = {
    {.name = "server", .ctx = CONF_HTTP, .block = true, .set = set_server, .bit = -1},
    CONF_CMD("listen", CONF_SRV, 1, -1, set_listen),
    CONF_CMD("server_name", CONF_SRV, 1, -1, set_server_name),
    {.name = "location",
     .ctx = CONF_SRV | CONF_LOC,
     .min = 1,
     .max = 2,
     .block = true,
     .set = set_location,
     .bit = -1},
    CONF_CMD("sendfile", CONF_HSL, 1, 1, conf_set_ignored_flag),
    CONF_CMD("tcp_nopush", CONF_HSL, 1, 1, conf_set_ignored_flag),
    CONF_CMD("tcp_nodelay", CONF_HSL, 1, 1, conf_set_ignored_flag),
    CONF_CMD("gzip", CONF_HSL, 1, 1, set_gzip),
    CONF_CMD("server_names_hash_max_size", CONF_HTTP, 1, 1, conf_set_unused_sizes),
    CONF_CMD("server_names_hash_bucket_size", CONF_HTTP, 1, 1, conf_set_unused_sizes),
    CONF_LOC("expires", 1, 2, set_expires, expires, F_EXPIRES),
    CONF_LOC_LIST("add_header", 2, 3, conf_set_header, F_ADD_HEADERS),
    CONF_LOC("server_tokens", 1, 1, conf_set_flag, server_tokens, F_TOKENS),
    CONF_LOC("server_timing", 1, 1, conf_set_flag, server_timing, F_TIMING),
    CONF_LOC("client_max_body_size", 1, 1, conf_set_size, client_max_body_size, F_MAX_BODY),
    CONF_LOC("client_body_timeout", 1, 1, conf_set_msec, client_body_timeout_ms, F_BODY_TO),
    CONF_LOC("send_timeout", 1, 1, conf_set_msec, send_timeout_ms, F_SEND_TO),
    CONF_LOC("keepalive_timeout", 1, 1, conf_set_msec, keepalive_timeout_ms, F_KA_TO),
    CONF_LOC("keepalive_requests", 1, 1, conf_set_int, keepalive_requests, F_KA_REQ),
    /* server-level settings, kept in struct loc_conf, not in cf_loc */
    {.name = "client_header_timeout",
     .ctx = CONF_HTTP | CONF_SRV,
     .min = 1,
     .max = 1,
     .set = conf_set_msec,
     .store = CONF_ST_LOC,
     .off = offsetof(struct loc_conf, hdr_to),
     .bit = F_HDR_TO,
     .dup = CONF_ONCE_VALID},
    {.name = "large_client_header_buffers",
     .ctx = CONF_HTTP | CONF_SRV,
     .min = 2,
     .max = 2,
     .set = set_lhb,
     .store = CONF_ST_LOC,
     .bit = F_LHB,
     .dup = CONF_ONCE_VALID},
    CONF_LOC("lingering_close", 1, 1, set_lingering_close, lingering_close, F_LINGER_CLOSE),
    CONF_LOC("lingering_time", 1, 1, conf_set_msec, lingering_time_ms, F_LINGER_TIME),
    CONF_LOC("lingering_timeout", 1, 1, conf_set_msec, lingering_timeout_ms, F_LINGER_TO),
};

const struct conf_cmds conf_http_cmds = CONF_CMDS(cmds);
