/* http: request head parsing (see http.h).  A first pass walks the head line
 * by line and refuses what llhttp 8.1.0 would let through; llhttp then parses
 * the checked head and its callbacks fill the request; a last pass checks the
 * framing headers as a whole. */
#include "gw_http.h"

#include <llhttp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "httpmethod.h"

#define MAX_HEADERS 256

void gw_req_reset(struct gw_req *r)
{
    struct gw_hdr *h = r->hdrs;
    int cap = r->hcap;
    memset(r, 0, sizeof(*r));
    r->hdrs = h;
    r->hcap = cap;
    r->content_length = -1;
}

void gw_req_free(struct gw_req *r)
{
    free(r->hdrs);
    r->hdrs = NULL;
    r->hcap = 0;
    r->nhdrs = 0;
}

/* Checks one header line (without its CRLF): a token name, ':', a value
 * without control characters other than HTAB.  0 or 400. */
static int check_header_line(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && http_tchar[p[i]])
        i++;
    if (i == 0 || i == n || p[i] != ':')
        return 400; /* empty name, no colon, or a space/invalid byte in the name */
    for (i++; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
            return 400;
    return 0;
}

/* Checks the request line: method SP target SP HTTP/1.d.  0, 400 or 505. */
static int check_request_line(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && http_tchar[p[i]])
        i++;
    if (i == 0 || i == n || p[i] != ' ')
        return 400;
    size_t t = ++i;
    while (i < n && p[i] > 0x20 && p[i] != 0x7f)
        i++;
    if (i == t || i == n || p[i] != ' ')
        return 400;
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || p[i + 6] != '.' || p[i + 5] < '0' ||
        p[i + 5] > '9' || p[i + 7] < '0' || p[i + 7] > '9')
        return 400;
    if (p[i + 5] != '1' || p[i + 7] > '1')
        return 505;
    return 0;
}

/* First pass: finds the end of the head and checks every line.  Returns
 * GW_HTTP_AGAIN, GW_HTTP_OK (*skip: leading CRLFs, *end: bytes through the
 * blank line) or an error status. */
static int scan_head(const unsigned char *p, size_t len, size_t max_head, size_t *skip, size_t *end)
{
    size_t i = 0;
    while (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
        i += 2;
    if (i < len && p[i] == '\n')
        return 400;
    *skip = i;
    size_t line = i;
    bool first = true;
    for (;;) {
        const unsigned char *nl = memchr(p + line, '\n', len - line);
        size_t limit = len - *skip;
        if (!nl) {
            /* refuse what cannot become valid now, not when the client
             * finishes its line: a CR not ending it, a folded line */
            const unsigned char *cr = memchr(p + line, '\r', len - line);
            if (cr && cr + 1 < p + len)
                return 400;
            if (!first && len > line && (p[line] == ' ' || p[line] == '\t'))
                return 400;
            return limit > max_head ? 431 : GW_HTTP_AGAIN;
        }
        size_t eol = (size_t)(nl - p);
        if (eol + 1 - *skip > max_head)
            return 431;
        if (eol == line || p[eol - 1] != '\r')
            return 400; /* bare LF */
        size_t n = eol - 1 - line;
        if (memchr(p + line, '\r', n))
            return 400; /* bare CR */
        if (first) {
            int rc = check_request_line(p + line, n);
            if (rc)
                return rc;
            first = false;
        } else if (n == 0) {
            *end = eol + 1;
            return GW_HTTP_OK;
        } else if (p[line] == ' ' || p[line] == '\t') {
            return 400; /* obs-fold */
        } else {
            int rc = check_header_line(p + line, n);
            if (rc)
                return rc;
        }
        line = eol + 1;
    }
}

struct parse_ctx {
    struct gw_req *r;
    bool in_value; /* the last callback was a value */
    bool nomem;
};

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct parse_ctx *c = p->data;
    if (c->r->uri)
        c->r->uri_len += len; /* a continuation: contiguous in our buffer */
    else {
        c->r->uri = at;
        c->r->uri_len = len;
    }
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct parse_ctx *c = p->data;
    struct gw_req *r = c->r;
    if (r->nhdrs > 0 && !c->in_value) {
        r->hdrs[r->nhdrs - 1].name_len += len;
        return 0;
    }
    if (r->nhdrs == r->hcap) {
        if (r->hcap >= MAX_HEADERS) {
            c->nomem = true;
            return -1;
        }
        int ncap = r->hcap ? r->hcap * 2 : 32;
        struct gw_hdr *nh = realloc(r->hdrs, sizeof(*nh) * (size_t)ncap);
        if (!nh) {
            c->nomem = true;
            return -1;
        }
        r->hdrs = nh;
        r->hcap = ncap;
    }
    struct gw_hdr *h = &r->hdrs[r->nhdrs++];
    h->name = at;
    h->name_len = len;
    h->value = at + len; /* empty until a value callback */
    h->value_len = 0;
    c->in_value = false;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct parse_ctx *c = p->data;
    struct gw_hdr *h = &c->r->hdrs[c->r->nhdrs - 1];
    if (c->in_value)
        h->value_len += len;
    else {
        h->value = at;
        h->value_len = len;
    }
    c->in_value = true;
    return 0;
}

static const llhttp_settings_t *settings(void)
{
    static llhttp_settings_t s;
    static bool init;
    if (!init) {
        llhttp_settings_init(&s);
        s.on_url = on_url;
        s.on_header_field = on_header_field;
        s.on_header_value = on_header_value;
        init = true;
    }
    return &s;
}

/* b: lower case */
static bool eq_ci(const char *a, size_t al, const char *b)
{
    return http_ieq(a, al, b, strlen(b));
}

static bool method_is(const struct gw_req *r, const char *m)
{
    return http_method_is(r->method, r->method_len, m);
}

/* Does the comma-separated list `v` contain `token` (case-insensitive)? */
static bool has_token(const char *v, size_t n, const char *token)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s && eq_ci(v + s, e - s, token))
            return true;
    }
    return false;
}

/* Last pass over the headers: framing, Host, keep-alive, Expect. */
static int check_headers(struct gw_req *r)
{
    int ncl = 0, nte = 0, nhost = 0, nctype = 0;
    bool conn_close = false, conn_keep = false;
    for (int i = 0; i < r->nhdrs; i++) {
        struct gw_hdr *h = &r->hdrs[i];
        while (h->value_len &&
               (h->value[h->value_len - 1] == ' ' || h->value[h->value_len - 1] == '\t'))
            h->value_len--;
        while (h->value_len && (h->value[0] == ' ' || h->value[0] == '\t')) {
            h->value++;
            h->value_len--;
        }
        if (eq_ci(h->name, h->name_len, "content-length")) {
            if (++ncl > 1 || h->value_len == 0 || h->value_len > 18)
                return 400;
            int64_t v = 0;
            for (size_t k = 0; k < h->value_len; k++) {
                if (h->value[k] < '0' || h->value[k] > '9')
                    return 400;
                v = v * 10 + (h->value[k] - '0');
            }
            r->content_length = v;
        } else if (eq_ci(h->name, h->name_len, "transfer-encoding")) {
            nte++;
            if (!eq_ci(h->value, h->value_len, "chunked"))
                /* a coding we do not implement, or an empty/garbled one */
                return http_tchar[(unsigned char)(h->value_len ? h->value[0] : ' ')] ? 501 : 400;
            if (nte > 1)
                return 400;
            r->chunked = true;
        } else if (eq_ci(h->name, h->name_len, "host")) {
            nhost++;
        } else if (eq_ci(h->name, h->name_len, "content-type")) {
            nctype++;
        } else if (eq_ci(h->name, h->name_len, "connection")) {
            conn_close = conn_close || has_token(h->value, h->value_len, "close");
            conn_keep = conn_keep || has_token(h->value, h->value_len, "keep-alive");
        } else if (eq_ci(h->name, h->name_len, "expect")) {
            if (eq_ci(h->value, h->value_len, "100-continue"))
                r->expect_continue = true;
        }
    }
    if (ncl && nte)
        return 400;
    if (nhost > 1 || (nhost == 0 && r->http_minor == 1) || nctype > 1)
        return 400;
    if (r->chunked && r->http_minor == 0)
        return 400; /* chunked did not exist in HTTP/1.0: a smuggling shape */
    r->keepalive = r->http_minor == 1 ? !conn_close : (conn_keep && !conn_close);
    if (r->chunked)
        r->content_length = -1;
    return 0;
}

int gw_http_parse(const char *data, size_t len, size_t max_head, struct gw_req *r, size_t *head_len)
{
    size_t skip = 0, end = 0;
    int rc = scan_head((const unsigned char *)data, len, max_head, &skip, &end);
    if (rc != GW_HTTP_OK)
        return rc;
    gw_req_reset(r);
    /* scan_head checked the method: a token, then SP */
    r->method = data + skip;
    r->method_len = (size_t)((const char *)memchr(r->method, ' ', end - skip) - r->method);
    /* any token is a method: llhttp reads a stand-in for one it does not
     * know (common/httpmethod.h), so parser.method is not the request's:
     * the checks below look at r->method */
    llhttp_t parser;
    struct parse_ctx ctx = {r, false, false};
    llhttp_init(&parser, HTTP_REQUEST, settings());
    parser.data = &ctx;
    enum llhttp_errno e =
        http_execute_request(&parser, r->method, (size_t)(data + end - r->method), r->method_len);
    if (ctx.nomem)
        return 431;
    if (e != HPE_OK && e != HPE_PAUSED_UPGRADE)
        return 400;
    if (parser.http_major != 1 || parser.http_minor > 1)
        return 505;
    if (method_is(r, "CONNECT"))
        return 405;
    if (r->uri && r->uri_len == 1 && r->uri[0] == '*' && !method_is(r, "OPTIONS"))
        return 400; /* asterisk-form is for OPTIONS only */
    r->http_minor = parser.http_minor;
    r->is_head = method_is(r, "HEAD");
    if (!r->uri)
        return 400;
    const char *q = memchr(r->uri, '?', r->uri_len);
    r->path = r->uri;
    r->path_len = q ? (size_t)(q - r->uri) : r->uri_len;
    r->query = q ? q + 1 : r->uri + r->uri_len;
    r->query_len = q ? r->uri_len - r->path_len - 1 : 0;
    /* an absolute-form target (proxy style): WSGI wants the path only */
    if (r->path_len && r->path[0] != '/' && r->path[0] != '*') {
        const char *sch = memchr(r->path, ':', r->path_len);
        if (!sch || sch + 3 > r->path + r->path_len || sch[1] != '/' || sch[2] != '/')
            return 400;
        const char *slash = memchr(sch + 3, '/', (size_t)(r->path + r->path_len - (sch + 3)));
        size_t plen = slash ? (size_t)(r->path + r->path_len - slash) : 0;
        r->path = slash ? slash : "/";
        r->path_len = slash ? plen : 1;
    }
    rc = check_headers(r);
    if (rc)
        return rc;
    *head_len = end;
    return GW_HTTP_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t gw_http_pct_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < n && (hi = hexval(in[i + 1])) >= 0 &&
            (lo = hexval(in[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else
            out[o++] = in[i];
    }
    return o;
}

const char *gw_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}
