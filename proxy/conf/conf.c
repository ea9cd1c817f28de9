/* conf: nginx configuration syntax into the typed tree (see conf.h).
 *
 * Two passes.  The reader turns files into a tree of generic nodes
 * (directive words, the line of its terminator, its block), expanding
 * `include` as it goes.  The builder walks that tree with a table of known
 * directives (contexts, argument counts, a handler each), then merges the
 * inherited location settings (http -> server -> location -> nested
 * location), resolves proxy_pass/uwsgi_pass targets and lays out the final
 * arrays.  Every byte of the result lives in one arena freed by cf_free(),
 * so inherited arrays are simply shared. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handler.h"
#include "lb.h"
#include "vars.h"

/* The balancing table is the balancing engineer's module; until it is linked
 * we accept the policies nginx has. */
#pragma weak lb_find

#define MAX_INCLUDE_DEPTH 16
#define MAX_RESOLVED      16

/* --- arena ------------------------------------------------------------------ */

struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct conf_all { /* what conf_load returns, cf first */
    struct cf_main cf;
    struct chunk *arena;
    struct tmpl **tmpls; /* malloc'd; every compiled template */
    int ntmpls, tmplcap;
};

static void *az(struct conf_all *A, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (!n)
        n = sizeof(max_align_t);
    struct chunk *c = A->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        c = calloc(1, sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->next = A->arena;
        A->arena = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static char *adup(struct conf_all *A, const char *s)
{
    size_t n = strlen(s);
    char *p = az(A, n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* Makes room for element n of an array of `n` elements: the capacity doubles
 * at powers of two, so no capacity field is needed. */
static void *agrow(struct conf_all *A, void *arr, int n, size_t size)
{
    if (n > 0 && (n & (n - 1)) != 0)
        return arr;
    size_t cap = n ? (size_t)n * 2 : 2;
    void *p = az(A, cap * size);
    if (p && n)
        memcpy(p, arr, (size_t)n * size);
    return p;
}

#define PUSH(A, arr, n)                                                                            \
    ((arr) = agrow((A), (arr), (n), sizeof(*(arr))), (arr) ? &(arr)[(n)++] : NULL)

/* --- the reader: files into generic nodes ---------------------------------- */

struct node {
    char **args; /* args[0] is the directive name */
    int nargs;
    const char *file;
    int line;
    bool block;
    struct node *kids;
    int nkids;
};

struct P { /* load state */
    struct conf_all *A;
    char *err;
    size_t errlen;
    const char *prefix;
    const char *conf_dir; /* includes are relative to it */
    int depth;
    bool failed_oom;
};

static int perr(struct P *P, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(struct P *P, const char *file, int line, const char *fmt, ...)
{
    int n = snprintf(P->err, P->errlen, "%s:%d: ", file, line);
    if (n < 0 || (size_t)n >= P->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err + n, P->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(struct P *P)
{
    snprintf(P->err, P->errlen, "out of memory");
    return -1;
}

struct lex {
    const char *p, *end;
    const char *file;
    int line;
};

enum tok { T_WORD, T_SEMI, T_LBRACE, T_RBRACE, T_EOF, T_ERR };

/* Reads one token as nginx's ngx_conf_read_token does.  A word's value (with
 * \" \' \\ \t \r \n escapes applied) goes to *word (arena). */
static enum tok lex_next(struct P *P, struct lex *L, char **word)
{
    for (;;) { /* whitespace and comments */
        if (L->p >= L->end)
            return T_EOF;
        char ch = *L->p;
        if (ch == '\n') {
            L->line++;
            L->p++;
        } else if (ch == ' ' || ch == '\t' || ch == '\r') {
            L->p++;
        } else if (ch == '#') {
            while (L->p < L->end && *L->p != '\n')
                L->p++;
        } else {
            break;
        }
    }
    char ch = *L->p;
    if (ch == ';' || ch == '{' || ch == '}') {
        L->p++;
        return ch == ';' ? T_SEMI : ch == '{' ? T_LBRACE : T_RBRACE;
    }
    const char *start = L->p;
    const char *s, *e;
    if (ch == '"' || ch == '\'') {
        char q = ch;
        L->p++;
        s = L->p;
        for (;;) {
            if (L->p >= L->end) {
                perr(P, L->file, L->line, "unexpected end of file, expecting \"%c\"", q);
                return T_ERR;
            }
            if (*L->p == '\\' && L->p + 1 < L->end) {
                if (L->p[1] == '\n')
                    L->line++;
                L->p += 2;
                continue;
            }
            if (*L->p == '\n')
                L->line++;
            if (*L->p == q)
                break;
            L->p++;
        }
        e = L->p++;
        if (L->p < L->end && !strchr(" \t\r\n;{", *L->p)) {
            perr(P, L->file, L->line, "unexpected \"%c\"", *L->p);
            return T_ERR;
        }
    } else {
        bool var = false;
        while (L->p < L->end) {
            ch = *L->p;
            if (ch == '{' && var) {
                L->p++;
                continue;
            }
            var = false;
            if (ch == '\\' && L->p + 1 < L->end) {
                L->p += 2;
                continue;
            }
            if (ch == '$')
                var = true;
            if (strchr(" \t\r\n;{", ch))
                break;
            L->p++;
        }
        s = start;
        e = L->p;
    }
    char *w = az(P->A, (size_t)(e - s) + 1);
    if (!w) {
        oom(P);
        return T_ERR;
    }
    size_t n = 0;
    for (const char *c = s; c < e; c++) {
        if (*c == '\\' && c + 1 < e) {
            char x = c[1];
            if (x == '"' || x == '\'' || x == '\\') {
                w[n++] = x;
                c++;
                continue;
            }
            if (x == 't' || x == 'r' || x == 'n') {
                w[n++] = x == 't' ? '\t' : x == 'r' ? '\r' : '\n';
                c++;
                continue;
            }
        }
        w[n++] = *c;
    }
    w[n] = 0;
    *word = w;
    return T_WORD;
}

static int read_text(struct P *P, const char *file, const char *text, size_t len,
                     struct node **kids, int *nkids);

static int read_file(struct P *P, const char *path, const char *from_file, int from_line,
                     struct node **kids, int *nkids)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : EISDIR;
        if (fd >= 0)
            close(fd);
        if (from_file)
            return perr(P, from_file, from_line, "open() \"%s\" failed (%d: %s)", path, e,
                        strerror(e));
        snprintf(P->err, P->errlen, "open() \"%s\" failed (%d: %s)", path, e, strerror(e));
        return -1;
    }
    char *text = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (text && got < (size_t)st.st_size) {
        ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!text)
        return oom(P);
    const char *fname = adup(P->A, path);
    int rc = fname ? read_text(P, fname, text, got, kids, nkids) : oom(P);
    free(text);
    return rc;
}

static char *full_path(struct P *P, const char *base, const char *path)
{
    if (path[0] == '/' || !base || !*base)
        return adup(P->A, path);
    size_t bl = strlen(base), pl = strlen(path);
    char *p = az(P->A, bl + pl + 2);
    if (!p)
        return NULL;
    memcpy(p, base, bl);
    size_t n = bl;
    if (n && p[n - 1] != '/')
        p[n++] = '/';
    memcpy(p + n, path, pl + 1);
    return p;
}

static int do_include(struct P *P, struct node *n, struct node **kids, int *nkids)
{
    if (n->nargs != 2)
        return perr(P, n->file, n->line, "invalid number of arguments in \"include\" directive");
    if (P->depth >= MAX_INCLUDE_DEPTH)
        return perr(P, n->file, n->line, "too deep includes (%d levels)", MAX_INCLUDE_DEPTH);
    char *pat = full_path(P, P->conf_dir, n->args[1]);
    if (!pat)
        return oom(P);
    P->depth++;
    int rc = 0;
    if (!strpbrk(pat, "*?[")) {
        rc = read_file(P, pat, n->file, n->line, kids, nkids);
    } else {
        glob_t g;
        int gr = glob(pat, 0, NULL, &g);
        if (gr != 0 && gr != GLOB_NOMATCH) {
            rc = perr(P, n->file, n->line, "glob() \"%s\" failed", pat);
        } else if (gr == 0) {
            for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
                rc = read_file(P, g.gl_pathv[i], n->file, n->line, kids, nkids);
        }
        if (gr == 0)
            globfree(&g);
    }
    P->depth--;
    return rc;
}

/* Reads statements until the block's `}` (inblock) or the end of input. */
static int read_block(struct P *P, struct lex *L, bool inblock, struct node **kids, int *nkids)
{
    char **args = NULL;
    int nargs = 0;
    for (;;) {
        char *w = NULL;
        enum tok t = lex_next(P, L, &w);
        switch (t) {
        case T_ERR:
            return -1;
        case T_WORD: {
            char **slot = PUSH(P->A, args, nargs);
            if (!slot)
                return oom(P);
            *slot = w;
            break;
        }
        case T_SEMI:
        case T_LBRACE: {
            if (nargs == 0)
                return perr(P, L->file, L->line, "unexpected \"%c\"", t == T_SEMI ? ';' : '{');
            struct node n = {args, nargs, L->file, L->line, t == T_LBRACE, NULL, 0};
            if (n.block && read_block(P, L, true, &n.kids, &n.nkids) < 0)
                return -1;
            if (!n.block && strcmp(args[0], "include") == 0) {
                if (do_include(P, &n, kids, nkids) < 0)
                    return -1;
            } else {
                struct node *slot = PUSH(P->A, *kids, *nkids);
                if (!slot)
                    return oom(P);
                *slot = n;
            }
            args = NULL;
            nargs = 0;
            break;
        }
        case T_RBRACE:
            if (nargs > 0 || !inblock)
                return perr(P, L->file, L->line, "unexpected \"}\"");
            return 0;
        case T_EOF:
            if (nargs > 0)
                return perr(P, L->file, L->line,
                            "unexpected end of file, expecting \";\" or \"}\"");
            if (inblock)
                return perr(P, L->file, L->line, "unexpected end of file, expecting \"}\"");
            return 0;
        }
    }
}

static int read_text(struct P *P, const char *file, const char *text, size_t len,
                     struct node **kids, int *nkids)
{
    struct lex L = {text, text + len, file, 1};
    return read_block(P, &L, false, kids, nkids);
}

/* --- values ------------------------------------------------------------------ */

int conf_parse_size(const char *s, int64_t *out)
{
    if (!*s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno)
        return -1;
    int64_t mul = 1;
    if (*end) {
        switch (*end) {
        case 'k':
        case 'K':
            mul = 1024;
            break;
        case 'm':
        case 'M':
            mul = 1024 * 1024;
            break;
        case 'g':
        case 'G':
            mul = 1024LL * 1024 * 1024;
            break;
        default:
            return -1;
        }
        if (end[1])
            return -1;
    }
    if (v > INT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

/* nginx's time syntax ("1h 30m", "500ms", "30d") in milliseconds, at most max. */
static int parse_time_ms(const char *s, int64_t max, int64_t *out)
{
    int64_t total = 0;
    bool any = false;
    const char *p = s;
    while (*p) {
        if (*p == ' ') {
            p++;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            return -1;
        int64_t v = 0;
        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (*p++ - '0');
            if (v > INT32_MAX)
                return -1;
        }
        int64_t mul = 1000;
        if (p[0] == 'm' && p[1] == 's') {
            mul = 1;
            p += 2;
        } else if (*p && *p != ' ') {
            switch (*p) {
            case 's':
                mul = 1000;
                break;
            case 'm':
                mul = 60000;
                break;
            case 'h':
                mul = 3600000;
                break;
            case 'd':
                mul = 86400000;
                break;
            case 'w':
                mul = 7LL * 86400000;
                break;
            case 'M':
                mul = 30LL * 86400000;
                break;
            case 'y':
                mul = 365LL * 86400000;
                break;
            default:
                return -1;
            }
            p++;
        }
        total += v * mul;
        if (total > max)
            return -1;
        any = true;
    }
    if (!any)
        return -1;
    *out = total;
    return 0;
}

int conf_parse_msec(const char *s, int64_t *out)
{
    return parse_time_ms(s, INT32_MAX, out);
}

/* --- the builder's state ------------------------------------------------------ */

enum { /* contexts */
       C_MAIN = 1,
       C_EVENTS = 2,
       C_HTTP = 4,
       C_SRV = 8,
       C_LOC = 16,
       C_UPS = 32,
       C_HSL = C_HTTP | C_SRV | C_LOC,
};

enum { /* the location settings' "set here" bits */
       F_PROXY_HEADERS,
       F_UWSGI_PARAMS,
       F_HTTP_VERSION,
       F_CONNECT_TO,
       F_PSEND_TO,
       F_READ_TO,
       F_BUFFERING,
       F_NEXT_UP,
       F_NEXT_TRIES,
       F_NEXT_TO,
       F_BUF_SIZE,
       F_ROOT,
       F_ALIAS,
       F_INDEX,
       F_ADD_HEADERS,
       F_TOKENS,
       F_TIMING,
       F_MAX_BODY,
       F_BODY_TO,
       F_SEND_TO,
       F_KA_TO,
       F_KA_REQ,
       F_ACCESS_LOG,
       F_TYPES,
       F_DEFAULT_TYPE,
       F_EXPIRES,
       F_HDR_TO,
       F_LHB,
       F_RETURN,
       F_PASS,
       F_STATUS,
};

struct lconf; /* location-level settings while building */
struct sconf;

struct pass {           /* proxy_pass / uwsgi_pass as written */
    const char *target; /* after the scheme, before the URI */
    const char *uri;
    bool uwsgi;
    struct node *n;
};

struct lconf {
    struct cf_loc loc;
    uint64_t set;
    struct lconf *parent; /* NULL for http */
    struct sconf *srv;
    struct pass pass;
    int hdr_to;          /* client_header_timeout */
    int lhb_n, lhb_size; /* large_client_header_buffers */
    bool access_off;
    struct cf_types *types_build; /* types { } being filled */
};

struct sconf {
    struct lconf *def;
    struct lconf **locs; /* every location, nested ones too */
    int nlocs;
    struct cf_listen *listens;
    int nlistens;
    char **names;
    int nnames;
    bool has_names;
    struct node *n;
};

struct B { /* builder */
    struct P *P;
    struct cf_main *cf;
    struct lconf *http;
    struct sconf **srvs;
    int nsrvs;
    struct cf_upstream **ups;
    int nups;
    bool seen_events, seen_http, seen_wp, seen_wc, seen_yield, seen_multi_accept, seen_pid,
        seen_err, seen_resolver;
    bool seen_daemon, seen_master, seen_user;
    int tmpl_host, dummy;
    struct tmpl *t_proxy_host, *t_close;
};

struct scope {
    int ctx;
    struct lconf *lc;
    struct sconf *sc;
    struct cf_upstream *up;
    bool up_keepalive_set, up_kto_set, up_kreq_set, up_hc_set, up_policy_set;
};

struct dir;
typedef int (*dir_fn)(struct B *b, const struct dir *d, struct node *n, struct scope *s);

struct dir {
    const char *name;
    int ctx;
    int min, max; /* argument counts, directive name excluded; max -1 = any */
    bool block;
    dir_fn fn;
    size_t off; /* for the generic setters: offset in struct cf_loc */
    int field;  /* F_* for location settings, -1 otherwise */
};

#define NAME(n) ((n)->args[0])

static int bad_value(struct B *b, struct node *n, const char *v)
{
    return perr(b->P, n->file, n->line, "invalid value \"%s\" in \"%s\" directive", v, NAME(n));
}

static int dup_dir(struct B *b, struct node *n)
{
    return perr(b->P, n->file, n->line, "\"%s\" directive is duplicate", NAME(n));
}

static struct tmpl *compile(struct B *b, struct node *n, const char *src)
{
    char e[256];
    struct tmpl *t = tmpl_compile(src, e, sizeof(e));
    if (!t) {
        if (n)
            perr(b->P, n->file, n->line, "%s", e);
        else
            snprintf(b->P->err, b->P->errlen, "%s", e);
        return NULL;
    }
    struct conf_all *A = b->P->A;
    if (A->ntmpls == A->tmplcap) {
        int cap = A->tmplcap ? A->tmplcap * 2 : 16;
        struct tmpl **p = realloc(A->tmpls, (size_t)cap * sizeof(*p));
        if (!p) {
            tmpl_free(t);
            oom(b->P);
            return NULL;
        }
        A->tmpls = p;
        A->tmplcap = cap;
    }
    A->tmpls[A->ntmpls++] = t;
    return t;
}

/* Marks a location setting as set at this level; -1 when it already was. */
static int mark(struct B *b, struct node *n, struct scope *s, int field)
{
    uint64_t bit = 1ULL << field;
    if (s->lc->set & bit)
        return dup_dir(b, n);
    s->lc->set |= bit;
    return 0;
}

static char *prefixed(struct B *b, const char *path)
{
    return full_path(b->P, b->P->prefix, path);
}

/* --- generic setters ----------------------------------------------------------- */

static int d_msec(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    int64_t v;
    if (conf_parse_msec(n->args[1], &v) < 0)
        return bad_value(b, n, n->args[1]);
    if (mark(b, n, s, d->field) < 0)
        return -1;
    if (d->field == F_HDR_TO)
        s->lc->hdr_to = (int)v;
    else
        *(int *)((char *)&s->lc->loc + d->off) = (int)v;
    return 0;
}

static int d_flag(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    bool v;
    if (strcmp(n->args[1], "on") == 0)
        v = true;
    else if (strcmp(n->args[1], "off") == 0)
        v = false;
    else
        return perr(b->P, n->file, n->line,
                    "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
                    n->args[1], NAME(n));
    if (mark(b, n, s, d->field) < 0)
        return -1;
    *(bool *)((char *)&s->lc->loc + d->off) = v;
    return 0;
}

static int parse_int(const char *s, int *out)
{
    if (!*s)
        return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
        if (v > INT32_MAX)
            return -1;
    }
    *out = (int)v;
    return 0;
}

static int d_int(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    int v;
    if (parse_int(n->args[1], &v) < 0)
        return bad_value(b, n, n->args[1]);
    if (mark(b, n, s, d->field) < 0)
        return -1;
    *(int *)((char *)&s->lc->loc + d->off) = v;
    return 0;
}

/* Harmless directives accepted with nginx's meaning (see conf.h). */
static int d_ignore_flag(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (strcmp(n->args[1], "on") != 0 && strcmp(n->args[1], "off") != 0)
        return perr(b->P, n->file, n->line,
                    "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
                    n->args[1], NAME(n));
    return 0;
}

/* An on|off directive whose only supported value, off, is what we always
 * do; `on` is refused with `why`. */
static int only_off(struct B *b, const struct dir *d, struct node *n, struct scope *s,
                    const char *why)
{
    if (d_ignore_flag(b, d, n, s) < 0)
        return -1;
    if (strcmp(n->args[1], "off") != 0)
        return perr(b->P, n->file, n->line, "\"%s on\" is not supported (%s)", NAME(n), why);
    return 0;
}

/* proxy_request_buffering / uwsgi_request_buffering */
static int d_only_off(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    return only_off(b, d, n, s, "request bodies are always streamed");
}

/* expires off | epoch | max | [+|-]TIME, as nginx's (the `modified` and
 * `@time-of-day` forms are refused). */
static int d_expires(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    const char *v = n->args[1];
    if (n->nargs == 3 || strcmp(v, "modified") == 0)
        return perr(b->P, n->file, n->line, "\"expires modified\" is not supported");
    if (v[0] == '@')
        return perr(b->P, n->file, n->line, "\"expires @time\" is not supported");
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
        if (parse_time_ms(v + (neg || v[0] == '+'), 100LL * 365 * 86400000, &ms) < 0 ||
            ms % 1000 != 0)
            return bad_value(b, n, v);
        secs = neg ? -ms / 1000 : ms / 1000;
    }
    if (mark(b, n, s, d->field) < 0)
        return -1;
    s->lc->loc.expires = mode;
    s->lc->loc.expires_s = secs;
    return 0;
}

/* gzip: responses are sent as the upstream or the file has them. */
static int d_gzip(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    return only_off(b, d, n, s, "responses are sent uncompressed");
}

/* proxy_redirect: we never rewrite Location or Refresh, which is what
 * `proxy_redirect off` asks for; nginx's default (rewriting the proxy_pass
 * URL into the client's) and explicit rewrites are not supported. */
static int d_redirect(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (n->nargs == 2 && (strcmp(n->args[1], "off") == 0 || strcmp(n->args[1], "false") == 0))
        return 0;
    return perr(b->P, n->file, n->line,
                "only \"proxy_redirect off\" is supported (Location headers are passed as the "
                "upstream sent them)");
}

/* client_body_temp_path / proxy_temp_path / uwsgi_temp_path PATH [L1 [L2
 * [L3]]]: accepted without effect, nothing is buffered to disk. */
static int d_temp_path(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    for (int i = 2; i < n->nargs; i++) {
        int v;
        if (parse_int(n->args[i], &v) < 0 || v < 1 || v > 2)
            return bad_value(b, n, n->args[i]);
    }
    return 0;
}

/* --- main and events ------------------------------------------------------------- */

static int d_worker_processes(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (b->seen_wp)
        return dup_dir(b, n);
    b->seen_wp = true;
    if (strcmp(n->args[1], "auto") == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        b->cf->worker_processes = c > 0 ? (int)c : 1;
        return 0;
    }
    int v;
    if (parse_int(n->args[1], &v) < 0 || v < 1 || v > 1024)
        return perr(b->P, n->file, n->line,
                    "invalid value \"%s\" in \"worker_processes\" directive", n->args[1]);
    b->cf->worker_processes = v;
    return 0;
}

static int d_pid(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (b->seen_pid)
        return dup_dir(b, n);
    b->seen_pid = true;
    b->cf->pid_file = prefixed(b, n->args[1]);
    return b->cf->pid_file ? 0 : oom(b->P);
}

static int d_error_log(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (b->seen_err)
        return perr(b->P, n->file, n->line,
                    "\"error_log\" directive is duplicate (one error log is supported, in the "
                    "main or the http context)");
    b->seen_err = true;
    const char *p = n->args[1];
    if (strncmp(p, "syslog:", 7) == 0 || strncmp(p, "memory:", 7) == 0)
        return perr(b->P, n->file, n->line, "\"%s\" error logs are not supported", p);
    b->cf->error_log = strcmp(p, "stderr") == 0 ? adup(b->P->A, p) : prefixed(b, p);
    if (!b->cf->error_log)
        return oom(b->P);
    b->cf->error_log_level = LL_ERROR;
    if (n->nargs > 2 && log_level_parse(n->args[2], &b->cf->error_log_level) < 0)
        return perr(b->P, n->file, n->line, "invalid log level \"%s\"", n->args[2]);
    return 0;
}

static int d_daemon(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    bool *seen = strcmp(NAME(n), "daemon") == 0 ? &b->seen_daemon : &b->seen_master;
    if (*seen)
        return dup_dir(b, n);
    *seen = true;
    if (d_ignore_flag(b, d, n, s) < 0)
        return -1;
    bool want = strcmp(NAME(n), "daemon") == 0 ? false : true;
    if ((strcmp(n->args[1], "on") == 0) != want)
        return perr(b->P, n->file, n->line, "\"%s %s\" is not supported (the proxy %s)", NAME(n),
                    n->args[1], want ? "always runs a master process" : "stays in the foreground");
    return 0;
}

static int d_user(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (b->seen_user)
        return dup_dir(b, n);
    b->seen_user = true;
    /* accepted, without effect: workers keep the master's user (see conf.h) */
    return 0; /* nginx ignores it too when not run as root */
}

static int run_block(struct B *b, struct node *n, struct scope *s);

static int d_events(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    if (b->seen_events)
        return dup_dir(b, n);
    b->seen_events = true;
    struct scope in = *s;
    in.ctx = C_EVENTS;
    return run_block(b, n, &in);
}

static int d_worker_connections(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (b->seen_wc)
        return dup_dir(b, n);
    b->seen_wc = true;
    int v;
    if (parse_int(n->args[1], &v) < 0 || v < 1)
        return bad_value(b, n, n->args[1]);
    b->cf->worker_connections = v;
    return 0;
}

/* An events { } on|off directive allowed once: sets *dst. */
static int flag_once(struct B *b, const struct dir *d, struct node *n, struct scope *s, bool *seen,
                     bool *dst)
{
    if (*seen)
        return dup_dir(b, n);
    *seen = true;
    if (d_ignore_flag(b, d, n, s) < 0)
        return -1;
    *dst = strcmp(n->args[1], "on") == 0;
    return 0;
}

static int d_yield(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    return flag_once(b, d, n, s, &b->seen_yield, &b->cf->yield);
}

static int d_multi_accept(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    return flag_once(b, d, n, s, &b->seen_multi_accept, &b->cf->multi_accept);
}

static int d_rlimit_nofile(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (b->cf->worker_rlimit_nofile)
        return dup_dir(b, n);
    int v;
    if (parse_int(n->args[1], &v) < 0 || v < 1)
        return bad_value(b, n, n->args[1]);
    b->cf->worker_rlimit_nofile = v;
    return 0;
}

/* events { use epoll; }: libevent picks epoll on Linux; other methods are refused. */
static int d_use(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (strcmp(n->args[1], "epoll") != 0)
        return perr(b->P, n->file, n->line, "invalid event type \"%s\" (only \"epoll\")",
                    n->args[1]);
    return 0;
}

static int d_http(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    if (b->seen_http)
        return dup_dir(b, n);
    b->seen_http = true;
    struct scope in = *s;
    in.ctx = C_HTTP;
    in.lc = b->http;
    return run_block(b, n, &in);
}

/* --- http ---------------------------------------------------------------------------- */

static const struct cf_log_format *find_format(struct B *b, const char *name)
{
    for (int i = 0; i < b->cf->nlog_formats; i++)
        if (strcmp(b->cf->log_formats[i]->name, name) == 0)
            return b->cf->log_formats[i];
    return NULL;
}

static int d_log_format(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (find_format(b, n->args[1]))
        return perr(b->P, n->file, n->line, "duplicate \"log_format\" name \"%s\"", n->args[1]);
    int i = 2;
    enum cf_escape esc = CF_ESC_DEFAULT;
    if (strncmp(n->args[i], "escape=", 7) == 0) {
        const char *e = n->args[i] + 7;
        if (strcmp(e, "default") == 0)
            esc = CF_ESC_DEFAULT;
        else if (strcmp(e, "json") == 0)
            esc = CF_ESC_JSON;
        else if (strcmp(e, "none") == 0)
            esc = CF_ESC_NONE;
        else
            return perr(b->P, n->file, n->line, "unknown log format escaping \"%s\"", e);
        i++;
    }
    if (i >= n->nargs)
        return perr(b->P, n->file, n->line,
                    "invalid number of arguments in \"log_format\" directive");
    size_t len = 0;
    for (int k = i; k < n->nargs; k++)
        len += strlen(n->args[k]);
    char *text = az(b->P->A, len + 1);
    struct cf_log_format *f = az(b->P->A, sizeof(*f));
    if (!text || !f)
        return oom(b->P);
    text[0] = 0;
    for (int k = i; k < n->nargs; k++)
        strcat(text, n->args[k]);
    f->name = n->args[1];
    f->escape = esc;
    if (!(f->fmt = compile(b, n, text)))
        return -1;
    struct cf_log_format **slot = PUSH(b->P->A, b->cf->log_formats, b->cf->nlog_formats);
    if (!slot)
        return oom(b->P);
    *slot = f;
    return 0;
}

static int d_access_log(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    struct lconf *lc = s->lc;
    uint64_t bit = 1ULL << F_ACCESS_LOG;
    if (strcmp(n->args[1], "off") == 0) {
        if (n->nargs > 2)
            return perr(b->P, n->file, n->line, "invalid parameter \"%s\"", n->args[2]);
        lc->set |= bit;
        lc->access_off = true;
        return 0;
    }
    const char *p = n->args[1];
    if (strncmp(p, "syslog:", 7) == 0)
        return perr(b->P, n->file, n->line, "syslog access logs are not supported");
    if (strchr(p, '$'))
        return perr(b->P, n->file, n->line, "variables in access_log paths are not supported");
    const struct cf_log_format *f = NULL;
    if (n->nargs > 2) {
        f = find_format(b, n->args[2]);
        if (!f)
            return perr(b->P, n->file, n->line, "unknown log format \"%s\"", n->args[2]);
    } else {
        f = find_format(b, "combined");
    }
    if (n->nargs > 3)
        return perr(b->P, n->file, n->line,
                    "access_log parameter \"%s\" is not supported (buffer=, flush=, gzip, if=)",
                    n->args[3]);
    lc->set |= bit;
    struct cf_access_log *al = PUSH(b->P->A, lc->loc.access_logs, lc->loc.naccess_logs);
    if (!al)
        return oom(b->P);
    al->path = prefixed(b, p);
    al->format = f;
    al->rt = NULL;
    return al->path ? 0 : oom(b->P);
}

static int d_header(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    struct lconf *lc = s->lc;
    struct cf_header **arr;
    int *cnt;
    if (d->field == F_PROXY_HEADERS) {
        arr = &lc->loc.proxy_headers;
        cnt = &lc->loc.nproxy_headers;
    } else if (d->field == F_UWSGI_PARAMS) {
        arr = &lc->loc.uwsgi_params;
        cnt = &lc->loc.nuwsgi_params;
    } else {
        arr = &lc->loc.add_headers;
        cnt = &lc->loc.nadd_headers;
    }
    bool always = false, if_not_empty = false;
    if (n->nargs == 4) {
        if (d->field == F_ADD_HEADERS && strcmp(n->args[3], "always") == 0)
            always = true;
        else if (d->field == F_UWSGI_PARAMS && strcmp(n->args[3], "if_not_empty") == 0)
            if_not_empty = true;
        else
            return perr(b->P, n->file, n->line, "invalid parameter \"%s\"", n->args[3]);
    }
    if (!n->args[1][0] || strpbrk(n->args[1], " \t\r\n:$"))
        return perr(b->P, n->file, n->line, "invalid header name \"%s\" in \"%s\" directive",
                    n->args[1], NAME(n));
    lc->set |= 1ULL << d->field;
    struct cf_header *h = PUSH(b->P->A, *arr, *cnt);
    if (!h)
        return oom(b->P);
    h->name = n->args[1];
    if (d->field == F_UWSGI_PARAMS && strncmp(h->name, "HTTP_", 5) == 0)
        lc->loc.uwsgi_http_params = true;
    h->always = always;
    h->if_not_empty = if_not_empty;
    h->value = compile(b, n, n->args[2]);
    return h->value ? 0 : -1;
}

static int d_size(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    int64_t v;
    if (conf_parse_size(n->args[1], &v) < 0)
        return bad_value(b, n, n->args[1]);
    if (mark(b, n, s, d->field) < 0)
        return -1;
    *(int64_t *)((char *)&s->lc->loc + d->off) = v;
    return 0;
}

/* proxy_buffer_size: the response head's limit (nginx: the buffer the head
 * must fit in, "upstream sent too big header" otherwise). */
static int d_buffer_size(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    int64_t v;
    if (conf_parse_size(n->args[1], &v) < 0 || v < 64 || v > (1 << 24))
        return bad_value(b, n, n->args[1]);
    if (mark(b, n, s, d->field) < 0)
        return -1;
    s->lc->loc.buffer_size = (int)v;
    return 0;
}

/* [NUMBER] SIZE settings checked as nginx reads them, then without effect:
 * proxy_buffers NUMBER SIZE and proxy_busy_buffers_size SIZE (the body is
 * streamed, never buffered), types_hash_* / server_names_hash_* SIZE (the
 * sizes of nginx's lookup tables; ours size themselves). */
static int d_unused_sizes(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    int num = 2;
    int64_t v;
    if (n->nargs == 3 && (parse_int(n->args[1], &num) < 0 || num < 2))
        return bad_value(b, n, n->args[1]);
    if (conf_parse_size(n->args[n->nargs - 1], &v) < 0 || v < 1)
        return bad_value(b, n, n->args[n->nargs - 1]);
    return 0;
}

static int d_lhb(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    int num;
    int64_t size;
    if (parse_int(n->args[1], &num) < 0 || num < 1)
        return bad_value(b, n, n->args[1]);
    if (conf_parse_size(n->args[2], &size) < 0 || size < 64 || size > (1 << 24))
        return bad_value(b, n, n->args[2]);
    if (mark(b, n, s, d->field) < 0)
        return -1;
    s->lc->lhb_n = num;
    s->lc->lhb_size = (int)size;
    return 0;
}

static int d_http_version(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    int v;
    if (strcmp(n->args[1], "1.0") == 0)
        v = 10;
    else if (strcmp(n->args[1], "1.1") == 0)
        v = 11;
    else
        return perr(b->P, n->file, n->line,
                    "invalid value \"%s\" in \"%s\" directive, it must be \"1.0\" or \"1.1\"",
                    n->args[1], NAME(n));
    if (mark(b, n, s, d->field) < 0)
        return -1;
    s->lc->loc.proxy_http_version = v;
    return 0;
}

static int d_next_upstream(struct B *b, const struct dir *d, struct node *n, struct scope *s)
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
            return bad_value(b, n, n->args[i]);
        if (v & f[k].flag)
            return perr(b->P, n->file, n->line, "duplicate value \"%s\" in \"%s\" directive",
                        n->args[i], NAME(n));
        v |= f[k].flag;
    }
    if ((v & CF_NEXT_OFF) && v != CF_NEXT_OFF)
        return perr(b->P, n->file, n->line,
                    "\"off\" cannot be combined with other values in \"%s\" directive", NAME(n));
    if (mark(b, n, s, d->field) < 0)
        return -1;
    s->lc->loc.next_upstream = v;
    return 0;
}

static int d_root(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    struct lconf *lc = s->lc;
    bool alias = strcmp(NAME(n), "alias") == 0;
    if (lc->set & (1ULL << (alias ? F_ROOT : F_ALIAS)))
        return perr(b->P, n->file, n->line,
                    "\"%s\" directive is duplicate, \"%s\" directive was specified earlier",
                    NAME(n), alias ? "root" : "alias");
    if (strchr(n->args[1], '$'))
        return perr(b->P, n->file, n->line, "variables in \"%s\" are not supported", NAME(n));
    if (mark(b, n, s, d->field) < 0)
        return -1;
    char *p = prefixed(b, n->args[1]);
    if (!p)
        return oom(b->P);
    size_t l = strlen(p);
    if (!alias)
        while (l > 1 && p[l - 1] == '/') /* nginx drops a root's trailing slash */
            p[--l] = 0;
    if (alias)
        lc->loc.alias = p;
    else
        lc->loc.root = p;
    return 0;
}

static int d_index(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    for (int i = 1; i < n->nargs; i++) {
        if (!n->args[i][0])
            return perr(b->P, n->file, n->line, "index \"\" in \"index\" directive is invalid");
        if (strchr(n->args[i], '$') || strchr(n->args[i], '/'))
            return perr(b->P, n->file, n->line,
                        "index \"%s\" is not supported (variables or "
                        "paths)",
                        n->args[i]);
    }
    if (mark(b, n, s, d->field) < 0)
        return -1;
    s->lc->loc.index = n->args + 1;
    s->lc->loc.nindex = n->nargs - 1;
    return 0;
}

static int d_default_type(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    if (mark(b, n, s, d->field) < 0)
        return -1;
    s->lc->loc.default_type = n->args[1];
    return 0;
}

static int mime_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cf_mime *)a)->ext, ((const struct cf_mime *)b)->ext);
}

static int d_types(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    struct lconf *lc = s->lc;
    struct conf_all *A = b->P->A;
    struct cf_types *t = (struct cf_types *)lc->loc.types;
    if (!(lc->set & (1ULL << F_TYPES)) || !t) {
        t = az(A, sizeof(*t));
        if (!t)
            return oom(b->P);
        lc->loc.types = t;
        lc->set |= 1ULL << F_TYPES;
    }
    for (int i = 0; i < n->nkids; i++) {
        struct node *k = &n->kids[i];
        if (k->block)
            return perr(b->P, k->file, k->line, "unexpected \"{\"");
        if (k->nargs < 2)
            return perr(b->P, k->file, k->line,
                        "invalid number of arguments in \"types\" "
                        "directive");
        for (int j = 1; j < k->nargs; j++) {
            char *ext = adup(A, k->args[j]);
            if (!ext)
                return oom(b->P);
            for (char *c = ext; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            bool found = false;
            for (int m = 0; m < t->n; m++)
                if (strcmp(t->m[m].ext, ext) == 0) { /* nginx: the later one wins, warns */
                    t->m[m].type = k->args[0];
                    found = true;
                }
            if (found)
                continue;
            struct cf_mime *m = PUSH(A, t->m, t->n);
            if (!m)
                return oom(b->P);
            m->ext = ext;
            m->type = k->args[0];
        }
    }
    if (t->n > 1)
        qsort(t->m, (size_t)t->n, sizeof(*t->m), mime_cmp);
    return 0;
}

static int d_return(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    if (mark(b, n, s, d->field) < 0)
        return -1;
    struct cf_loc *l = &s->lc->loc;
    const char *a = n->args[1];
    int code;
    const char *text = NULL;
    if (parse_int(a, &code) == 0) {
        if (code > 999)
            return perr(b->P, n->file, n->line, "invalid return code \"%s\"", a);
        if (n->nargs > 2)
            text = n->args[2];
    } else {
        if (n->nargs > 2 || (strncmp(a, "http://", 7) != 0 && strncmp(a, "https://", 8) != 0 &&
                             strncmp(a, "$scheme", 7) != 0))
            return perr(b->P, n->file, n->line, "invalid return code \"%s\"", a);
        code = 302;
        text = a;
    }
    l->return_code = code;
    l->return_text = NULL;
    if (text && !(l->return_text = compile(b, n, text)))
        return -1;
    return 0;
}

static int d_resolver(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    if (b->seen_resolver)
        return dup_dir(b, n);
    b->seen_resolver = true;
    b->cf->resolver_valid_ms = 0;
    for (int i = 1; i < n->nargs; i++) {
        const char *a = n->args[i];
        if (strncmp(a, "valid=", 6) == 0) {
            int64_t v;
            if (conf_parse_msec(a + 6, &v) < 0)
                return perr(b->P, n->file, n->line, "invalid parameter \"%s\"", a);
            b->cf->resolver_valid_ms = (int)v;
            continue;
        }
        if (strchr(a, '='))
            return perr(b->P, n->file, n->line, "invalid parameter \"%s\"", a);
        struct addr tmp;
        char e[256];
        if (addr_parse(a, 53, &tmp, e, sizeof(e)) < 0)
            return perr(b->P, n->file, n->line, "invalid resolver address \"%s\": %s", a, e);
        char **slot = PUSH(b->P->A, b->cf->resolvers, b->cf->nresolvers);
        if (!slot)
            return oom(b->P);
        *slot = n->args[i];
    }
    if (!b->cf->nresolvers)
        return perr(b->P, n->file, n->line,
                    "invalid number of arguments in \"resolver\" "
                    "directive");
    return 0;
}

/* --- upstream ---------------------------------------------------------------------------- */

static struct cf_upstream *find_upstream(struct B *b, const char *name)
{
    for (int i = 0; i < b->nups; i++)
        if (strcasecmp(b->ups[i]->name, name) == 0)
            return b->ups[i];
    return NULL;
}

static struct cf_upstream *new_upstream(struct B *b, const char *name, struct node *n)
{
    struct cf_upstream *u = az(b->P->A, sizeof(*u));
    struct cf_upstream **slot = u ? PUSH(b->P->A, b->ups, b->nups) : NULL;
    if (!slot) {
        oom(b->P);
        return NULL;
    }
    *slot = u;
    u->name = adup(b->P->A, name);
    u->lb_name = "round_robin";
    u->keepalive_timeout_ms = 60000;
    u->keepalive_requests = 1000;
    u->where = (struct cf_where){n->file, n->line};
    u->lb_where = u->where;
    return u->name ? u : NULL;
}

static int d_upstream(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    if (find_upstream(b, n->args[1]) && !find_upstream(b, n->args[1])->implicit)
        return perr(b->P, n->file, n->line, "duplicate upstream \"%s\"", n->args[1]);
    struct cf_upstream *u = new_upstream(b, n->args[1], n);
    if (!u)
        return -1;
    struct scope in = *s;
    in.ctx = C_UPS;
    in.up = u;
    in.up_keepalive_set = in.up_kto_set = in.up_kreq_set = in.up_hc_set = false;
    in.up_policy_set = false;
    if (run_block(b, n, &in) < 0)
        return -1;
    if (u->npeers == 0)
        return perr(b->P, n->file, n->line, "no servers are inside upstream");
    return 0;
}

static int add_peers(struct B *b, struct node *n, struct cf_upstream *u, const char *spec,
                     const struct cf_peer *tmpl)
{
    struct addr addrs[MAX_RESOLVED];
    char e[256];
    int na = addr_resolve(spec, 80, addrs, MAX_RESOLVED, e, sizeof(e));
    if (na < 0)
        return perr(b->P, n->file, n->line, "host not found in upstream \"%s\" (%s)", spec, e);
    for (int i = 0; i < na; i++) {
        struct cf_peer *p = PUSH(b->P->A, u->peers, u->npeers);
        if (!p)
            return oom(b->P);
        *p = *tmpl;
        p->addr = addrs[i];
        p->name = adup(b->P->A, spec);
        p->where = (struct cf_where){n->file, n->line};
        if (!p->name)
            return oom(b->P);
    }
    return 0;
}

static int d_ups_server(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    if (n->block)
        return perr(b->P, n->file, n->line, "directive \"server\" is not terminated by \";\"");
    if (n->nargs < 2)
        return perr(b->P, n->file, n->line,
                    "invalid number of arguments in \"server\" "
                    "directive");
    struct cf_peer pt = {.weight = 1, .max_fails = 1, .fail_timeout_ms = 10000};
    for (int i = 2; i < n->nargs; i++) {
        const char *a = n->args[i];
        const char *eq = strchr(a, '=');
        int iv;
        int64_t tv;
        if (strncmp(a, "weight=", 7) == 0) {
            if (parse_int(eq + 1, &iv) < 0 || iv < 1)
                goto bad;
            pt.weight = iv;
        } else if (strncmp(a, "max_fails=", 10) == 0) {
            if (parse_int(eq + 1, &iv) < 0)
                goto bad;
            pt.max_fails = iv;
        } else if (strncmp(a, "max_conns=", 10) == 0) {
            if (parse_int(eq + 1, &iv) < 0)
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
        return perr(b->P, n->file, n->line, "invalid parameter \"%s\"", a);
    }
    if (pt.resolve && b->cf->nresolvers == 0)
        return perr(b->P, n->file, n->line,
                    "no resolver defined to resolve \"%s\" (the \"resolver\" directive must "
                    "come before the upstream)",
                    n->args[1]);
    return add_peers(b, n, s->up, n->args[1], &pt);
}

static int d_ups_int(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    bool *seen;
    int *dst;
    bool time = false;
    if (strcmp(NAME(n), "keepalive") == 0) {
        seen = &s->up_keepalive_set;
        dst = &s->up->keepalive;
    } else if (strcmp(NAME(n), "keepalive_timeout") == 0) {
        seen = &s->up_kto_set;
        dst = &s->up->keepalive_timeout_ms;
        time = true;
    } else {
        seen = &s->up_kreq_set;
        dst = &s->up->keepalive_requests;
    }
    if (*seen)
        return dup_dir(b, n);
    *seen = true;
    if (time) {
        int64_t v;
        if (conf_parse_msec(n->args[1], &v) < 0)
            return bad_value(b, n, n->args[1]);
        *dst = (int)v;
    } else {
        int v;
        if (parse_int(n->args[1], &v) < 0 || (v < 1 && strcmp(NAME(n), "keepalive") == 0))
            return bad_value(b, n, n->args[1]);
        *dst = v;
    }
    return 0;
}

static int d_health_check(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    if (s->up_hc_set)
        return dup_dir(b, n);
    s->up_hc_set = true;
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
        else if (strncmp(a, "fails=", 6) == 0 && parse_int(v, &iv) == 0 && iv > 0)
            h->fails = iv;
        else if (strncmp(a, "passes=", 7) == 0 && parse_int(v, &iv) == 0 && iv > 0)
            h->passes = iv;
        else if (strncmp(a, "uri=", 4) == 0 && v[0] == '/')
            h->uri = (char *)v;
        else
            goto bad;
        continue;
    bad:
        return perr(b->P, n->file, n->line, "invalid parameter \"%s\"", a);
    }
    return 0;
}

static bool known_policy(const char *name)
{
    if (lb_find)
        return lb_find(name) != NULL;
    static const char *const names[] = {"ip_hash", "least_conn", "hash",
                                        "random",  "least_time", "round_robin"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static int d_policy(struct B *b, struct node *n, struct scope *s)
{
    struct cf_upstream *u = s->up;
    if (s->up_policy_set)
        return perr(b->P, n->file, n->line, "load balancing method redefined");
    s->up_policy_set = true;
    u->lb_name = NAME(n);
    u->lb_args = n->args + 1;
    u->nlb_args = n->nargs - 1;
    u->lb_where = (struct cf_where){n->file, n->line};
    return 0;
}

/* --- server and location --------------------------------------------------------------- */

static struct lconf *new_lconf(struct B *b, struct lconf *parent, struct sconf *srv)
{
    struct lconf *lc = az(b->P->A, sizeof(*lc));
    if (!lc) {
        oom(b->P);
        return NULL;
    }
    lc->parent = parent;
    lc->srv = srv;
    return lc;
}

static int d_server(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    if (s->ctx == C_UPS)
        return d_ups_server(b, d, n, s);
    if (!n->block)
        return perr(b->P, n->file, n->line, "directive \"server\" has no opening \"{\"");
    if (n->nargs != 1)
        return perr(b->P, n->file, n->line,
                    "invalid number of arguments in \"server\" "
                    "directive");
    struct sconf *sc = az(b->P->A, sizeof(*sc));
    struct sconf **slot = sc ? PUSH(b->P->A, b->srvs, b->nsrvs) : NULL;
    if (!slot)
        return oom(b->P);
    *slot = sc;
    sc->n = n;
    if (!(sc->def = new_lconf(b, b->http, sc)))
        return -1;
    sc->def->loc.where = (struct cf_where){n->file, n->line};
    struct scope in = *s;
    in.ctx = C_SRV;
    in.sc = sc;
    in.lc = sc->def;
    return run_block(b, n, &in);
}

static int d_listen(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
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
        return perr(b->P, n->file, n->line,
                    "invalid address \"%s\" in \"listen\" directive "
                    "(%s)",
                    a, e);
    if (!addr_is_unix(&l.addr) && addr_port(&l.addr) == 0)
        return perr(b->P, n->file, n->line,
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
            if (parse_int(p + 8, &v) < 0 || v < 1)
                return perr(b->P, n->file, n->line, "invalid backlog \"%s\"", p + 8);
            l.backlog = v;
            l.opts = true;
        } else if (strcmp(p, "deferred") == 0) {
            l.deferred = l.opts = true;
        } else if (strcmp(p, "bind") == 0) {
            l.opts = true; /* we always bind each address separately */
        } else {
            return perr(b->P, n->file, n->line, "invalid parameter \"%s\" (not supported)", p);
        }
    }
    struct sconf *sc = s->sc;
    for (int i = 0; i < sc->nlistens; i++)
        if (addr_equal(&sc->listens[i].addr, &l.addr))
            return perr(b->P, n->file, n->line, "duplicate listen %s", a);
    struct cf_listen *slot = PUSH(b->P->A, sc->listens, sc->nlistens);
    if (!slot)
        return oom(b->P);
    *slot = l;
    return 0;
}

static int d_server_name(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    struct sconf *sc = s->sc;
    for (int i = 1; i < n->nargs; i++) {
        char *name = adup(b->P->A, n->args[i]);
        if (!name)
            return oom(b->P);
        if (name[0] == '~')
            return perr(b->P, n->file, n->line,
                        "regular expression server names are not "
                        "supported (\"%s\")",
                        name);
        if (strchr(name, '$'))
            return perr(b->P, n->file, n->line, "variables in server names are not supported");
        if (strchr(name + 1, '*') &&
            !(name[strlen(name) - 1] == '*' && strlen(name) > 2 && name[strlen(name) - 2] == '.'))
            return perr(b->P, n->file, n->line, "invalid server name or wildcard \"%s\"", name);
        if (name[0] == '*' && name[1] != '.')
            return perr(b->P, n->file, n->line, "invalid server name or wildcard \"%s\"", name);
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        char **slot = PUSH(b->P->A, sc->names, sc->nnames);
        if (!slot)
            return oom(b->P);
        *slot = name;
    }
    sc->has_names = true;
    return 0;
}

static int d_location(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    enum cf_loc_match m = CF_LOC_PREFIX;
    const char *path;
    if (n->nargs == 3) {
        const char *mod = n->args[1];
        if (strcmp(mod, "=") == 0)
            m = CF_LOC_EXACT;
        else if (strcmp(mod, "^~") == 0)
            m = CF_LOC_PREFERRED;
        else if (strcmp(mod, "~") == 0 || strcmp(mod, "~*") == 0)
            return perr(b->P, n->file, n->line,
                        "regular expression locations are not "
                        "supported");
        else
            return perr(b->P, n->file, n->line, "invalid location modifier \"%s\"", mod);
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
            return perr(b->P, n->file, n->line,
                        "regular expression locations are not "
                        "supported");
        } else if (path[0] == '@') {
            return perr(b->P, n->file, n->line, "named locations are not supported");
        }
    }
    struct lconf *parent = s->lc;
    if (s->ctx == C_LOC) {
        if (parent->loc.match == CF_LOC_EXACT)
            return perr(b->P, n->file, n->line,
                        "location \"%s\" cannot be inside the exact location \"%s\"", path,
                        parent->loc.path);
        if (strncmp(path, parent->loc.path, parent->loc.path_len) != 0)
            return perr(b->P, n->file, n->line, "location \"%s\" is outside location \"%s\"", path,
                        parent->loc.path);
    }
    struct sconf *sc = s->sc;
    for (int i = 0; i < sc->nlocs; i++) {
        struct cf_loc *o = &sc->locs[i]->loc;
        if (strcmp(o->path, path) == 0 && (o->match == CF_LOC_EXACT) == (m == CF_LOC_EXACT))
            return perr(b->P, n->file, n->line, "duplicate location \"%s\"", path);
    }
    struct lconf *lc = new_lconf(b, parent, sc);
    struct lconf **slot = lc ? PUSH(b->P->A, sc->locs, sc->nlocs) : NULL;
    if (!slot)
        return oom(b->P);
    *slot = lc;
    lc->loc.match = m;
    lc->loc.path = adup(b->P->A, path);
    if (!lc->loc.path)
        return oom(b->P);
    lc->loc.path_len = strlen(path);
    lc->loc.where = (struct cf_where){n->file, n->line};
    struct scope in = *s;
    in.ctx = C_LOC;
    in.lc = lc;
    return run_block(b, n, &in);
}

static int d_pass(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    struct lconf *lc = s->lc;
    if (lc->set & (1ULL << F_PASS))
        return dup_dir(b, n);
    (void)d;
    bool uwsgi = strcmp(NAME(n), "uwsgi_pass") == 0;
    const char *a = n->args[1];
    if (strchr(a, '$'))
        return perr(b->P, n->file, n->line, "variables in \"%s\" are not supported", NAME(n));
    const char *t = a;
    if (!uwsgi) {
        if (strncmp(a, "http://", 7) == 0)
            t = a + 7;
        else if (strncmp(a, "https://", 8) == 0)
            return perr(b->P, n->file, n->line, "https upstreams are not supported");
        else
            return perr(b->P, n->file, n->line, "invalid URL prefix in \"%s\"", a);
    } else if (strncmp(a, "uwsgi://", 8) == 0) {
        t = a + 8;
    } else if (strncmp(a, "suwsgi://", 9) == 0) {
        return perr(b->P, n->file, n->line, "suwsgi is not supported");
    }
    /* split host from URI: "unix:/path:/uri", "host:port/uri" */
    const char *uri = NULL;
    if (strncmp(t, "unix:", 5) == 0) {
        const char *c = strchr(t + 5, ':');
        if (c)
            uri = c + 1;
        size_t hl = c ? (size_t)(c - t) : strlen(t);
        char *h = az(b->P->A, hl + 1);
        if (!h)
            return oom(b->P);
        memcpy(h, t, hl);
        h[hl] = 0;
        t = h;
    } else {
        const char *sl = strchr(t, '/');
        if (sl) {
            uri = sl;
            size_t hl = (size_t)(sl - t);
            char *h = az(b->P->A, hl + 1);
            if (!h)
                return oom(b->P);
            memcpy(h, t, hl);
            h[hl] = 0;
            t = h;
        }
    }
    if (!*t)
        return perr(b->P, n->file, n->line, "no host in \"%s\"", a);
    if (uri && uwsgi)
        return perr(b->P, n->file, n->line, "invalid host in \"%s\"", a);
    lc->set |= 1ULL << F_PASS;
    lc->pass = (struct pass){t, uri, uwsgi, n};
    return 0;
}

static int d_status(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    if (s->lc->set & (1ULL << F_PASS))
        return dup_dir(b, n);
    return mark(b, n, s, d->field);
}

static int d_lb_not_here(struct B *b, const struct dir *d, struct node *n, struct scope *s)
{
    (void)d;
    (void)s;
    return perr(b->P, n->file, n->line, "\"%s\" directive is not allowed here", NAME(n));
}

#define LOFF(f) offsetof(struct cf_loc, f)

static const struct dir dirs[] = {
    {"worker_processes", C_MAIN, 1, 1, false, d_worker_processes, 0, -1},
    {"pid", C_MAIN, 1, 1, false, d_pid, 0, -1},
    {"error_log", C_MAIN | C_HTTP, 1, 2, false, d_error_log, 0, -1},
    {"daemon", C_MAIN, 1, 1, false, d_daemon, 0, -1},
    {"master_process", C_MAIN, 1, 1, false, d_daemon, 0, -1},
    {"user", C_MAIN, 1, 2, false, d_user, 0, -1},
    {"events", C_MAIN, 0, 0, true, d_events, 0, -1},
    {"worker_rlimit_nofile", C_MAIN, 1, 1, false, d_rlimit_nofile, 0, -1},
    {"use", C_EVENTS, 1, 1, false, d_use, 0, -1},
    {"multi_accept", C_EVENTS, 1, 1, false, d_multi_accept, 0, -1},
    {"accept_mutex", C_EVENTS, 1, 1, false, d_ignore_flag, 0, -1},
    {"worker_connections", C_EVENTS, 1, 1, false, d_worker_connections, 0, -1},
    {"yield", C_EVENTS, 1, 1, false, d_yield, 0, -1},
    {"http", C_MAIN, 0, 0, true, d_http, 0, -1},
    {"log_format", C_HTTP, 2, -1, false, d_log_format, 0, -1},
    {"access_log", C_HSL, 1, -1, false, d_access_log, 0, F_ACCESS_LOG},
    {"upstream", C_HTTP, 1, 1, true, d_upstream, 0, -1},
    {"server", C_HTTP | C_UPS, 0, -1, false, d_server, 0, -1}, /* block checked inside */
    {"resolver", C_HTTP, 1, -1, false, d_resolver, 0, -1},
    {"sendfile", C_HSL, 1, 1, false, d_ignore_flag, 0, -1},
    {"tcp_nopush", C_HSL, 1, 1, false, d_ignore_flag, 0, -1},
    {"proxy_request_buffering", C_HSL, 1, 1, false, d_only_off, 0, -1},
    {"uwsgi_request_buffering", C_HSL, 1, 1, false, d_only_off, 0, -1},
    {"client_body_temp_path", C_HSL, 1, 4, false, d_temp_path, 0, -1},
    {"proxy_temp_path", C_HSL, 1, 4, false, d_temp_path, 0, -1},
    {"uwsgi_temp_path", C_HSL, 1, 4, false, d_temp_path, 0, -1},
    {"tcp_nodelay", C_HSL, 1, 1, false, d_ignore_flag, 0, -1},
    {"proxy_redirect", C_HSL, 1, 2, false, d_redirect, 0, -1},
    {"expires", C_HSL, 1, 2, false, d_expires, 0, F_EXPIRES},
    {"gzip", C_HSL, 1, 1, false, d_gzip, 0, -1},
    {"types_hash_max_size", C_HSL, 1, 1, false, d_unused_sizes, 0, -1},
    {"types_hash_bucket_size", C_HSL, 1, 1, false, d_unused_sizes, 0, -1},
    {"server_names_hash_max_size", C_HTTP, 1, 1, false, d_unused_sizes, 0, -1},
    {"server_names_hash_bucket_size", C_HTTP, 1, 1, false, d_unused_sizes, 0, -1},
    {"types", C_HSL, 0, 0, true, d_types, 0, F_TYPES},
    {"default_type", C_HSL, 1, 1, false, d_default_type, 0, F_DEFAULT_TYPE},
    {"listen", C_SRV, 1, -1, false, d_listen, 0, -1},
    {"server_name", C_SRV, 1, -1, false, d_server_name, 0, -1},
    {"location", C_SRV | C_LOC, 1, 2, true, d_location, 0, -1},
    {"proxy_pass", C_LOC, 1, 1, false, d_pass, 0, F_PASS},
    {"uwsgi_pass", C_LOC, 1, 1, false, d_pass, 0, F_PASS},
    {"status", C_LOC, 0, 0, false, d_status, 0, F_STATUS},
    {"alias", C_LOC, 1, 1, false, d_root, 0, F_ALIAS},
    {"return", C_SRV | C_LOC, 1, 2, false, d_return, 0, F_RETURN},
    {"root", C_HSL, 1, 1, false, d_root, 0, F_ROOT},
    {"index", C_HSL, 1, -1, false, d_index, 0, F_INDEX},
    {"add_header", C_HSL, 2, 3, false, d_header, 0, F_ADD_HEADERS},
    {"proxy_set_header", C_HSL, 2, 2, false, d_header, 0, F_PROXY_HEADERS},
    {"uwsgi_param", C_HSL, 2, 3, false, d_header, 0, F_UWSGI_PARAMS},
    {"proxy_http_version", C_HSL, 1, 1, false, d_http_version, 0, F_HTTP_VERSION},
    {"proxy_connect_timeout", C_HSL, 1, 1, false, d_msec, LOFF(connect_timeout_ms), F_CONNECT_TO},
    {"uwsgi_connect_timeout", C_HSL, 1, 1, false, d_msec, LOFF(connect_timeout_ms), F_CONNECT_TO},
    {"proxy_send_timeout", C_HSL, 1, 1, false, d_msec, LOFF(proxy_send_timeout_ms), F_PSEND_TO},
    {"uwsgi_send_timeout", C_HSL, 1, 1, false, d_msec, LOFF(proxy_send_timeout_ms), F_PSEND_TO},
    {"proxy_read_timeout", C_HSL, 1, 1, false, d_msec, LOFF(read_timeout_ms), F_READ_TO},
    {"uwsgi_read_timeout", C_HSL, 1, 1, false, d_msec, LOFF(read_timeout_ms), F_READ_TO},
    {"proxy_buffering", C_HSL, 1, 1, false, d_flag, LOFF(buffering), F_BUFFERING},
    {"proxy_buffer_size", C_HSL, 1, 1, false, d_buffer_size, 0, F_BUF_SIZE},
    {"uwsgi_buffer_size", C_HSL, 1, 1, false, d_buffer_size, 0, F_BUF_SIZE},
    {"proxy_buffers", C_HSL, 2, 2, false, d_unused_sizes, 0, -1},
    {"uwsgi_buffers", C_HSL, 2, 2, false, d_unused_sizes, 0, -1},
    {"proxy_busy_buffers_size", C_HSL, 1, 1, false, d_unused_sizes, 0, -1},
    {"uwsgi_busy_buffers_size", C_HSL, 1, 1, false, d_unused_sizes, 0, -1},
    {"uwsgi_buffering", C_HSL, 1, 1, false, d_flag, LOFF(buffering), F_BUFFERING},
    {"proxy_next_upstream", C_HSL, 1, -1, false, d_next_upstream, 0, F_NEXT_UP},
    {"uwsgi_next_upstream", C_HSL, 1, -1, false, d_next_upstream, 0, F_NEXT_UP},
    {"proxy_next_upstream_tries", C_HSL, 1, 1, false, d_int, LOFF(next_upstream_tries),
     F_NEXT_TRIES},
    {"uwsgi_next_upstream_tries", C_HSL, 1, 1, false, d_int, LOFF(next_upstream_tries),
     F_NEXT_TRIES},
    {"proxy_next_upstream_timeout", C_HSL, 1, 1, false, d_msec, LOFF(next_upstream_timeout_ms),
     F_NEXT_TO},
    {"uwsgi_next_upstream_timeout", C_HSL, 1, 1, false, d_msec, LOFF(next_upstream_timeout_ms),
     F_NEXT_TO},
    {"server_tokens", C_HSL, 1, 1, false, d_flag, LOFF(server_tokens), F_TOKENS},
    {"server_timing", C_HSL, 1, 1, false, d_flag, LOFF(server_timing), F_TIMING},
    {"client_max_body_size", C_HSL, 1, 1, false, d_size, LOFF(client_max_body_size), F_MAX_BODY},
    {"client_body_timeout", C_HSL, 1, 1, false, d_msec, LOFF(client_body_timeout_ms), F_BODY_TO},
    {"send_timeout", C_HSL, 1, 1, false, d_msec, LOFF(send_timeout_ms), F_SEND_TO},
    {"keepalive_timeout", C_HSL | C_UPS, 1, 1, false, d_msec, LOFF(keepalive_timeout_ms), F_KA_TO},
    {"keepalive_requests", C_HSL | C_UPS, 1, 1, false, d_int, LOFF(keepalive_requests), F_KA_REQ},
    {"client_header_timeout", C_HTTP | C_SRV, 1, 1, false, d_msec, 0, F_HDR_TO},
    {"large_client_header_buffers", C_HTTP | C_SRV, 2, 2, false, d_lhb, 0, F_LHB},
    {"keepalive", C_UPS, 1, 1, false, d_ups_int, 0, -1},
    {"health_check", C_UPS, 0, -1, false, d_health_check, 0, -1},
};

static int run_dir(struct B *b, struct node *n, struct scope *s)
{
    const char *name = NAME(n);
    const struct dir *d = NULL;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (strcmp(dirs[i].name, name) == 0) {
            d = &dirs[i];
            break;
        }
    if (!d) {
        if (known_policy(name)) {
            if (s->ctx != C_UPS)
                return d_lb_not_here(b, NULL, n, s);
            if (n->block)
                return perr(b->P, n->file, n->line,
                            "directive \"%s\" is not terminated by "
                            "\";\"",
                            name);
            return d_policy(b, n, s);
        }
        return perr(b->P, n->file, n->line, "unknown directive \"%s\"", name);
    }
    if (!(d->ctx & s->ctx))
        return perr(b->P, n->file, n->line, "\"%s\" directive is not allowed here", name);
    if (strcmp(name, "server") == 0) /* block or not depends on the context */
        return d->fn(b, d, n, s);
    if (d->block && !n->block)
        return perr(b->P, n->file, n->line, "directive \"%s\" has no opening \"{\"", name);
    if (!d->block && n->block)
        return perr(b->P, n->file, n->line, "directive \"%s\" is not terminated by \";\"", name);
    int na = n->nargs - 1;
    if (na < d->min || (d->max >= 0 && na > d->max))
        return perr(b->P, n->file, n->line, "invalid number of arguments in \"%s\" directive",
                    name);
    if (s->ctx == C_UPS &&
        (strcmp(name, "keepalive_timeout") == 0 || strcmp(name, "keepalive_requests") == 0))
        return d_ups_int(b, d, n, s);
    return d->fn(b, d, n, s);
}

static int run_block(struct B *b, struct node *n, struct scope *s)
{
    for (int i = 0; i < n->nkids; i++)
        if (run_dir(b, &n->kids[i], s) < 0)
            return -1;
    return 0;
}

/* --- merging and laying out ---------------------------------------------------------- */

static void set_http_defaults(struct B *b, struct lconf *h)
{
    struct cf_loc *l = &h->loc;
#define DEF(F, stmt)                                                                               \
    if (!(h->set & (1ULL << (F))))                                                                 \
        stmt;
    DEF(F_HTTP_VERSION, l->proxy_http_version = 10)
    DEF(F_CONNECT_TO, l->connect_timeout_ms = 60000)
    DEF(F_PSEND_TO, l->proxy_send_timeout_ms = 60000)
    DEF(F_READ_TO, l->read_timeout_ms = 60000)
    DEF(F_BUFFERING, l->buffering = true)
    DEF(F_BUF_SIZE, l->buffer_size = 64 * 1024)
    DEF(F_NEXT_UP, l->next_upstream = CF_NEXT_ERROR | CF_NEXT_TIMEOUT)
    DEF(F_TOKENS, l->server_tokens = true)
    DEF(F_MAX_BODY, l->client_max_body_size = 1024 * 1024)
    DEF(F_BODY_TO, l->client_body_timeout_ms = 60000)
    DEF(F_SEND_TO, l->send_timeout_ms = 60000)
    DEF(F_KA_TO, l->keepalive_timeout_ms = 75000)
    DEF(F_KA_REQ, l->keepalive_requests = 1000)
    DEF(F_DEFAULT_TYPE, l->default_type = "text/plain")
    DEF(F_HDR_TO, h->hdr_to = 60000)
    DEF(F_LHB, (h->lhb_n = 4, h->lhb_size = 8192))
#undef DEF
    if (!(h->set & (1ULL << F_ROOT)))
        l->root = prefixed(b, "html");
    if (!(h->set & (1ULL << F_INDEX))) {
        static char *def_index[] = {"index.html"};
        l->index = def_index;
        l->nindex = 1;
    }
    if (!(h->set & (1ULL << F_ACCESS_LOG))) {
        struct cf_access_log *al = az(b->P->A, sizeof(*al));
        if (al) {
            al->path = prefixed(b, "logs/access.log");
            al->format = find_format(b, "combined");
            l->access_logs = al;
            l->naccess_logs = 1;
        }
    }
    h->set =
        ~0ULL & ~((1ULL << F_RETURN) | (1ULL << F_PASS) | (1ULL << F_STATUS) | (1ULL << F_ALIAS));
}

/* Fills every setting the child did not set from its (already merged) parent. */
static void merge(struct lconf *c, const struct lconf *p)
{
    struct cf_loc *l = &c->loc;
    const struct cf_loc *q = &p->loc;
#define INH(F, stmt)                                                                               \
    if (!(c->set & (1ULL << (F))) && (p->set & (1ULL << (F))))                                     \
        stmt;
    INH(F_PROXY_HEADERS,
        (l->proxy_headers = q->proxy_headers, l->nproxy_headers = q->nproxy_headers))
    INH(F_UWSGI_PARAMS, (l->uwsgi_params = q->uwsgi_params, l->nuwsgi_params = q->nuwsgi_params,
                         l->uwsgi_http_params = q->uwsgi_http_params))
    INH(F_HTTP_VERSION, l->proxy_http_version = q->proxy_http_version)
    INH(F_CONNECT_TO, l->connect_timeout_ms = q->connect_timeout_ms)
    INH(F_PSEND_TO, l->proxy_send_timeout_ms = q->proxy_send_timeout_ms)
    INH(F_READ_TO, l->read_timeout_ms = q->read_timeout_ms)
    INH(F_BUFFERING, l->buffering = q->buffering)
    INH(F_BUF_SIZE, l->buffer_size = q->buffer_size)
    INH(F_NEXT_UP, l->next_upstream = q->next_upstream)
    INH(F_NEXT_TRIES, l->next_upstream_tries = q->next_upstream_tries)
    INH(F_NEXT_TO, l->next_upstream_timeout_ms = q->next_upstream_timeout_ms)
    INH(F_ROOT, l->root = q->root)
    INH(F_INDEX, (l->index = q->index, l->nindex = q->nindex))
    INH(F_ADD_HEADERS, (l->add_headers = q->add_headers, l->nadd_headers = q->nadd_headers))
    INH(F_TOKENS, l->server_tokens = q->server_tokens)
    INH(F_TIMING, l->server_timing = q->server_timing)
    INH(F_MAX_BODY, l->client_max_body_size = q->client_max_body_size)
    INH(F_BODY_TO, l->client_body_timeout_ms = q->client_body_timeout_ms)
    INH(F_SEND_TO, l->send_timeout_ms = q->send_timeout_ms)
    INH(F_KA_TO, l->keepalive_timeout_ms = q->keepalive_timeout_ms)
    INH(F_KA_REQ, l->keepalive_requests = q->keepalive_requests)
    INH(F_ACCESS_LOG, (l->access_logs = q->access_logs, l->naccess_logs = q->naccess_logs,
                       c->access_off = p->access_off))
    INH(F_TYPES, l->types = q->types)
    INH(F_DEFAULT_TYPE, l->default_type = q->default_type)
    INH(F_EXPIRES, (l->expires = q->expires, l->expires_s = q->expires_s))
    INH(F_HDR_TO, c->hdr_to = p->hdr_to)
    INH(F_LHB, (c->lhb_n = p->lhb_n, c->lhb_size = p->lhb_size))
#undef INH
    uint64_t keep = (1ULL << F_RETURN) | (1ULL << F_PASS) | (1ULL << F_STATUS) | (1ULL << F_ALIAS);
    c->set = (c->set & keep) | (p->set & ~keep) | (c->set & ~keep);
    if (c->access_off) {
        l->access_logs = NULL;
        l->naccess_logs = 0;
    }
}

static int has_header(const struct cf_header *h, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return 1;
    return 0;
}

/* Resolves proxy_pass / uwsgi_pass and adds nginx's default proxy headers. */
static int finish_pass(struct B *b, struct lconf *lc)
{
    struct cf_loc *l = &lc->loc;
    struct pass *ps = &lc->pass;
    struct node *n = ps->n;
    struct cf_upstream *u = find_upstream(b, ps->target);
    if (!u) {
        u = new_upstream(b, ps->target, n);
        if (!u)
            return -1;
        u->implicit = true;
        struct cf_peer pt = {.weight = 1, .max_fails = 1, .fail_timeout_ms = 10000};
        if (add_peers(b, n, u, ps->target, &pt) < 0)
            return -1;
    }
    l->upstream = u;
    l->handler = ps->uwsgi ? CF_H_UWSGI : CF_H_PROXY;
    l->content = h_find(ps->uwsgi ? "uwsgi_pass" : "proxy_pass");
    if (ps->uri && !(l->pass_uri = adup(b->P->A, ps->uri)))
        return oom(b->P);
    if (strncmp(ps->target, "unix:", 5) == 0) {
        l->proxy_host = "localhost";
    } else {
        l->proxy_host = adup(b->P->A, ps->target);
        size_t hl = l->proxy_host ? strlen(l->proxy_host) : 0;
        if (hl > 3 && strcmp(l->proxy_host + hl - 3, ":80") == 0)
            l->proxy_host[hl - 3] = 0;
    }
    if (!l->proxy_host)
        return oom(b->P);
    if (ps->uwsgi)
        return 0;
    int n0 = l->nproxy_headers;
    bool host = has_header(l->proxy_headers, n0, "Host");
    bool conn = has_header(l->proxy_headers, n0, "Connection");
    if (host && conn)
        return 0;
    struct cf_header *h = az(b->P->A, (size_t)(n0 + 2) * sizeof(*h));
    if (!h)
        return oom(b->P);
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

static int finish_loc(struct B *b, struct lconf *lc, struct cf_server *srv)
{
    struct cf_loc *l = &lc->loc;
    l->server = srv;
    struct lconf *sdef = lc->srv->def;
    if (sdef->set & (1ULL << F_RETURN) && lc != sdef) {
        /* a server-level return runs before any location is chosen */
        l->handler = CF_H_RETURN;
        l->content = h_find("return");
        l->return_code = sdef->loc.return_code;
        l->return_text = sdef->loc.return_text;
    } else if (lc->set & (1ULL << F_RETURN)) {
        l->handler = CF_H_RETURN;
        l->content = h_find("return");
    } else if (lc->set & (1ULL << F_PASS)) {
        if (finish_pass(b, lc) < 0)
            return -1;
    } else if (lc->set & (1ULL << F_STATUS)) {
        l->handler = CF_H_STATUS;
        l->content = h_find("status");
    } else {
        l->handler = CF_H_STATIC;
        l->content = h_find("static");
    }
    return 0;
}

/* The socket options of listen `from` for listen `to` (the same address). */
static void share_listen_opts(const struct cf_listen *from, struct cf_listen *to)
{
    to->reuseport = from->reuseport;
    to->backlog = from->backlog;
    to->deferred = from->deferred;
}

static int layout(struct B *b)
{
    struct conf_all *A = b->P->A;
    struct cf_main *cf = b->cf;
    set_http_defaults(b, b->http);
    if (!(b->t_proxy_host = compile(b, NULL, "$proxy_host")) ||
        !(b->t_close = compile(b, NULL, "close")))
        return -1;
    cf->nservers = b->nsrvs;
    cf->servers = az(A, (size_t)(b->nsrvs ? b->nsrvs : 1) * sizeof(*cf->servers));
    if (!cf->servers)
        return oom(b->P);
    for (int i = 0; i < b->nsrvs; i++) {
        struct sconf *sc = b->srvs[i];
        struct cf_server *srv = &cf->servers[i];
        merge(sc->def, b->http);
        for (int k = 0; k < sc->nlocs; k++) /* parents come before their children */
            merge(sc->locs[k], sc->locs[k]->parent);
        if (sc->nlistens == 0) {
            struct cf_listen *l = PUSH(A, sc->listens, sc->nlistens);
            if (!l)
                return oom(b->P);
            *l = (struct cf_listen){.backlog = 511, .fd = -1, .where = {sc->n->file, sc->n->line}};
            char e[128];
            if (addr_parse(geteuid() == 0 ? "0.0.0.0:80" : "0.0.0.0:8000", -1, &l->addr, e,
                           sizeof(e)) < 0)
                return perr(b->P, sc->n->file, sc->n->line, "%s", e);
        }
        srv->listens = sc->listens;
        srv->nlistens = sc->nlistens;
        if (!sc->has_names) {
            static char *empty[] = {""};
            srv->names = empty;
            srv->nnames = 1;
        } else {
            srv->names = sc->names;
            srv->nnames = sc->nnames;
        }
        srv->where = (struct cf_where){sc->n->file, sc->n->line};
        srv->client_header_timeout_ms = sc->def->hdr_to;
        srv->large_header_buffers = sc->def->lhb_n;
        srv->large_header_buffer_size = sc->def->lhb_size;
        srv->nlocs = sc->nlocs;
        srv->locs = az(A, (size_t)(sc->nlocs ? sc->nlocs : 1) * sizeof(*srv->locs));
        srv->def_loc = az(A, sizeof(*srv->def_loc));
        if (!srv->locs || !srv->def_loc)
            return oom(b->P);
        if (finish_loc(b, sc->def, srv) < 0)
            return -1;
        *srv->def_loc = sc->def->loc;
        for (int k = 0; k < sc->nlocs; k++) {
            if (finish_loc(b, sc->locs[k], srv) < 0)
                return -1;
            srv->locs[k] = sc->locs[k]->loc;
        }
    }
    /* socket options and default_server may be given once per address, as
     * nginx checks them (in this order, at the later listen); the options
     * hold for each listen of the address (its socket is opened for the
     * first).  Every pair of listens on one address meets here once (one
     * server cannot name an address twice). */
    for (int i = 0; i < cf->nservers; i++)
        for (int j = 0; j < cf->servers[i].nlistens; j++) {
            struct cf_listen *a = &cf->servers[i].listens[j];
            for (int k = 0; k < i; k++)
                for (int m = 0; m < cf->servers[k].nlistens; m++) {
                    struct cf_listen *o = &cf->servers[k].listens[m];
                    if (!addr_equal(&o->addr, &a->addr))
                        continue;
                    const char *what = a->opts && o->opts ? "duplicate listen options"
                                       : a->default_server && o->default_server
                                           ? "a duplicate default server"
                                           : NULL;
                    if (what) {
                        char s[ADDR_STRLEN];
                        addr_format(&a->addr, s, sizeof(s));
                        return perr(b->P, a->where.file, a->where.line, "%s for %s", what, s);
                    }
                    if (a->opts || o->opts)
                        share_listen_opts(a->opts ? a : o, a->opts ? o : a);
                }
        }
    /* balancing policies check their own arguments */
    for (int i = 0; i < b->nups; i++) {
        struct cf_upstream *u = b->ups[i];
        if (!lb_find)
            break;
        const struct lb_ops *ops = lb_find(u->lb_name);
        if (!ops)
            return perr(b->P, u->lb_where.file, u->lb_where.line, "unknown balancing method \"%s\"",
                        u->lb_name);
        struct lb_peer *lp = calloc((size_t)u->npeers, sizeof(*lp));
        if (!lp)
            return oom(b->P);
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
            return perr(b->P, u->lb_where.file, u->lb_where.line, "%s", e);
    }
    cf->upstreams = b->ups;
    cf->nupstreams = b->nups;
    return 0;
}

/* --- entry points ------------------------------------------------------------------------ */

void cf_free(struct cf_main *cf)
{
    if (!cf)
        return;
    struct conf_all *A = (struct conf_all *)cf;
    for (int i = 0; i < A->ntmpls; i++)
        tmpl_free(A->tmpls[i]);
    free(A->tmpls);
    struct chunk *c = A->arena;
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(A);
}

int conf_load(const char *file, const char *prefix, const char *globals, struct cf_main **out,
              char *err, size_t errlen)
{
    struct conf_all *A = calloc(1, sizeof(*A));
    if (!A) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct P P = {.A = A, .err = err, .errlen = errlen};
    struct cf_main *cf = &A->cf;
    char cwd[PATH_MAX];
    if (!prefix || !*prefix) {
        if (!getcwd(cwd, sizeof(cwd)))
            snprintf(cwd, sizeof(cwd), ".");
        prefix = cwd;
    }
    P.prefix = cf->prefix = adup(A, prefix);
    cf->conf_file = full_path(&P, prefix, file);
    if (!cf->prefix || !cf->conf_file)
        goto fail_oom;
    char *dir = adup(A, cf->conf_file);
    if (!dir)
        goto fail_oom;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    P.conf_dir = slash ? (dir[0] ? dir : "/") : ".";

    struct node root = {0};
    if (globals && *globals &&
        read_text(&P, "command line", globals, strlen(globals), &root.kids, &root.nkids) < 0)
        goto fail;
    if (read_file(&P, cf->conf_file, NULL, 0, &root.kids, &root.nkids) < 0)
        goto fail;

    cf->worker_processes = 1;
    cf->worker_connections = 512;
    cf->yield = false;
    struct B b = {.P = &P, .cf = cf};
    b.http = new_lconf(&b, NULL, NULL);
    if (!b.http)
        goto fail;
    {
        struct cf_log_format *comb = az(A, sizeof(*comb));
        struct cf_log_format **slot = comb ? PUSH(A, cf->log_formats, cf->nlog_formats) : NULL;
        if (!slot)
            goto fail_oom;
        *slot = comb;
        comb->name = "combined";
        comb->escape = CF_ESC_DEFAULT;
        comb->fmt = compile(&b, NULL,
                            "$remote_addr - $remote_user [$time_local] \"$request\" $status "
                            "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"");
        if (!comb->fmt)
            goto fail;
    }
    struct scope s = {.ctx = C_MAIN};
    if (run_block(&b, &root, &s) < 0)
        goto fail;
    if (!b.seen_events) {
        snprintf(err, errlen, "%s:%d: no \"events\" section in configuration", cf->conf_file,
                 root.nkids ? root.kids[root.nkids - 1].line : 1);
        goto fail;
    }
    if (!cf->pid_file && !(cf->pid_file = prefixed(&b, "logs/proxy.pid")))
        goto fail_oom;
    if (!cf->error_log) {
        if (!(cf->error_log = prefixed(&b, "logs/error.log")))
            goto fail_oom;
        cf->error_log_level = LL_ERROR;
    }
    if (layout(&b) < 0)
        goto fail;
    *out = cf;
    return 0;
fail_oom:
    oom(&P);
fail:
    cf_free(cf);
    return -1;
}

const char *conf_mime_type(const struct cf_loc *loc, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    /* nginx's built-in map, sorted by extension, when no types { } is set */
    static struct cf_mime defmime[] = {
        {"gif", "image/gif"},   {"htm", "text/html"},  {"html", "text/html"},
        {"jpeg", "image/jpeg"}, {"jpg", "image/jpeg"},
    };
    static const struct cf_types deftypes = {defmime, 5};
    const struct cf_types *t = loc->types ? loc->types : &deftypes;
    if (dot && dot[1] && t->n) {
        char ext[32];
        size_t n = strlen(dot + 1);
        if (n < sizeof(ext)) {
            for (size_t i = 0; i <= n; i++)
                ext[i] = (char)tolower((unsigned char)dot[1 + i]);
            struct cf_mime key = {ext, NULL};
            const struct cf_mime *m = bsearch(&key, t->m, (size_t)t->n, sizeof(*t->m), mime_cmp);
            if (m)
                return m->type;
        }
    }
    return loc->default_type ? loc->default_type : "text/plain";
}
