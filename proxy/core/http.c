/* http: heads through llhttp, framing judged strictly (see http.h). */
#define _GNU_SOURCE
#include "http.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool http_hop_by_hop(const char *name, size_t len, const struct req_str *conn)
{
    /* by length first: this runs for every field in both directions */
    bool hop;
    switch (len) {
    case 2:
        hop = HTTP_IEQ(name, len, "te");
        break;
    case 7:
        hop = HTTP_IEQ(name, len, "trailer") || HTTP_IEQ(name, len, "upgrade");
        break;
    case 10:
        hop = HTTP_IEQ(name, len, "connection") || HTTP_IEQ(name, len, "keep-alive");
        break;
    case 16:
        hop = HTTP_IEQ(name, len, "proxy-connection");
        break;
    case 17:
        hop = HTTP_IEQ(name, len, "transfer-encoding");
        break;
    default:
        hop = false;
        break;
    }
    if (hop)
        return true;
    if (conn && conn->p) {
        /* a field the sender named in Connection is also hop-by-hop */
        const char *p = conn->p, *e;
        size_t el;
        while (http1_list_next(&p, conn->p + conn->len, &e, &el))
            if (el == len && strncasecmp(e, name, len) == 0)
                return true;
    }
    return false;
}

/* --- llhttp callbacks, shared by both parsers ----------------------------- */

struct cb_ctx {
    struct req_header **hdrs;
    int *n, *cap;
    bool in_value;
    struct req_str url, status;
};

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct cb_ctx *x = p->data;
    if (!x->url.p)
        x->url.p = at;
    x->url.len = (size_t)(at + len - x->url.p);
    return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
    struct cb_ctx *x = p->data;
    if (!x->status.p)
        x->status.p = at;
    x->status.len = (size_t)(at + len - x->status.p);
    return 0;
}

static int on_field(llhttp_t *p, const char *at, size_t len)
{
    struct cb_ctx *x = p->data;
    struct req_header *h;
    if (x->in_value || *x->n == 0 ||
        (*x->hdrs)[*x->n - 1].name + (*x->hdrs)[*x->n - 1].name_len != at) {
        if (*x->n >= *x->cap)
            return -1; /* counted beforehand: cannot happen */
        h = &(*x->hdrs)[(*x->n)++];
        h->name = at;
        h->name_len = len;
        h->value = at + len; /* empty until a value arrives */
        h->value_len = 0;
        x->in_value = false;
    } else {
        h = &(*x->hdrs)[*x->n - 1];
        h->name_len += len;
    }
    return 0;
}

static int on_value(llhttp_t *p, const char *at, size_t len)
{
    struct cb_ctx *x = p->data;
    if (*x->n == 0)
        return -1;
    struct req_header *h = &(*x->hdrs)[*x->n - 1];
    if (!x->in_value) {
        h->value = at;
        h->value_len = len;
        x->in_value = true;
    } else {
        h->value_len = (size_t)(at + len - h->value);
    }
    return 0;
}

static int on_value_complete(llhttp_t *p)
{
    struct cb_ctx *x = p->data;
    x->in_value = true; /* the next field starts a new header */
    if (*x->n) {
        struct req_header *h = &(*x->hdrs)[*x->n - 1];
        http1_trim(&h->value, &h->value_len);
    }
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    (void)p;
    return 1; /* bodies are framed by us, never by llhttp */
}

static const llhttp_settings_t *settings(void)
{
    static llhttp_settings_t s;
    static bool done;
    if (!done) {
        llhttp_settings_init(&s);
        s.on_url = on_url;
        s.on_status = on_status;
        s.on_header_field = on_field;
        s.on_header_value = on_value;
        s.on_header_value_complete = on_value_complete;
        s.on_headers_complete = on_headers_complete;
        done = true;
    }
    return &s;
}

static int grow_headers(struct req_header **h, int *cap, int need)
{
    if (need <= *cap)
        return 0;
    int nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    struct req_header *nh = realloc(*h, (size_t)nc * sizeof(**h));
    if (!nh)
        return -1;
    *h = nh;
    *cap = nc;
    return 0;
}

/* Runs llhttp over a head already checked by the strict scanner; a request
 * head through http_execute_request(), whose first `method_len` bytes are
 * its method (any token: see common/httpmethod.h). */
static int run_llhttp(llhttp_t *p, llhttp_type_t type, struct cb_ctx *x, const char *head,
                      size_t len, size_t method_len)
{
    llhttp_init(p, type, settings());
    p->data = x;
    llhttp_errno_t e = type == HTTP_REQUEST ? http_execute_request(p, head, len, method_len)
                                            : llhttp_execute(p, head, len);
    if (e != HPE_OK && e != HPE_PAUSED_UPGRADE)
        return -1;
    return 0;
}

/* --- requests ------------------------------------------------------------- */

void http_reqp_init(struct http_reqp *hp)
{
    memset(hp, 0, sizeof(*hp));
}

void http_reqp_free(struct http_reqp *hp)
{
    buf_free(&hp->head);
    buf_free(&hp->uri);
    free(hp->hdrs);
    hp->hdrs = NULL;
    hp->hcap = 0;
}

/* Decodes and normalises the path [p, p+len) into out: %XX decoded,
 * slashes merged, "." and ".." resolved.  0, or -1 when invalid (bad escape,
 * NUL, ".." above the root). */
static int normalize_path(struct buf *out, const char *p, size_t len)
{
    buf_reset(out);
    if (buf_reserve(out, len + 1) < 0)
        return -1;
    char *o = out->data;
    size_t n = 0;
    for (size_t i = 0; i <= len; i++) {
        int ch;
        if (i == len) {
            ch = '/'; /* virtual end: resolves a trailing "." or ".." */
        } else {
            ch = (unsigned char)p[i];
            if (ch == '%') {
                if (i + 2 >= len)
                    return -1;
                int a = http1_hexval((unsigned char)p[i + 1]),
                    b = http1_hexval((unsigned char)p[i + 2]);
                if (a < 0 || b < 0)
                    return -1;
                ch = a * 16 + b;
                if (ch == 0)
                    return -1;
                i += 2;
            }
        }
        if (ch == '/') {
            /* end of a segment: look at it */
            size_t s = n;
            while (s > 0 && o[s - 1] != '/')
                s--;
            size_t sl = n - s;
            if (sl == 1 && o[s] == '.') {
                n = s;
            } else if (sl == 2 && o[s] == '.' && o[s + 1] == '.') {
                if (s <= 1)
                    return -1; /* above the root */
                n = s - 1;
                while (n > 0 && o[n - 1] != '/')
                    n--;
            } else if (i < len && n > 0 && o[n - 1] == '/') {
                /* merge slashes */
            } else if (i < len) {
                o[n++] = '/';
            } else if (n == 0) {
                o[n++] = '/';
            }
            continue;
        }
        o[n++] = (char)ch;
    }
    if (n == 0)
        o[n++] = '/';
    o[n] = '\0';
    out->len = n;
    return 0;
}

static int refuse(struct http_reqp *hp, int status, const char *why)
{
    hp->why = why;
    return status;
}

int http_parse_request(struct http_reqp *hp, const char *head, size_t len, struct req *r)
{
    static const struct http1_limits lim = {0, 0, HTTP_MAX_HEADERS};
    hp->why = NULL;
    hp->expect_continue = false;
    hp->te_codings = (struct req_str){NULL, 0};
    buf_reset(&hp->head);
    if (buf_append(&hp->head, head, len) < 0)
        return refuse(hp, 500, "out of memory");
    const char *h = hp->head.data, *end = h + len;

    struct http1_reqline rl;
    int st = http1_request_line(h, len, &rl, &hp->why);
    if (st)
        return st;
    const char *fields = h + rl.len;
    int nf = 0;
    st = http1_scan_fields(fields, end, &lim, &nf, &hp->why);
    if (st)
        return st;
    if (grow_headers(&hp->hdrs, &hp->hcap, nf + 1) < 0)
        return refuse(hp, 500, "out of memory");

    /* any token is a method: llhttp reads a stand-in for one it does not
     * know (common/httpmethod.h); r->method is taken from the head */
    int n = 0;
    struct cb_ctx x = {.hdrs = &hp->hdrs, .n = &n, .cap = &hp->hcap};
    if (run_llhttp(&hp->p, HTTP_REQUEST, &x, h, len, rl.method_len) < 0 || !x.url.p)
        return refuse(hp, 400,
                      llhttp_get_error_reason(&hp->p) ? llhttp_get_error_reason(&hp->p)
                                                      : "malformed request");
    if (n != nf)
        return refuse(hp, 400, "header count mismatch");

    r->method = (struct req_str){rl.method, rl.method_len};
    r->request_line = (struct req_str){h, rl.len - 2};
    r->http_major = rl.major;
    r->http_minor = rl.minor;
    r->headers = hp->hdrs;
    r->nheaders = n;
    r->content_length = -1;
    r->chunked = false;
    /* any case: "connect" is an extension method, but an upstream that
     * folds case must never be asked to open a tunnel */
    if (HTTP_IEQ(r->method.p, r->method.len, "connect"))
        return refuse(hp, 405, "CONNECT is not supported");

    struct http1_target t;
    st = http1_target(&rl, &t, &hp->why);
    if (st)
        return st;
    const char *path = t.path, *t_end = t.path + t.path_len;
    r->request_uri = (struct req_str){t.path_len ? path : "/", t.path_len ? t.path_len : 1};
    if (t.form == HTTP1_TARGET_ASTERISK) {
        buf_reset(&hp->uri);
        if (buf_append(&hp->uri, "*", 1) < 0)
            return refuse(hp, 500, "out of memory");
        r->uri = (struct req_str){hp->uri.data, 1};
    } else {
        const char *ps = path, *pe = path;
        while (pe < t_end && *pe != '?' && *pe != '#')
            pe++;
        if (pe < t_end && *pe == '?') {
            const char *as = pe + 1, *ae = as;
            while (ae < t_end && *ae != '#')
                ae++;
            r->args = (struct req_str){as, (size_t)(ae - as)};
        }
        if (normalize_path(&hp->uri, ps == pe ? "/" : ps, ps == pe ? 1 : (size_t)(pe - ps)) < 0)
            return refuse(hp, 400, "invalid path (bad escape or above the root)");
        r->uri = (struct req_str){hp->uri.data, hp->uri.len};
    }

    /* framing, Host and persistence: the codec's rules */
    struct http1_framing f;
    http1_framing_init(&f);
    for (int i = 0; i < n; i++) {
        const struct req_header *fl = &hp->hdrs[i];
        st = http1_framing_field(&f, fl->name, fl->name_len, fl->value, fl->value_len, &hp->why);
        if (st)
            return st;
    }
    const char *host;
    size_t host_len;
    st = http1_framing_end(&f, rl.minor, &t, &r->keepalive, &host, &host_len, &hp->why);
    if (st)
        return st;
    r->content_length = f.content_length;
    r->chunked = f.chunked;
    hp->expect_continue = f.expect_continue;
    if (f.codings)
        hp->te_codings = (struct req_str){f.codings, f.codings_len};
    /* $host is lower case: the head copy is ours, so lowercase it where it
     * lies (the Host field forwarded upstream is then lowercase too, which
     * is harmless) */
    char *w = (char *)host;
    for (size_t i = 0; i < host_len; i++)
        if (w[i] >= 'A' && w[i] <= 'Z')
            w[i] = (char)(w[i] - 'A' + 'a');
    r->host = (struct req_str){host, host_len};
    return 0;
}

/* --- responses ------------------------------------------------------------ */

/* A response head the strict checks passed (status line, then the nf field
 * lines from `fields` on) is split into hdrs here when llhttp, which costs
 * more than everything else in a response head, could only accept it the
 * same way: HTTP/1.0 or 1.1, no Transfer-Encoding, at most one
 * Content-Length, and that one only digits.  Field values are the bytes
 * http1_scan_fields() let through, which are llhttp's strict header value
 * characters too.  False (hdrs then undefined) sends the head to llhttp. */
static bool plain_response(const char *h, const char *fields, const char *end, int nf,
                           struct req_header *hdrs)
{
    if (h[5] != '1' || (h[7] != '0' && h[7] != '1'))
        return false;
    bool cl = false;
    const char *p = fields;
    for (int i = 0; i < nf; i++) {
        /* both exist: http1_scan_fields() saw them */
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *cr = memchr(colon, '\r', (size_t)(end - colon));
        const char *v = colon + 1;
        size_t nl = (size_t)(colon - p), vl = (size_t)(cr - v);
        http1_trim(&v, &vl);
        if (HTTP_IEQ(p, nl, "transfer-encoding"))
            return false;
        if (HTTP_IEQ(p, nl, "content-length")) {
            /* llhttp allows spaces only after the digits (a tab: its error) */
            int64_t dummy;
            if (cl || memchr(v, '\t', (size_t)(cr - v)) || http1_content_length(v, vl, &dummy) < 0)
                return false; /* llhttp's refusal and reason, not ours */
            cl = true;
        }
        hdrs[i] = (struct req_header){p, nl, v, vl};
        p = cr + 2;
    }
    return true;
}

void http_resp_init(struct http_resp *rp)
{
    memset(rp, 0, sizeof(*rp));
    rp->content_length = -1;
}

void http_resp_free(struct http_resp *rp)
{
    buf_free(&rp->head);
    free(rp->hdrs);
    rp->hdrs = NULL;
    rp->hcap = 0;
}

int http_parse_response(struct http_resp *rp, const char *head, size_t len)
{
    rp->why = NULL;
    rp->nhdrs = 0;
    rp->status = 0;
    rp->content_length = -1;
    rp->chunked = false;
    rp->conn_close = false;
    rp->connection = (struct req_str){NULL, 0};
    buf_reset(&rp->head);
    if (buf_append(&rp->head, head, len) < 0) {
        rp->why = "out of memory";
        return -1;
    }
    const char *h = rp->head.data, *end = h + len;
    /* status line: HTTP/d.d SP 3DIGIT [SP reason] CRLF */
    if (len < 14 || memcmp(h, "HTTP/", 5) != 0 || h[5] < '0' || h[5] > '9' || h[6] != '.' ||
        h[7] < '0' || h[7] > '9' || h[8] != ' ' || h[9] < '1' || h[9] > '5' || h[10] < '0' ||
        h[10] > '9' || h[11] < '0' || h[11] > '9' || (h[12] != ' ' && h[12] != '\r')) {
        rp->why = "invalid status line";
        return -1;
    }
    const char *q = h + 12;
    while (q < end && *q != '\r') {
        if (!http1_is_vchar((unsigned char)*q)) {
            rp->why = "invalid reason phrase";
            return -1;
        }
        q++;
    }
    if (q + 1 >= end || q[1] != '\n') {
        rp->why = "bare CR in status line";
        return -1;
    }
    /* an upstream's response: as many fields as the head's size allows */
    static const struct http1_limits lim = {0, 0, INT_MAX};
    int nf = 0;
    if (http1_scan_fields(q + 2, end, &lim, &nf, &rp->why))
        return -1;
    if (grow_headers(&rp->hdrs, &rp->hcap, nf + 1) < 0) {
        rp->why = "out of memory";
        return -1;
    }
    int n = 0;
    struct cb_ctx x = {.hdrs = &rp->hdrs, .n = &n, .cap = &rp->hcap};
    if (plain_response(h, q + 2, end, nf, rp->hdrs)) {
        n = nf;
    } else if (run_llhttp(&rp->p, HTTP_RESPONSE, &x, h, len, 0) < 0 || n != nf) {
        rp->why = llhttp_get_error_reason(&rp->p) ? llhttp_get_error_reason(&rp->p)
                                                  : "malformed response";
        return -1;
    }
    rp->nhdrs = n;
    rp->http_major = h[5] - '0';
    rp->http_minor = h[7] - '0';
    rp->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    if (rp->http_major != 1) {
        rp->why = "unsupported HTTP version";
        return -1;
    }
    bool te = false, close = false, ka = false;
    for (int i = 0; i < n; i++) {
        const struct req_header *f = &rp->hdrs[i];
        if (HTTP_IEQ(f->name, f->name_len, "content-length")) {
            int64_t v;
            if (http1_content_length(f->value, f->value_len, &v) < 0 ||
                (rp->content_length >= 0 && v != rp->content_length)) {
                rp->why = "invalid Content-Length";
                return -1;
            }
            rp->content_length = v;
        } else if (HTTP_IEQ(f->name, f->name_len, "transfer-encoding")) {
            te = true;
            /* chunked must be the final coding */
            const char *v = f->value;
            size_t vl = f->value_len;
            const char *last = v;
            for (size_t k = 0; k < vl; k++)
                if (v[k] == ',')
                    last = v + k + 1;
            size_t ll = (size_t)(v + vl - last);
            http1_trim(&last, &ll);
            rp->chunked = HTTP_IEQ(last, ll, "chunked");
        } else if (HTTP_IEQ(f->name, f->name_len, "connection")) {
            rp->connection = (struct req_str){f->value, f->value_len};
            if (http1_list_has(f->value, f->value_len, "close"))
                close = true;
            if (http1_list_has(f->value, f->value_len, "keep-alive"))
                ka = true;
        }
    }
    if (te) {
        /* RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, and a
         * message with both must not be reused */
        if (rp->content_length >= 0)
            close = true;
        rp->content_length = -1;
        if (!rp->chunked)
            close = true; /* read until close */
    }
    rp->conn_close = close || (rp->http_minor == 0 && !ka);
    return 0;
}

bool http_resp_has_body(const struct http_resp *rp, const struct req_str *method)
{
    if (method && http_method_is(method->p, method->len, "HEAD"))
        return false;
    return !(rp->status < 200 || rp->status == 204 || rp->status == 304);
}
