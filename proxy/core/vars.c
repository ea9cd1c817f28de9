/* vars: nginx variables and value templates (see vars.h). */
#include "vars.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "timing.h"

enum var {
    V_LIT, /* literal text, not a variable */
    V_HOST,
    V_REMOTE_ADDR,
    V_REMOTE_PORT,
    V_REMOTE_USER,
    V_SERVER_ADDR,
    V_SERVER_PORT,
    V_SERVER_NAME,
    V_SCHEME,
    V_REQUEST,
    V_REQUEST_METHOD,
    V_REQUEST_URI,
    V_URI,
    V_ARGS,
    V_IS_ARGS,
    V_ARG,
    V_HTTP,
    V_COOKIE,
    V_SENT_HTTP,
    V_PROXY_HOST,
    V_PROXY_ADD_XFF,
    V_STATUS,
    V_BODY_BYTES_SENT,
    V_BYTES_SENT,
    V_REQUEST_LENGTH,
    V_REQUEST_TIME,
    V_REQUEST_ID,
    V_TIME_LOCAL,
    V_TIME_ISO8601,
    V_MSEC,
    V_UP_ADDR,
    V_UP_STATUS,
    V_UP_CONNECT_TIME,
    V_UP_HEADER_TIME,
    V_UP_RESPONSE_TIME,
    V_CONTENT_LENGTH,
    V_CONTENT_TYPE,
    V_DOCUMENT_ROOT,
    V_SERVER_PROTOCOL,
    V_HTTPS,
    V_REQUEST_BODY,
    V_REQUEST_BODY_FILE,
};

static const struct {
    const char *name;
    enum var v;
} names[] = {
    {"host", V_HOST},
    {"remote_addr", V_REMOTE_ADDR},
    {"remote_port", V_REMOTE_PORT},
    {"remote_user", V_REMOTE_USER},
    {"server_addr", V_SERVER_ADDR},
    {"server_port", V_SERVER_PORT},
    {"server_name", V_SERVER_NAME},
    {"scheme", V_SCHEME},
    {"request", V_REQUEST},
    {"request_method", V_REQUEST_METHOD},
    {"request_uri", V_REQUEST_URI},
    {"uri", V_URI},
    {"document_uri", V_URI},
    {"args", V_ARGS},
    {"query_string", V_ARGS},
    {"is_args", V_IS_ARGS},
    {"proxy_host", V_PROXY_HOST},
    {"proxy_add_x_forwarded_for", V_PROXY_ADD_XFF},
    {"status", V_STATUS},
    {"body_bytes_sent", V_BODY_BYTES_SENT},
    {"bytes_sent", V_BYTES_SENT},
    {"request_length", V_REQUEST_LENGTH},
    {"request_time", V_REQUEST_TIME},
    {"request_id", V_REQUEST_ID},
    {"time_local", V_TIME_LOCAL},
    {"time_iso8601", V_TIME_ISO8601},
    {"msec", V_MSEC},
    {"upstream_addr", V_UP_ADDR},
    {"upstream_status", V_UP_STATUS},
    {"upstream_connect_time", V_UP_CONNECT_TIME},
    {"upstream_header_time", V_UP_HEADER_TIME},
    {"upstream_response_time", V_UP_RESPONSE_TIME},
    {"content_length", V_CONTENT_LENGTH},
    {"content_type", V_CONTENT_TYPE},
    {"document_root", V_DOCUMENT_ROOT},
    {"server_protocol", V_SERVER_PROTOCOL},
    {"https", V_HTTPS},
    {"request_body", V_REQUEST_BODY},
    {"request_body_file", V_REQUEST_BODY_FILE},
};

static const struct {
    const char *prefix;
    enum var v;
} prefixes[] = {
    {"arg_", V_ARG},
    {"http_", V_HTTP},
    {"cookie_", V_COOKIE},
    {"sent_http_", V_SENT_HTTP},
};

struct part {
    enum var v;
    const char *s; /* literal text, or the NAME of arg_/http_/cookie_ (http_: dashes) */
    size_t len;
};

struct tmpl {
    char *src;
    struct part *parts;
    int nparts;
    bool is_const;
};

static int add_part(struct tmpl *t, enum var v, const char *s, size_t len)
{
    struct part *p = realloc(t->parts, (size_t)(t->nparts + 1) * sizeof(*p));
    if (!p)
        return -1;
    t->parts = p;
    p[t->nparts++] = (struct part){v, s, len};
    return 0;
}

void tmpl_free(struct tmpl *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nparts; i++)
        if (t->parts[i].v == V_HTTP || t->parts[i].v == V_SENT_HTTP || t->parts[i].v == V_ARG ||
            t->parts[i].v == V_COOKIE)
            free((char *)t->parts[i].s);
    free(t->parts);
    free(t->src);
    free(t);
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Adds the variable `name` (not NUL-terminated). */
static int add_var(struct tmpl *t, const char *name_in, size_t len, char *err, size_t errlen)
{
    /* names are case-insensitive, as nginx lowercases them */
    char name[256];
    if (len >= sizeof(name)) {
        snprintf(err, errlen, "variable name \"%.*s...\" is too long", 32, name_in);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        name[i] = (char)tolower((unsigned char)name_in[i]);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].name) == len && memcmp(names[i].name, name, len) == 0)
            return add_part(t, names[i].v, NULL, 0);
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i].prefix);
        if (len > pl && memcmp(prefixes[i].prefix, name, pl) == 0) {
            enum var v = prefixes[i].v;
            /* header names: '_' matches '-' */
            char *h = malloc(len - pl + 1);
            if (!h)
                return -1;
            for (size_t k = 0; k < len - pl; k++)
                h[k] =
                    (v == V_HTTP || v == V_SENT_HTTP) && name[pl + k] == '_' ? '-' : name[pl + k];
            h[len - pl] = 0;
            if (add_part(t, v, h, len - pl) < 0) {
                free(h);
                return -1;
            }
            return 0;
        }
    }
    snprintf(err, errlen, "unknown \"%.*s\" variable", (int)len, name);
    return -1;
}

struct tmpl *tmpl_compile(const char *src, char *err, size_t errlen)
{
    struct tmpl *t = calloc(1, sizeof(*t));
    if (!t || !(t->src = strdup(src))) {
        free(t);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *s = t->src;
    const char *lit = s;
    const char *p = s;
    while (*p) {
        if (*p != '$') {
            p++;
            continue;
        }
        if (p > lit && add_part(t, V_LIT, lit, (size_t)(p - lit)) < 0)
            goto oom;
        const char *name, *end;
        if (p[1] == '{') {
            name = p + 2;
            end = name;
            while (name_char(*end))
                end++;
            if (*end != '}') {
                snprintf(err, errlen, "the closing bracket in \"%.*s\" variable is missing",
                         (int)(end - name), name);
                goto fail;
            }
            p = end + 1;
        } else {
            name = p + 1;
            end = name;
            while (name_char(*end))
                end++;
            p = end;
        }
        if (end == name) {
            snprintf(err, errlen, "invalid variable name in \"%s\"", src);
            goto fail;
        }
        err[0] = 0;
        if (add_var(t, name, (size_t)(end - name), err, errlen) < 0) {
            if (!err[0])
                goto oom;
            goto fail;
        }
        lit = p;
    }
    if (p > lit && add_part(t, V_LIT, lit, (size_t)(p - lit)) < 0)
        goto oom;
    t->is_const = true;
    for (int i = 0; i < t->nparts; i++)
        if (t->parts[i].v != V_LIT)
            t->is_const = false;
    return t;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    tmpl_free(t);
    return NULL;
}

bool tmpl_is_const(const struct tmpl *t)
{
    return t->is_const;
}

const char *tmpl_text(const struct tmpl *t)
{
    return t->src;
}

/* --- values ---------------------------------------------------------------- */

static const char hex[] = "0123456789ABCDEF";

static int put_escaped(struct buf *out, const char *s, size_t n, enum cf_escape esc)
{
    if (esc == CF_ESC_NONE)
        return buf_append(out, s, n);
    if (buf_reserve(out, n * 6) < 0)
        return -1;
    char *d = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (esc == CF_ESC_DEFAULT) {
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) {
                *d++ = '\\';
                *d++ = 'x';
                *d++ = hex[c >> 4];
                *d++ = hex[c & 15];
            } else {
                *d++ = (char)c;
            }
            continue;
        }
        switch (c) { /* JSON */
        case '"':
            *d++ = '\\';
            *d++ = '"';
            break;
        case '\\':
            *d++ = '\\';
            *d++ = '\\';
            break;
        case '\n':
            *d++ = '\\';
            *d++ = 'n';
            break;
        case '\r':
            *d++ = '\\';
            *d++ = 'r';
            break;
        case '\t':
            *d++ = '\\';
            *d++ = 't';
            break;
        case '\b':
            *d++ = '\\';
            *d++ = 'b';
            break;
        case '\f':
            *d++ = '\\';
            *d++ = 'f';
            break;
        default:
            if (c < 0x20) {
                memcpy(d, "\\u00", 4);
                d += 4;
                *d++ = hex[c >> 4];
                *d++ = hex[c & 15];
            } else {
                *d++ = (char)c;
            }
        }
    }
    out->len = (size_t)(d - out->data);
    out->data[out->len] = 0;
    return 0;
}

/* Finds NAME=value in an &-separated list (args, case-insensitive names as
 * nginx) or a ;-separated cookie list (case-sensitive, spaces trimmed). */
static bool find_pair(const char *s, size_t n, const char *name, size_t nl, char sep, bool nocase,
                      const char **v, size_t *vl)
{
    size_t i = 0;
    while (i < n) {
        while (sep == ';' && i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t st = i;
        while (i < n && s[i] != sep)
            i++;
        size_t e = i;
        i++;
        const char *eq = memchr(s + st, '=', e - st);
        if (!eq)
            continue;
        size_t kl = (size_t)(eq - (s + st));
        if (kl == nl && (nocase ? strncasecmp(s + st, name, nl) : strncmp(s + st, name, nl)) == 0) {
            *v = eq + 1;
            *vl = (size_t)(s + e - (eq + 1));
            return true;
        }
    }
    return false;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* The user of "Authorization: Basic ..." into buf; false when none. */
static bool remote_user(const struct req *r, char *out, size_t cap, size_t *len)
{
    const struct req_header *h = req_find_header(r, "Authorization", 13);
    if (!h || h->value_len < 6 || strncasecmp(h->value, "Basic ", 6) != 0)
        return false;
    const char *s = h->value + 6;
    size_t n = h->value_len - 6;
    while (n && *s == ' ')
        s++, n--;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = b64val(s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char c = (char)((acc >> bits) & 0xff);
            if (c == ':') {
                *len = o;
                return true;
            }
            if (o + 1 >= cap)
                return false;
            out[o++] = c;
        }
    }
    return false;
}

static void fmt_times(time_t t, char *local, size_t ll, char *iso, size_t il)
{
    static __thread time_t cached = -1;
    static __thread char c_local[64], c_iso[64];
    if (t != cached) {
        struct tm tm;
        localtime_r(&t, &tm);
        long off = tm.tm_gmtoff / 60;
        char sign = off < 0 ? '-' : '+';
        if (off < 0)
            off = -off;
        static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        snprintf(c_local, sizeof(c_local), "%02d/%s/%d:%02d:%02d:%02d %c%02ld%02ld", tm.tm_mday,
                 mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
                 off / 60, off % 60);
        snprintf(c_iso, sizeof(c_iso), "%d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 sign, off / 60, off % 60);
        cached = t;
    }
    if (local)
        snprintf(local, ll, "%s", c_local);
    if (iso)
        snprintf(iso, il, "%s", c_iso);
}

/* Writes variable part p; *found = false when the value is absent. */
static int eval_var(const struct part *p, const struct req *r, struct buf *out, enum cf_escape esc,
                    bool *found)
{
    char tmp[ADDR_STRLEN + 64];
    const char *s = NULL;
    size_t n = 0;
    int k;
    *found = true;
    switch (p->v) {
    case V_LIT:
        return buf_append(out, p->s, p->len);
    case V_HOST:
        if (r->host.len) {
            s = r->host.p;
            n = r->host.len;
        } else if (r->server && r->server->nnames) {
            s = r->server->names[0];
            n = strlen(s);
        }
        break;
    case V_REMOTE_ADDR:
    case V_SERVER_ADDR: {
        const struct addr *a = p->v == V_REMOTE_ADDR ? r->client : r->local;
        if (!a) {
            *found = false;
            return 0;
        }
        k = addr_host(a, tmp, sizeof(tmp));
        if (addr_is_unix(a)) {
            s = "unix:";
            n = 5;
        } else {
            s = tmp;
            n = k > 0 ? (size_t)k : 0;
        }
        break;
    }
    case V_REMOTE_PORT:
    case V_SERVER_PORT: {
        const struct addr *a = p->v == V_REMOTE_PORT ? r->client : r->local;
        if (!a || addr_is_unix(a)) {
            *found = p->v == V_SERVER_PORT && a;
            return 0;
        }
        k = snprintf(tmp, sizeof(tmp), "%d", addr_port(a));
        s = tmp;
        n = (size_t)k;
        break;
    }
    case V_REMOTE_USER:
        if (!remote_user(r, tmp, sizeof(tmp), &n)) {
            *found = false;
            return 0;
        }
        s = tmp;
        break;
    case V_SERVER_NAME:
        if (r->server && r->server->nnames) {
            s = r->server->names[0];
            n = strlen(s);
        }
        break;
    case V_SCHEME:
        s = "http";
        n = 4;
        break;
    case V_REQUEST:
        s = r->request_line.p;
        n = r->request_line.len;
        break;
    case V_REQUEST_METHOD:
        s = r->method.p;
        n = r->method.len;
        break;
    case V_REQUEST_URI:
        s = r->request_uri.p;
        n = r->request_uri.len;
        break;
    case V_URI:
        s = r->uri.p;
        n = r->uri.len;
        break;
    case V_ARGS:
        if (!r->args.p) {
            *found = false;
            return 0;
        }
        s = r->args.p;
        n = r->args.len;
        break;
    case V_IS_ARGS:
        if (r->args.p) {
            s = "?";
            n = 1;
        }
        break;
    case V_ARG:
        if (!r->args.p || !find_pair(r->args.p, r->args.len, p->s, p->len, '&', true, &s, &n)) {
            *found = false;
            return 0;
        }
        break;
    case V_HTTP: {
        const struct req_header *h = req_find_header(r, p->s, p->len);
        if (!h) {
            *found = false;
            return 0;
        }
        s = h->value;
        n = h->value_len;
        break;
    }
    case V_COOKIE: {
        bool got = false;
        for (int i = 0; i < r->nheaders && !got; i++) {
            const struct req_header *h = &r->headers[i];
            if (h->name_len == 6 && strncasecmp(h->name, "Cookie", 6) == 0)
                got = find_pair(h->value, h->value_len, p->s, p->len, ';', true, &s, &n);
        }
        if (!got) {
            *found = false;
            return 0;
        }
        break;
    }
    case V_DOCUMENT_ROOT:
        if (r->loc) {
            s = r->loc->alias ? r->loc->alias : r->loc->root;
            n = s ? strlen(s) : 0;
        }
        break;
    case V_SERVER_PROTOCOL:
        if (!r->request_line.p) {
            *found = false;
            return 0;
        }
        k = snprintf(tmp, sizeof(tmp), "HTTP/%d.%d", r->http_major, r->http_minor);
        s = tmp;
        n = (size_t)k;
        break;
    case V_HTTPS: /* "on" over TLS; the proxy has no TLS listeners */
        break;
    case V_SENT_HTTP:
        *found = false; /* response headers are not kept in the request record */
        return 0;
    case V_PROXY_HOST:
        if (r->loc && r->loc->proxy_host) {
            s = r->loc->proxy_host;
            n = strlen(s);
        }
        break;
    case V_PROXY_ADD_XFF: {
        const struct req_header *h = req_find_header(r, "X-Forwarded-For", 15);
        if (h && h->value_len) {
            if (put_escaped(out, h->value, h->value_len, esc) < 0 ||
                put_escaped(out, ", ", 2, esc) < 0)
                return -1;
        }
        if (r->client) {
            k = addr_host(r->client, tmp, sizeof(tmp));
            s = addr_is_unix(r->client) ? "unix:" : tmp;
            n = addr_is_unix(r->client) ? 5 : (k > 0 ? (size_t)k : 0);
        }
        break;
    }
    case V_STATUS:
        k = snprintf(tmp, sizeof(tmp), "%03d", r->status);
        s = tmp;
        n = (size_t)k;
        break;
    case V_BODY_BYTES_SENT:
    case V_BYTES_SENT:
    case V_REQUEST_LENGTH:
        k = snprintf(tmp, sizeof(tmp), "%llu",
                     (unsigned long long)(p->v == V_BODY_BYTES_SENT ? r->body_bytes_sent
                                          : p->v == V_BYTES_SENT    ? r->bytes_sent
                                                                    : r->request_length));
        s = tmp;
        n = (size_t)k;
        break;
    case V_REQUEST_TIME: {
        struct timespec now;
        timing_wall(&now);
        long long ms = (long long)(now.tv_sec - r->start.tv_sec) * 1000 +
                       (now.tv_nsec - r->start.tv_nsec) / 1000000;
        if (ms < 0 || r->start.tv_sec == 0)
            ms = 0;
        k = snprintf(tmp, sizeof(tmp), "%lld.%03lld", ms / 1000, ms % 1000);
        s = tmp;
        n = (size_t)k;
        break;
    }
    case V_REQUEST_ID:
        s = r->request_id;
        n = strnlen(r->request_id, sizeof(r->request_id));
        break;
    case V_TIME_LOCAL:
    case V_TIME_ISO8601:
    case V_MSEC: {
        struct timespec now;
        timing_wall(&now);
        if (p->v == V_MSEC)
            k = snprintf(tmp, sizeof(tmp), "%lld.%03ld", (long long)now.tv_sec,
                         now.tv_nsec / 1000000);
        else if (p->v == V_TIME_LOCAL)
            fmt_times(now.tv_sec, tmp, sizeof(tmp), NULL, 0);
        else
            fmt_times(now.tv_sec, NULL, 0, tmp, sizeof(tmp));
        s = tmp;
        n = strlen(tmp);
        break;
    }
    case V_UP_ADDR:
    case V_UP_STATUS:
    case V_UP_CONNECT_TIME:
    case V_UP_HEADER_TIME:
    case V_UP_RESPONSE_TIME: {
        const struct buf *b = p->v == V_UP_ADDR           ? &r->upstream_addr
                              : p->v == V_UP_STATUS       ? &r->upstream_status
                              : p->v == V_UP_CONNECT_TIME ? &r->upstream_connect_time
                              : p->v == V_UP_HEADER_TIME  ? &r->upstream_header_time
                                                          : &r->upstream_response_time;
        if (!b->len) {
            *found = false;
            return 0;
        }
        s = b->data;
        n = b->len;
        break;
    }
    case V_CONTENT_LENGTH:
    case V_CONTENT_TYPE: {
        const struct req_header *h = p->v == V_CONTENT_LENGTH
                                         ? req_find_header(r, "Content-Length", 14)
                                         : req_find_header(r, "Content-Type", 12);
        if (!h && p->v == V_CONTENT_LENGTH && (r->body.p || r->body_file) &&
            r->content_length >= 0) {
            /* a chunked body read whole has a length (nginx's content_length_n) */
            k = snprintf(tmp, sizeof(tmp), "%lld", (long long)r->content_length);
            s = tmp;
            n = (size_t)k;
            break;
        }
        if (!h) {
            *found = false;
            return 0;
        }
        s = h->value;
        n = h->value_len;
        break;
    }
    case V_REQUEST_BODY: /* only a body kept in memory, as nginx's */
        if (!r->body.p) {
            *found = false;
            return 0;
        }
        s = r->body.p;
        n = r->body.len;
        break;
    case V_REQUEST_BODY_FILE:
        if (!r->body_file) {
            *found = false;
            return 0;
        }
        s = r->body_file;
        n = strlen(s);
        break;
    }
    if (!s || !n)
        return 0;
    return put_escaped(out, s, n, esc);
}

static int eval(const struct tmpl *t, const struct req *r, struct buf *out, enum cf_escape esc,
                bool dash)
{
    for (int i = 0; i < t->nparts; i++) {
        const struct part *p = &t->parts[i];
        if (p->v == V_LIT) {
            if (buf_append(out, p->s, p->len) < 0)
                return -1;
            continue;
        }
        bool found;
        size_t before = out->len;
        if (eval_var(p, r, out, esc, &found) < 0)
            return -1;
        if (!found && dash && esc != CF_ESC_JSON && out->len == before &&
            buf_append(out, "-", 1) < 0)
            return -1;
    }
    if (buf_reserve(out, 0) < 0)
        return -1;
    return 0;
}

int tmpl_eval(const struct tmpl *t, const struct req *r, struct buf *out, enum cf_escape esc)
{
    return eval(t, r, out, esc, false);
}

int tmpl_eval_log(const struct tmpl *t, const struct req *r, struct buf *out, enum cf_escape esc)
{
    return eval(t, r, out, esc, true);
}
