/* http: heads through llhttp, framing judged strictly (see http.h). */
#define _GNU_SOURCE
#include "http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpmethod.h"

/* --- character classes --------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
    return http_tchar[c];
}

/* field-vchar / obs-text / SP / HTAB (a table, as tchar) */
static const bool vchar[256] = {['\t'] = true, [' ' ... '~'] = true, [0x80 ... 0xff] = true};

static bool is_value_char(unsigned char c)
{
    return vchar[c];
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool str_ieq(const char *a, size_t alen, const char *b)
{
    return http_ieq(a, alen, b, strlen(b));
}

static bool method_is(const struct req_str *m, const char *name)
{
    return http_method_is(m->p, m->len, name);
}

static void trim(const char **p, size_t *len)
{
    while (*len && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*len)--;
    }
    while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
        (*len)--;
}

bool http_list_has(const char *list, size_t len, const char *tok)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && list[j] != ',')
            j++;
        const char *e = list + i;
        size_t el = j - i;
        trim(&e, &el);
        if (str_ieq(e, el, tok))
            return true;
        i = j + 1;
    }
    return false;
}

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
        size_t i = 0;
        while (i < conn->len) {
            size_t j = i;
            while (j < conn->len && conn->p[j] != ',')
                j++;
            const char *e = conn->p + i;
            size_t el = j - i;
            trim(&e, &el);
            if (el == len && strncasecmp(e, name, len) == 0)
                return true;
            i = j + 1;
        }
    }
    return false;
}

/* --- finding a head ------------------------------------------------------ */

int http_find_head(const char *p, size_t len, const struct http_limits *lim, size_t *skip,
                   size_t *head_len)
{
    size_t i = 0;
    while (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
        i += 2;
    *skip = i;
    if (i < len && p[i] == '\n')
        return 400;
    const char *s = p + i;
    size_t n = len - i, pos = 0;
    for (;;) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        if (!nl) {
            if (n - pos > lim->line_max + 1)
                return pos == 0 ? 414 : 431;
            if (n > lim->head_max)
                return 431;
            return 0;
        }
        size_t e = (size_t)(nl - s);
        if (e == pos || s[e - 1] != '\r')
            return 400; /* bare LF */
        size_t ll = e - 1 - pos;
        if (ll > lim->line_max)
            return pos == 0 ? 414 : 431;
        if (ll == 0 && pos > 0) {
            if (e + 1 > lim->head_max)
                return 431;
            *head_len = e + 1;
            return 1;
        }
        if (ll == 0)
            return 400; /* cannot happen: empty lines were skipped */
        pos = e + 1;
        if (pos > lim->head_max)
            return 431;
    }
}

/* Strictly checks the header lines of a head, starting at `p` (just after
 * the start line) and ending with the empty line.  Returns NULL or why not. */
static const char *scan_fields(const char *p, const char *end, int *nfields)
{
    int n = 0;
    while (p < end) {
        if (p[0] == '\r') {
            if (p + 2 == end && p[1] == '\n')
                break; /* the empty line ending the head */
            return "bare CR";
        }
        if (*p == ' ' || *p == '\t')
            return "obs-fold (line starting with whitespace)";
        const char *q = p;
        while (q < end && is_tchar((unsigned char)*q))
            q++;
        if (q == p)
            return "empty or invalid header name";
        if (q >= end || *q != ':')
            return "invalid character in header name (or whitespace before colon)";
        q++;
        while (q < end && vchar[(unsigned char)*q])
            q++;
        if (q < end && *q != '\r')
            return "invalid character in header value";
        if (q + 1 >= end || q[1] != '\n')
            return "bare CR";
        p = q + 2;
        n++;
    }
    *nfields = n;
    return NULL;
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
        trim(&h->value, &h->value_len);
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
                int a = hexval((unsigned char)p[i + 1]), b = hexval((unsigned char)p[i + 2]);
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

/* bytes a host never has: controls, space, DEL, / \\ @ ? # */
static const bool host_bad[256] = {
    [0 ... 0x20] = true, [0x7f] = true, ['/'] = true, ['\\'] = true,
    ['@'] = true,        ['?'] = true,  ['#'] = true,
};

static bool valid_host(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (host_bad[c] || (c == '.' && i + 1 < len && p[i + 1] == '.'))
            return false;
    }
    return !(len > 0 && p[0] == '.');
}

/* Sets r->host from host[:port]: the port and trailing dots dropped, and
 * lowercased in place (the head copy is ours; the Host field forwarded
 * upstream is then lowercase too, which is harmless). */
static int set_host(struct http_reqp *hp, const char *h, size_t len)
{
    if (!valid_host(h, len))
        return -1;
    size_t hl = len;
    if (hl && h[0] == '[') {
        const char *rb = memchr(h, ']', hl);
        if (!rb)
            return -1;
        size_t rl = (size_t)(rb - h) + 1;
        if (rl < hl && h[rl] != ':')
            return -1;
        hl = rl;
    } else {
        const char *colon = memchr(h, ':', hl);
        if (colon)
            hl = (size_t)(colon - h);
    }
    while (hl && h[hl - 1] == '.')
        hl--;
    /* the head copy is ours: lowercase the host where it lies */
    char *w = (char *)h;
    for (size_t i = 0; i < hl; i++)
        if (w[i] >= 'A' && w[i] <= 'Z')
            w[i] = (char)(w[i] - 'A' + 'a');
    hp->r->host.p = h;
    hp->r->host.len = hl;
    return 0;
}

static int parse_content_length(const char *v, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    *out = n;
    return 0;
}

/* Transfer-Encoding of a request: returns 0, 400 or 501.  Sets *chunked and
 * the codings to forward (hp->te_codings, a span of the last header). */
static int parse_te(struct http_reqp *hp, const struct req_header *h, bool *chunked,
                    bool *any_coding)
{
    static const char *const known[] = {"gzip", "x-gzip", "deflate", "compress", "x-compress"};
    if (h->value_len == 0)
        return 400;
    size_t i = 0;
    const char *v = h->value;
    while (i < h->value_len) {
        size_t j = i;
        while (j < h->value_len && v[j] != ',')
            j++;
        const char *e = v + i;
        size_t el = j - i;
        trim(&e, &el);
        i = j + 1;
        if (el == 0)
            continue;
        if (*chunked)
            return 400; /* chunked must be the final coding, once */
        if (HTTP_IEQ(e, el, "chunked")) {
            *chunked = true;
            continue;
        }
        if (HTTP_IEQ(e, el, "identity"))
            continue;
        bool ok = false;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            if (str_ieq(e, el, known[k]))
                ok = true;
        if (!ok)
            return 501;
        *any_coding = true;
        if (!hp->te_codings.p) {
            hp->te_codings.p = e;
            hp->te_codings.len = el;
        } else if (e > hp->te_codings.p) {
            hp->te_codings.len = (size_t)(e + el - hp->te_codings.p);
        }
    }
    return 0;
}

int http_parse_request(struct http_reqp *hp, const char *head, size_t len, struct req *r)
{
    hp->why = NULL;
    hp->expect_continue = false;
    hp->upgrade = false;
    hp->te_codings = (struct req_str){NULL, 0};
    hp->authority = (struct req_str){NULL, 0};
    hp->r = r;
    buf_reset(&hp->head);
    if (buf_append(&hp->head, head, len) < 0)
        return refuse(hp, 500, "out of memory");
    const char *h = hp->head.data, *end = h + len;

    /* request line: method SP target SP HTTP/d.d CRLF, nothing else */
    const char *q = h;
    while (q < end && is_tchar((unsigned char)*q))
        q++;
    if (q == h || q >= end || *q != ' ')
        return refuse(hp, 400, "invalid method");
    const char *m_end = q;
    const char *t = ++q;
    while (q < end && ((unsigned char)*q > 0x20 && (unsigned char)*q != 0x7f))
        q++;
    if (q == t || q >= end || *q != ' ')
        return refuse(hp, 400, "invalid request target");
    const char *t_end = q++;
    if (end - q < 10 || memcmp(q, "HTTP/", 5) != 0 || q[5] < '0' || q[5] > '9' || q[6] != '.' ||
        q[7] < '0' || q[7] > '9' || q[8] != '\r' || q[9] != '\n')
        return refuse(hp, 400, "invalid HTTP version");
    int major = q[5] - '0', minor = q[7] - '0';
    if (major == 0)
        return refuse(hp, 400, "HTTP/0.x");
    if (major > 1)
        return refuse(hp, 505, "HTTP major version not supported");
    const char *fields = q + 10;
    int nf = 0;
    const char *why = scan_fields(fields, end, &nf);
    if (why)
        return refuse(hp, 400, why);
    if (nf > HTTP_MAX_HEADERS)
        return refuse(hp, 431, "too many header fields");
    if (grow_headers(&hp->hdrs, &hp->hcap, nf + 1) < 0)
        return refuse(hp, 500, "out of memory");

    /* any token is a method: llhttp reads a stand-in for one it does not
     * know (common/httpmethod.h); r->method is taken from the head */
    int n = 0;
    struct cb_ctx x = {.hdrs = &hp->hdrs, .n = &n, .cap = &hp->hcap};
    if (run_llhttp(&hp->p, HTTP_REQUEST, &x, h, len, (size_t)(m_end - h)) < 0 || !x.url.p)
        return refuse(hp, 400,
                      llhttp_get_error_reason(&hp->p) ? llhttp_get_error_reason(&hp->p)
                                                      : "malformed request");
    if (n != nf)
        return refuse(hp, 400, "header count mismatch");

    r->method = (struct req_str){h, (size_t)(m_end - h)};
    r->request_line = (struct req_str){h, (size_t)(fields - 2 - h)};
    r->http_major = major;
    r->http_minor = minor > 1 && major == 1 ? 1 : minor;
    r->headers = hp->hdrs;
    r->nheaders = n;
    r->content_length = -1;
    r->chunked = false;
    /* any case: "connect" is an extension method, but an upstream that
     * folds case must never be asked to open a tunnel */
    if (HTTP_IEQ(r->method.p, r->method.len, "connect"))
        return refuse(hp, 405, "CONNECT is not supported");

    /* target: origin-form, absolute-form, or * for OPTIONS */
    const char *path = t;
    size_t tl = (size_t)(t_end - t);
    if (*t == '/') {
        /* origin-form */
    } else if (tl == 1 && *t == '*') {
        /* asterisk-form is OPTIONS's (and SSDP's M-SEARCH, which llhttp knows) */
        if (!method_is(&r->method, "OPTIONS") && !method_is(&r->method, "M-SEARCH"))
            return refuse(hp, 400, "* target without OPTIONS");
    } else {
        size_t sl = 0;
        if (tl > 7 && strncasecmp(t, "http://", 7) == 0)
            sl = 7;
        else if (tl > 8 && strncasecmp(t, "https://", 8) == 0)
            sl = 8;
        else
            return refuse(hp, 400, "invalid request target");
        const char *a = t + sl;
        const char *ae = a;
        while (ae < t_end && *ae != '/' && *ae != '?' && *ae != '#')
            ae++;
        const char *at = memchr(a, '@', (size_t)(ae - a));
        if (at)
            a = at + 1;
        if (ae == a)
            return refuse(hp, 400, "empty authority");
        hp->authority = (struct req_str){a, (size_t)(ae - a)};
        path = ae;
    }
    size_t pl = (size_t)(t_end - path);
    r->request_uri = (struct req_str){pl ? path : "/", pl ? pl : 1};
    if (tl == 1 && *t == '*') {
        r->request_uri = (struct req_str){t, 1};
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

    /* framing and the fields that must be single */
    int nhost = 0, ncl = 0, nte = 0, nct = 0;
    bool chunked = false, codings = false, close = false, ka = false;
    const struct req_header *host = NULL;
    for (int i = 0; i < n; i++) {
        const struct req_header *f = &hp->hdrs[i];
        switch (f->name_len) {
        case 4:
            if (HTTP_IEQ(f->name, 4, "host")) {
                nhost++;
                host = f;
            }
            break;
        case 6:
            if (HTTP_IEQ(f->name, 6, "expect") && HTTP_IEQ(f->value, f->value_len, "100-continue"))
                hp->expect_continue = true;
            break;
        case 7:
            if (HTTP_IEQ(f->name, 7, "upgrade"))
                hp->upgrade = true;
            break;
        case 10:
            if (HTTP_IEQ(f->name, 10, "connection")) {
                if (http_list_has(f->value, f->value_len, "close"))
                    close = true;
                if (http_list_has(f->value, f->value_len, "keep-alive"))
                    ka = true;
            }
            break;
        case 12:
            if (HTTP_IEQ(f->name, 12, "content-type"))
                nct++;
            break;
        case 14:
            if (HTTP_IEQ(f->name, 14, "content-length")) {
                ncl++;
                if (parse_content_length(f->value, f->value_len, &r->content_length) < 0)
                    return refuse(hp, 400, "invalid Content-Length");
            }
            break;
        case 17:
            if (HTTP_IEQ(f->name, 17, "transfer-encoding")) {
                nte++;
                int st = parse_te(hp, f, &chunked, &codings);
                if (st)
                    return refuse(hp, st,
                                  st == 501 ? "unknown transfer coding"
                                            : "invalid Transfer-Encoding");
            }
            break;
        }
    }
    if (ncl > 1)
        return refuse(hp, 400, "several Content-Length fields");
    if (nct > 1)
        return refuse(hp, 400, "several Content-Type fields");
    if (nte) {
        if (ncl)
            return refuse(hp, 400, "Content-Length with Transfer-Encoding");
        if (major == 1 && minor == 0)
            return refuse(hp, 400, "Transfer-Encoding in HTTP/1.0");
        if (!chunked)
            return refuse(hp, 400, "Transfer-Encoding without chunked");
        r->chunked = true;
    }
    if (nhost > 1)
        return refuse(hp, 400, "several Host fields");
    if (nhost == 0 && major == 1 && minor >= 1)
        return refuse(hp, 400, "HTTP/1.1 request without Host");
    if (hp->authority.p) {
        if (set_host(hp, hp->authority.p, hp->authority.len) < 0)
            return refuse(hp, 400, "invalid host in request target");
    } else if (host) {
        if (set_host(hp, host->value, host->value_len) < 0)
            return refuse(hp, 400, "invalid Host");
    } else {
        r->host = (struct req_str){"", 0};
    }
    r->keepalive = (minor >= 1) ? !close : (ka && !close);
    return 0;
}

/* --- responses ------------------------------------------------------------ */

/* A response head the strict checks passed (status line, then the nf field
 * lines from `fields` on) is split into hdrs here when llhttp, which costs
 * more than everything else in a response head, could only accept it the
 * same way: HTTP/1.0 or 1.1, no Transfer-Encoding, at most one
 * Content-Length, and that one only digits.  Field values are the bytes
 * scan_fields() let through, which are llhttp's strict header value
 * characters too.  False (hdrs then undefined) sends the head to llhttp. */
static bool plain_response(const char *h, const char *fields, const char *end, int nf,
                           struct req_header *hdrs)
{
    if (h[5] != '1' || (h[7] != '0' && h[7] != '1'))
        return false;
    bool cl = false;
    const char *p = fields;
    for (int i = 0; i < nf; i++) {
        /* both exist: scan_fields() saw them */
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *cr = memchr(colon, '\r', (size_t)(end - colon));
        const char *v = colon + 1;
        size_t nl = (size_t)(colon - p), vl = (size_t)(cr - v);
        trim(&v, &vl);
        if (HTTP_IEQ(p, nl, "transfer-encoding"))
            return false;
        if (HTTP_IEQ(p, nl, "content-length")) {
            /* llhttp allows spaces only after the digits (a tab: its error) */
            int64_t dummy;
            if (cl || memchr(v, '\t', (size_t)(cr - v)) || parse_content_length(v, vl, &dummy) < 0)
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
        if (!is_value_char((unsigned char)*q)) {
            rp->why = "invalid reason phrase";
            return -1;
        }
        q++;
    }
    if (q + 1 >= end || q[1] != '\n') {
        rp->why = "bare CR in status line";
        return -1;
    }
    int nf = 0;
    const char *why = scan_fields(q + 2, end, &nf);
    if (why) {
        rp->why = why;
        return -1;
    }
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
            if (parse_content_length(f->value, f->value_len, &v) < 0 ||
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
            trim(&last, &ll);
            rp->chunked = HTTP_IEQ(last, ll, "chunked");
        } else if (HTTP_IEQ(f->name, f->name_len, "connection")) {
            rp->connection = (struct req_str){f->value, f->value_len};
            if (http_list_has(f->value, f->value_len, "close"))
                close = true;
            if (http_list_has(f->value, f->value_len, "keep-alive"))
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
    if (method && method_is(method, "HEAD"))
        return false;
    return !(rp->status < 200 || rp->status == 204 || rp->status == 304);
}

/* --- chunked bodies -------------------------------------------------------- */

#define CK_LINE_MAX    4096
#define CK_TRAILER_MAX 16384

void http_chunked_init(struct http_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->st = HTTP_CK_SIZE;
}

static bool forbidden_trailer(const char *n, size_t len)
{
    static const char *const bad[] = {"content-length", "transfer-encoding", "host",
                                      "connection",     "trailer",           "te",
                                      "keep-alive",     "upgrade",           "content-type",
                                      "expect",         "content-encoding",  "content-range"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (str_ieq(n, len, bad[i]))
            return true;
    return false;
}

long http_chunked_frame(struct http_chunked *c, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char ch = (unsigned char)p[i];
        if (c->st == HTTP_CK_DATA || c->st == HTTP_CK_DONE)
            return (long)i;
        if (++c->line_len > (c->last ? CK_TRAILER_MAX : CK_LINE_MAX))
            return -1;
        switch (c->st) {
        case HTTP_CK_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                if (c->digits >= 15)
                    return -1;
                c->remaining = c->remaining * 16 + (unsigned)v;
                c->digits++;
            } else if (c->digits == 0) {
                return -1;
            } else if (ch == ';') {
                c->st = HTTP_CK_EXT;
                c->ext_chars = 0;
            } else if (ch == '\r') {
                c->st = HTTP_CK_SIZE_LF;
            } else {
                return -1;
            }
            break;
        }
        case HTTP_CK_EXT:
            if (ch == ';') {
                if (c->ext_chars == 0)
                    return -1;
                c->ext_chars = 0;
            } else if (ch == ' ' || ch == '\t') {
                /* BWS */
            } else if (ch == '"') {
                if (c->ext_chars == 0)
                    return -1;
                c->st = HTTP_CK_EXT_QUOTE;
            } else if (ch == '\r') {
                if (c->ext_chars == 0)
                    return -1;
                c->st = HTTP_CK_SIZE_LF;
            } else if (is_tchar(ch) || ch == '=') {
                c->ext_chars++;
            } else {
                return -1;
            }
            break;
        case HTTP_CK_EXT_QUOTE:
            if (ch == '"') {
                c->st = HTTP_CK_EXT;
                c->ext_chars++;
            } else if (ch == '\\') {
                c->st = HTTP_CK_EXT_QESC;
            } else if (!is_value_char(ch)) {
                return -1;
            }
            break;
        case HTTP_CK_EXT_QESC:
            if (!is_value_char(ch))
                return -1;
            c->st = HTTP_CK_EXT_QUOTE;
            break;
        case HTTP_CK_SIZE_LF:
            if (ch != '\n')
                return -1;
            c->line_len = 0;
            if (c->remaining == 0) {
                c->last = true;
                c->st = HTTP_CK_TRAILER;
            } else {
                c->st = HTTP_CK_DATA;
            }
            break;
        case HTTP_CK_DATA_CR:
            if (ch != '\r')
                return -1;
            c->st = HTTP_CK_DATA_LF;
            break;
        case HTTP_CK_DATA_LF:
            if (ch != '\n')
                return -1;
            c->st = HTTP_CK_SIZE;
            c->digits = 0;
            c->remaining = 0;
            c->line_len = 0;
            break;
        case HTTP_CK_TRAILER:
            if (ch == '\r') {
                c->st = HTTP_CK_END_LF;
                break;
            }
            c->st = HTTP_CK_TR_LINE;
            c->tr_in_name = true;
            c->tr_name_len = 0;
            /* fall through: this byte starts the field name */
            /* FALLTHROUGH */
        case HTTP_CK_TR_LINE:
            if (c->tr_in_name) {
                if (is_tchar(ch)) {
                    if (c->tr_name_len < sizeof(c->tr_name))
                        c->tr_name[c->tr_name_len] = (char)ch;
                    c->tr_name_len++;
                } else if (ch == ':' && c->tr_name_len > 0) {
                    size_t nl = c->tr_name_len;
                    if (nl <= sizeof(c->tr_name) && forbidden_trailer(c->tr_name, nl))
                        return -1;
                    c->tr_in_name = false;
                } else {
                    return -1;
                }
            } else if (ch == '\r') {
                c->st = HTTP_CK_TR_LF;
            } else if (!is_value_char(ch)) {
                return -1;
            }
            break;
        case HTTP_CK_TR_LF:
            if (ch != '\n')
                return -1;
            c->st = HTTP_CK_TRAILER;
            break;
        case HTTP_CK_END_LF:
            if (ch != '\n')
                return -1;
            c->st = HTTP_CK_DONE;
            return (long)(i + 1);
        default:
            return -1;
        }
        i++;
    }
    return (long)i;
}

void http_chunked_consumed(struct http_chunked *c, size_t n)
{
    c->remaining -= n;
    c->total += n;
    if (c->remaining == 0)
        c->st = HTTP_CK_DATA_CR;
    c->line_len = 0;
}
