/* uwsgi: a uwsgi packet into struct gw_req (see gw_uwsgi.h). */
#include "gw_uwsgi.h"

#include <string.h>
#include <strings.h>

#include "uwsgi.h"

/* What decoding carries besides r. */
struct uw_ctx {
    struct gw_req *r; /* borrowed */
    const char *cl;   /* CONTENT_LENGTH's value, NULL when absent or empty */
    size_t cl_len;
    const char *https; /* HTTPS */
    size_t https_len;
    const char *rscheme; /* REQUEST_SCHEME */
    size_t rscheme_len;
    int err; /* GW_UWSGI_NOMEM once an allocation failed */
};

static int add_var(struct gw_req *r, const char *k, size_t kl, const char *v, size_t vl)
{
    if (gw_req_reserve(r, r->nhdrs + 1) < 0)
        return -1;
    r->hdrs[r->nhdrs++] = (struct gw_hdr){k, kl, v, vl};
    return 0;
}

static int on_var(void *ud, const char *k, size_t kl, const char *v, size_t vl)
{
    struct uw_ctx *x = ud;
    struct gw_req *r = x->r;
#define IS(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)
    if (IS("CONTENT_LENGTH")) {
        if (vl == 0)
            return 0; /* nginx sends it empty when the request has no body */
        x->cl = v;
        x->cl_len = vl;
    } else if (IS("CONTENT_TYPE") && vl == 0)
        return 0; /* nginx sends it empty when unknown */
    else if (IS("HTTP_CONTENT_LENGTH") || IS("HTTP_CONTENT_TYPE"))
        return 0; /* the request's headers again: CGI has them as CONTENT_* only */
    else if (IS("REQUEST_METHOD")) {
        r->method = v;
        r->method_len = vl;
    } else if (IS("REQUEST_URI")) {
        r->uri = v;
        r->uri_len = vl;
    } else if (IS("PATH_INFO")) {
        r->path = v;
        r->path_len = vl;
    } else if (IS("QUERY_STRING")) {
        r->query = v;
        r->query_len = vl;
    } else if (IS("UWSGI_SCHEME") && vl) {
        r->scheme = v;
        r->scheme_len = vl;
    } else if (IS("HTTPS")) {
        x->https = v;
        x->https_len = vl;
    } else if (IS("REQUEST_SCHEME")) {
        x->rscheme = v;
        x->rscheme_len = vl;
    }
#undef IS
    if (add_var(r, k, kl, v, vl) < 0) {
        x->err = GW_UWSGI_NOMEM;
        return 1;
    }
    return 0;
}

/* CONTENT_LENGTH: digits only, at most 18 of them.  -1 when malformed. */
static int64_t parse_length(const char *p, size_t n)
{
    int64_t v = 0;
    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int gw_uwsgi_parse(const char *vars, size_t len, struct gw_req *r)
{
    gw_req_reset(r);
    r->cgi = true;
    struct uw_ctx x = {.r = r};
    int rc = uwsgi_decode_vars((const uint8_t *)vars, len, on_var, &x);
    if (x.err)
        return x.err;
    if (rc != 0)
        return GW_UWSGI_BAD;
    if (x.cl && (r->content_length = parse_length(x.cl, x.cl_len)) < 0)
        return GW_UWSGI_BAD;
    if (!r->method) {
        r->method = "GET";
        r->method_len = 3;
    }
    r->is_head = r->method_len == 4 && memcmp(r->method, "HEAD", 4) == 0;
    if (!r->uri) {
        r->uri = r->path;
        r->uri_len = r->path_len;
    }
    if (!r->scheme) {
        if ((x.https_len == 2 && strncasecmp(x.https, "on", 2) == 0) ||
            (x.https_len == 1 && x.https[0] == '1')) {
            r->scheme = "https";
            r->scheme_len = 5;
        } else if (x.rscheme_len) {
            r->scheme = x.rscheme;
            r->scheme_len = x.rscheme_len;
        }
    }
    r->http_minor = 0; /* our response: no chunked, close-delimited when unknown */
    r->keepalive = false;
    return GW_UWSGI_OK;
}
