/* gw_http: request head parsing (see gw_http.h).  The codec (common/http1.h)
 * finds the head and refuses what llhttp 8.1.0 would let through; llhttp then
 * parses the checked head and its callbacks fill the request; the codec
 * judges the framing fields as a whole. */
#include "gw_http.h"

#include <llhttp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

/* header fields a request may have; more: 431 */
#define MAX_HEADERS 256

struct parse_ctx {
    struct gw_req *r;
    bool in_value; /* the last callback was a value */
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
    if (r->nhdrs == r->hcap)
        return -1; /* counted and grown beforehand: cannot happen */
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

static int on_headers_complete(llhttp_t *p)
{
    (void)p;
    return 1; /* the body's framing is the codec's to judge, never llhttp's */
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
        s.on_headers_complete = on_headers_complete;
        init = true;
    }
    return &s;
}

static bool method_is(const struct gw_req *r, const char *m)
{
    return http_method_is(r->method, r->method_len, m);
}

/* Makes room for n header fields. 0 or -1. */
/* Fills r's framing from its fields with the codec's rules, then refuses
 * what only the gateway cannot serve: a transfer coding before chunked. */
static int check_fields(struct gw_req *r, const struct http1_target *t)
{
    const char *why;
    struct http1_framing f;
    http1_framing_init(&f);
    for (int i = 0; i < r->nhdrs; i++) {
        struct gw_hdr *h = &r->hdrs[i];
        http1_trim(&h->value, &h->value_len);
        int rc = http1_framing_field(&f, h->name, h->name_len, h->value, h->value_len, &why);
        if (rc)
            return rc;
    }
    const char *host;
    size_t host_len;
    int rc = http1_framing_end(&f, r->http_minor, t, &r->keepalive, &host, &host_len, &why);
    if (rc)
        return rc;
    if (f.codings)
        return 501; /* gzip and the like: not decoded here */
    r->content_length = f.content_length;
    r->chunked = f.chunked;
    r->expect_continue = f.expect_continue;
    return 0;
}

int gw_http_parse(const char *data, size_t len, size_t max_head, struct gw_req *r, size_t *head_len)
{
    const struct http1_limits lim = {max_head, max_head, MAX_HEADERS};
    const char *why;
    struct http1_reqline rl;
    size_t skip = 0, hl = 0;
    int rc = http1_find_head(data, len, &lim, &skip, &hl);
    if (rc == 0) {
        /* judge the request line as soon as it is whole */
        const char *nl = memchr(data + skip, '\n', len - skip);
        if (nl && (rc = http1_request_line(data + skip, (size_t)(nl + 1 - (data + skip)), &rl,
                                           &why)) != 0)
            return rc;
        return GW_HTTP_AGAIN;
    }
    if (rc != 1)
        return rc;
    const char *h = data + skip;
    rc = http1_request_line(h, hl, &rl, &why);
    if (rc)
        return rc;
    int nf = 0;
    rc = http1_scan_fields(h + rl.len, h + hl, &lim, &nf, &why);
    if (rc)
        return rc;
    gw_req_reset(r);
    if (gw_req_reserve(r, nf + 1) < 0)
        return 431;
    r->method = rl.method;
    r->method_len = rl.method_len;
    r->http_minor = rl.minor;
    /* any token is a method: llhttp reads a stand-in for one it does not
     * know (common/httpmethod.h), so parser.method is not the request's:
     * the checks below look at r->method */
    llhttp_t parser;
    struct parse_ctx ctx = {r, false};
    llhttp_init(&parser, HTTP_REQUEST, settings());
    parser.data = &ctx;
    enum llhttp_errno e = http_execute_request(&parser, h, hl, rl.method_len);
    if ((e != HPE_OK && e != HPE_PAUSED_UPGRADE) || r->nhdrs != nf || !r->uri)
        return 400;
    if (method_is(r, "CONNECT"))
        return 405;
    struct http1_target t;
    rc = http1_target(&rl, &t, &why);
    if (rc)
        return rc;
    r->is_head = method_is(r, "HEAD");
    /* WSGI wants the path only, also of an absolute-form target */
    const char *q = memchr(t.path, '?', t.path_len);
    r->path = t.path;
    r->path_len = q ? (size_t)(q - t.path) : t.path_len;
    r->query = q ? q + 1 : t.path + t.path_len;
    r->query_len = q ? t.path_len - r->path_len - 1 : 0;
    if (r->path_len == 0) {
        r->path = "/";
        r->path_len = 1;
    }
    rc = check_fields(r, &t);
    if (rc)
        return rc;
    *head_len = skip + hl;
    return GW_HTTP_OK;
}

size_t gw_http_pct_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < n && (hi = http1_hexval((unsigned char)in[i + 1])) >= 0 &&
            (lo = http1_hexval((unsigned char)in[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else
            out[o++] = in[i];
    }
    return o;
}
