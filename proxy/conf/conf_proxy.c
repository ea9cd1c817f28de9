/* conf_proxy: proxy_pass / uwsgi_pass and the proxy_* / uwsgi_* settings
 * (see conf_proxy.h). */
#include "conf_proxy.h"

#include <string.h>
#include <strings.h>

#include "conf_http.h"
#include "handler.h"
#include "conf_upstream.h"

/* proxy_redirect: we never rewrite Location or Refresh, which is what
 * `proxy_redirect off` asks for; nginx's default (rewriting the proxy_pass
 * URL into the client's) and explicit rewrites are not supported. */
static int set_redirect(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                        struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    if (n->nargs == 2 && (strcmp(n->args[1], "off") == 0 || strcmp(n->args[1], "false") == 0))
        return 0;
    return conf_error(
        b->R, n->file, n->line,
        "only \"proxy_redirect off\" is supported (Location headers are passed as the "
        "upstream sent them)");
}

/* proxy_buffer_size: the response head's limit (nginx: the buffer the head
 * must fit in, "upstream sent too big header" otherwise). */
static int set_buffer_size(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                           struct conf_scope *s)
{
    int64_t v;
    if (conf_parse_size(n->args[1], &v) < 0 || v < 64 || v > (1 << 24))
        return conf_bad_value(b, n, n->args[1]);
    s->lc->loc.buffer_size = (int)v;
    return 0;
}

/* proxy_buffers NUMBER SIZE (nginx: at least 2 buffers). */
static int set_buffers(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                       struct conf_scope *s)
{
    (void)cmd;
    int num;
    int64_t v;
    if (conf_parse_int(n->args[1], &num) < 0 || num < 2 || num > 1 << 20)
        return conf_bad_value(b, n, n->args[1]);
    if (conf_parse_size(n->args[2], &v) < 0 || v < 1 || v > (1 << 24))
        return conf_bad_value(b, n, n->args[2]);
    s->lc->loc.buffers_num = num;
    s->lc->loc.buffers_size = (int)v;
    return 0;
}

/* A size into an int field (proxy_busy_buffers_size, proxy_temp_file_write_size). */
static int set_int_size(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                        struct conf_scope *s)
{
    int64_t v;
    if (conf_parse_size(n->args[1], &v) < 0 || v < 1 || v > (1 << 30))
        return conf_bad_value(b, n, n->args[1]);
    if (cmd->off == LOC_OFF(busy_buffers_size))
        s->lc->loc.busy_buffers_size = (int)v;
    else
        s->lc->loc.temp_file_write_size = (int)v;
    return 0;
}

/* proxy_temp_path PATH [L1 [L2 [L3]]]: relative to the prefix; levels of 1
 * or 2 hex digits of the file name, as nginx's. */
static int set_temp_path(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                         struct conf_scope *s)
{
    (void)cmd;
    struct cf_loc *l = &s->lc->loc;
    memset(l->temp_levels, 0, sizeof(l->temp_levels));
    for (int i = 2; i < n->nargs; i++) {
        int v;
        if (conf_parse_int(n->args[i], &v) < 0 || v < 1 || v > 2)
            return conf_bad_value(b, n, n->args[i]);
        l->temp_levels[i - 2] = v;
    }
    const char *p = n->args[1];
    l->temp_path = p[0] == '/' ? conf_strdup(b->R->A, p) : conf_prefixed(b, p);
    if (!l->temp_path)
        return conf_oom(b->R);
    size_t k = strlen(l->temp_path);
    while (k > 1 && l->temp_path[k - 1] == '/')
        l->temp_path[--k] = 0;
    return 0;
}

/* proxy_ignore_headers NAME...: nginx's names; X-Accel-Buffering is the one
 * that changes what we do (the others concern caching and X-Accel-*
 * features we do not have, whose headers are never passed on). */
static int set_ignore_headers(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                              struct conf_scope *s)
{
    (void)cmd;
    static const char *const known[] = {
        "X-Accel-Redirect",  "X-Accel-Expires", "X-Accel-Limit-Rate",
        "X-Accel-Buffering", "X-Accel-Charset", "Expires",
        "Cache-Control",     "Set-Cookie",      "Vary",
    };
    int v = 0;
    for (int i = 1; i < n->nargs; i++) {
        size_t k = 0;
        while (k < sizeof(known) / sizeof(known[0]) && strcasecmp(known[k], n->args[i]) != 0)
            k++;
        if (k == sizeof(known) / sizeof(known[0]))
            return conf_bad_value(b, n, n->args[i]);
        if (strcasecmp(n->args[i], "X-Accel-Buffering") == 0)
            v |= CF_IGN_X_ACCEL_BUFFERING;
    }
    s->lc->loc.ignore_headers = v;
    return 0;
}

/* nginx's defaults and checks of the buffer sizes together
 * (ngx_http_proxy_merge_loc_conf), those not tied to proxy_buffer_size (ours
 * is not one of the buffers): busy and write sizes default to two buffers. */
static int check_buffers(struct conf_build *b, struct cf_loc *l, const char *pfx)
{
    const char *f = l->where.file ? l->where.file : "?";
    if (l->busy_buffers_size == 0)
        l->busy_buffers_size = 2 * l->buffers_size;
    if (l->temp_file_write_size == 0)
        l->temp_file_write_size = 2 * l->buffers_size;
    if (l->busy_buffers_size < l->buffers_size)
        return conf_error(b->R, f, l->where.line,
                          "\"%sbusy_buffers_size\" must be equal to or greater than the size of "
                          "one of the \"%sbuffers\"",
                          pfx, pfx);
    if (l->busy_buffers_size > (int64_t)(l->buffers_num - 1) * l->buffers_size)
        return conf_error(b->R, f, l->where.line,
                          "\"%sbusy_buffers_size\" must be less than the size of all "
                          "\"%sbuffers\" minus one buffer",
                          pfx, pfx);
    if (l->temp_file_write_size < l->buffers_size)
        return conf_error(b->R, f, l->where.line,
                          "\"%stemp_file_write_size\" must be equal to or greater than the size "
                          "of one of the \"%sbuffers\"",
                          pfx, pfx);
    if (l->max_temp_file_size != 0 && l->max_temp_file_size < l->buffers_size)
        return conf_error(b->R, f, l->where.line,
                          "\"%smax_temp_file_size\" must be equal to zero to disable temporary "
                          "files usage or must be equal to or greater than the size of one of the "
                          "\"%sbuffers\"",
                          pfx, pfx);
    return 0;
}

static int set_http_version(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                            struct conf_scope *s)
{
    int v;
    if (strcmp(n->args[1], "1.0") == 0)
        v = 10;
    else if (strcmp(n->args[1], "1.1") == 0)
        v = 11;
    else
        return conf_error(b->R, n->file, n->line,
                          "invalid value \"%s\" in \"%s\" directive, it must be \"1.0\" or \"1.1\"",
                          n->args[1], CONF_NAME(n));
    s->lc->loc.proxy_http_version = v;
    return 0;
}

static int set_next_upstream(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                             struct conf_scope *s)
{
    static const struct {
        const char *name;
        int flag;
    } f[] = {{"error", CF_NEXT_ERROR},
             {"timeout", CF_NEXT_TIMEOUT},
             {"invalid_header", CF_NEXT_INVALID_HEADER},
             {"http_500", CF_NEXT_HTTP_500},
             {"http_502", CF_NEXT_HTTP_502},
             {"http_503", CF_NEXT_HTTP_503},
             {"http_504", CF_NEXT_HTTP_504},
             {"http_429", CF_NEXT_HTTP_429},
             {"http_403", CF_NEXT_HTTP_403},
             {"http_404", CF_NEXT_HTTP_404},
             {"non_idempotent", CF_NEXT_NON_IDEMPOTENT},
             {"off", CF_NEXT_OFF}};
    int v = 0;
    for (int i = 1; i < n->nargs; i++) {
        size_t k = 0;
        while (k < sizeof(f) / sizeof(f[0]) && strcmp(f[k].name, n->args[i]) != 0)
            k++;
        if (k == sizeof(f) / sizeof(f[0]))
            return conf_bad_value(b, n, n->args[i]);
        if (v & f[k].flag)
            return conf_error(b->R, n->file, n->line, "duplicate value \"%s\" in \"%s\" directive",
                              n->args[i], CONF_NAME(n));
        v |= f[k].flag;
    }
    if ((v & CF_NEXT_OFF) && v != CF_NEXT_OFF)
        return conf_error(b->R, n->file, n->line,
                          "\"off\" cannot be combined with other values in \"%s\" directive",
                          CONF_NAME(n));
    s->lc->loc.next_upstream = v;
    return 0;
}

static int set_pass(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                    struct conf_scope *s)
{
    struct loc_conf *lc = s->lc;
    (void)cmd;
    bool uwsgi = strcmp(CONF_NAME(n), "uwsgi_pass") == 0;
    const char *a = n->args[1];
    if (strchr(a, '$'))
        return conf_error(b->R, n->file, n->line, "variables in \"%s\" are not supported",
                          CONF_NAME(n));
    const char *t = a;
    if (!uwsgi) {
        if (strncmp(a, "http://", 7) == 0)
            t = a + 7;
        else if (strncmp(a, "https://", 8) == 0)
            return conf_error(b->R, n->file, n->line, "https upstreams are not supported");
        else
            return conf_error(b->R, n->file, n->line, "invalid URL prefix in \"%s\"", a);
    } else if (strncmp(a, "uwsgi://", 8) == 0) {
        t = a + 8;
    } else if (strncmp(a, "suwsgi://", 9) == 0) {
        return conf_error(b->R, n->file, n->line, "suwsgi is not supported");
    }
    /* split host from URI: "unix:/path:/uri", "host:port/uri" */
    const char *uri, *host_end;
    if (strncmp(t, "unix:", 5) == 0) {
        host_end = strchr(t + 5, ':');
        uri = host_end ? host_end + 1 : NULL;
    } else {
        host_end = uri = strchr(t, '/');
    }
    if (host_end) {
        size_t hl = (size_t)(host_end - t);
        char *h = conf_alloc(b->R->A, hl + 1);
        if (!h)
            return conf_oom(b->R);
        memcpy(h, t, hl);
        t = h;
    }
    if (!*t)
        return conf_error(b->R, n->file, n->line, "no host in \"%s\"", a);
    if (uri && uwsgi)
        return conf_error(b->R, n->file, n->line, "invalid host in \"%s\"", a);
    lc->pass = (struct pass_target){t, uri, uwsgi, n};
    return 0;
}

static int has_header(const struct cf_header *h, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return 1;
    return 0;
}

/* Resolves proxy_pass / uwsgi_pass and adds nginx's default proxy headers. */
int conf_proxy_finish(struct conf_build *b, struct loc_conf *lc)
{
    struct cf_loc *l = &lc->loc;
    struct pass_target *ps = &lc->pass;
    struct conf_node *n = ps->n;
    struct cf_upstream *u = conf_upstream_find(b, ps->target);
    if (!u) {
        u = conf_upstream_new(b, ps->target, n);
        if (!u)
            return -1;
        u->implicit = true;
        if (conf_upstream_add_peers(b, n, u, ps->target, NULL) < 0)
            return -1;
    }
    l->upstream = u;
    l->handler = ps->uwsgi ? CF_H_UWSGI : CF_H_PROXY;
    l->content = h_find(ps->uwsgi ? "uwsgi_pass" : "proxy_pass");
    if (ps->uri && !(l->pass_uri = conf_strdup(b->R->A, ps->uri)))
        return conf_oom(b->R);
    if (strncmp(ps->target, "unix:", 5) == 0) {
        l->proxy_host = "localhost";
    } else {
        l->proxy_host = conf_strdup(b->R->A, ps->target);
        size_t hl = l->proxy_host ? strlen(l->proxy_host) : 0;
        if (hl > 3 && strcmp(l->proxy_host + hl - 3, ":80") == 0)
            l->proxy_host[hl - 3] = 0;
    }
    if (!l->proxy_host)
        return conf_oom(b->R);
    if (check_buffers(b, l, ps->uwsgi ? "uwsgi_" : "proxy_") < 0)
        return -1;
    /* nginx's default temp paths, under the prefix */
    if (!l->temp_path &&
        !(l->temp_path = conf_prefixed(b, ps->uwsgi ? "uwsgi_temp" : "proxy_temp")))
        return conf_oom(b->R);
    if (ps->uwsgi)
        return 0;
    int n0 = l->nproxy_headers;
    bool host = has_header(l->proxy_headers, n0, "Host");
    bool conn = has_header(l->proxy_headers, n0, "Connection");
    if (host && conn)
        return 0;
    struct cf_header *h = conf_alloc(b->R->A, (size_t)(n0 + 2) * sizeof(*h));
    if (!h)
        return conf_oom(b->R);
    int k = 0;
    if (!host)
        h[k++] = (struct cf_header){"Host", b->t_proxy_host, false, false};
    if (!conn)
        h[k++] = (struct cf_header){"Connection", b->t_close, false, false};
    if (n0)
        memcpy(h + k, l->proxy_headers, (size_t)n0 * sizeof(*h));
    l->proxy_headers = h;
    l->nproxy_headers = n0 + k;
    return 0;
}

/* proxy_X and uwsgi_X set the same field: a location runs only one of the
 * two handlers, so the pair counts as one setting ("is duplicate"). */
#define BOTH(sfx, M, ...) M("proxy_" sfx, __VA_ARGS__), M("uwsgi_" sfx, __VA_ARGS__)
#define PASS(nm, unused)  CONF_ONCE_CMD(nm, CONF_LOC, 1, 1, set_pass, CONF_ST_LOC, 0, F_PASS)

static const struct conf_cmd cmds[] = {
    BOTH("pass", PASS, 0),
    CONF_LOC_LIST("proxy_set_header", 2, 2, conf_set_header, F_PROXY_HEADERS),
    CONF_LOC_LIST("uwsgi_param", 2, 3, conf_set_header, F_UWSGI_PARAMS),
    BOTH("temp_path", CONF_LOC, 1, 4, set_temp_path, temp_path, F_TEMP_PATH),
    CONF_CMD("proxy_redirect", CONF_HSL, 1, 2, set_redirect),
    CONF_LOC("proxy_http_version", 1, 1, set_http_version, proxy_http_version, F_HTTP_VERSION),
    BOTH("connect_timeout", CONF_LOC, 1, 1, conf_set_msec, connect_timeout_ms, F_CONNECT_TO),
    BOTH("send_timeout", CONF_LOC, 1, 1, conf_set_msec, proxy_send_timeout_ms, F_PSEND_TO),
    BOTH("read_timeout", CONF_LOC, 1, 1, conf_set_msec, read_timeout_ms, F_READ_TO),
    BOTH("buffering", CONF_LOC, 1, 1, conf_set_flag, buffering, F_BUFFERING),
    BOTH("buffer_size", CONF_LOC, 1, 1, set_buffer_size, buffer_size, F_BUF_SIZE),
    BOTH("buffers", CONF_LOC, 2, 2, set_buffers, buffers_num, F_BUFFERS),
    BOTH("busy_buffers_size", CONF_LOC, 1, 1, set_int_size, busy_buffers_size, F_BUSY_SIZE),
    BOTH("max_temp_file_size", CONF_LOC, 1, 1, conf_set_size, max_temp_file_size, F_MAX_TEMP),
    BOTH("temp_file_write_size", CONF_LOC, 1, 1, set_int_size, temp_file_write_size, F_TEMP_WRITE),
    BOTH("ignore_headers", CONF_LOC, 1, -1, set_ignore_headers, ignore_headers, F_IGNORE_HDRS),
    BOTH("next_upstream", CONF_LOC, 1, -1, set_next_upstream, next_upstream, F_NEXT_UP),
    BOTH("next_upstream_tries", CONF_LOC, 1, 1, conf_set_int, next_upstream_tries, F_NEXT_TRIES),
    BOTH("next_upstream_timeout", CONF_LOC, 1, 1, conf_set_msec, next_upstream_timeout_ms,
         F_NEXT_TO),
};

const struct conf_cmds conf_proxy_cmds = CONF_CMDS(cmds);
