/* fuzz_uwsgi_pass: a client's request through uwsgi_pass, from the bytes
 * the proxy reads to the request the gateway sees: http1_find_head and
 * http_parse_request (the proxy), uwsgi_build_request (the proxy's packet
 * writer, proxy/handlers/h_uwsgi.c, for a location without uwsgi_param),
 * then uwsgi_decode_vars and gw_uwsgi_parse (the gateway's reader).
 *
 * Invariants beyond "no crash":
 *  - a packet is written for every request the proxy accepts (its head is
 *    far below 64 KiB), with a header that says its size;
 *  - the gateway accepts it and reads the same method, REQUEST_URI,
 *    PATH_INFO ($uri), QUERY_STRING ($args) and Content-Length;
 *  - a client cannot forge a variable: every variable is one of the CGI
 *    names the proxy writes, once each, or HTTP_ and a header's name; no
 *    HTTP_CONTENT_LENGTH or HTTP_CONTENT_TYPE is sent. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "fuzz_check.h"
#include "gw_req.h"
#include "gw_uwsgi.h"
#include "h_uwsgi.h"
#include "http.h"
#include "http1.h"
#include "req.h"
#include "uwsgi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const cgi_names[] = {
    "REQUEST_METHOD", "REQUEST_URI",     "PATH_INFO",    "QUERY_STRING", "CONTENT_TYPE",
    "CONTENT_LENGTH", "SERVER_PROTOCOL", "UWSGI_SCHEME", "SERVER_NAME",
};
#define NCGI (sizeof(cgi_names) / sizeof(cgi_names[0]))

struct seen {
    int count[NCGI];
};

static int on_var(void *ud, const char *k, size_t kl, const char *v, size_t vl)
{
    struct seen *s = ud;
    (void)v;
    (void)vl;
    for (size_t i = 0; i < NCGI; i++)
        if (kl == strlen(cgi_names[i]) && memcmp(k, cgi_names[i], kl) == 0) {
            s->count[i]++;
            return 0;
        }
    FUZZ_CHECK(kl > 5 && memcmp(k, "HTTP_", 5) == 0);
    FUZZ_CHECK(!(kl == 19 && memcmp(k, "HTTP_CONTENT_LENGTH", 19) == 0));
    FUZZ_CHECK(!(kl == 17 && memcmp(k, "HTTP_CONTENT_TYPE", 17) == 0));
    return 0;
}

static bool str_eq(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

static void through_uwsgi(const struct req *r)
{
    struct cf_loc loc;
    memset(&loc, 0, sizeof(loc));
    struct buf pkt = {0}, tmp = {0};
    FUZZ_CHECK(uwsgi_build_request(&loc, r, &pkt, &tmp) == 0);
    FUZZ_CHECK(pkt.len >= UWSGI_HDR_LEN);
    struct uwsgi_hdr h;
    uwsgi_hdr_decode((const uint8_t *)pkt.data, &h);
    FUZZ_CHECK(h.mod1 == 0 && h.mod2 == 0 && h.size == pkt.len - UWSGI_HDR_LEN);
    const char *vars = pkt.data + UWSGI_HDR_LEN;
    size_t len = pkt.len - UWSGI_HDR_LEN;

    struct seen s = {{0}};
    FUZZ_CHECK(uwsgi_decode_vars((const uint8_t *)vars, len, on_var, &s) == 0);
    for (size_t i = 0; i < NCGI; i++)
        FUZZ_CHECK(s.count[i] == 1);

    struct gw_req g = {0};
    gw_req_reset(&g);
    FUZZ_CHECK(gw_uwsgi_parse(vars, len, &g) == GW_UWSGI_OK);
    FUZZ_CHECK(str_eq(g.method, g.method_len, r->method.p, r->method.len));
    FUZZ_CHECK(str_eq(g.uri, g.uri_len, r->request_uri.p, r->request_uri.len));
    FUZZ_CHECK(str_eq(g.path, g.path_len, r->uri.p, r->uri.len));
    FUZZ_CHECK(str_eq(g.query, g.query_len, r->args.p, r->args.len));
    FUZZ_CHECK(g.content_length == r->content_length);
    FUZZ_CHECK(g.is_head == (r->method.len == 4 && memcmp(r->method.p, "HEAD", 4) == 0));
    gw_req_free(&g);
    buf_free(&pkt);
    buf_free(&tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct http1_limits lim = {8192, 4 * 8192, HTTP_MAX_HEADERS};
    size_t skip = 0, hl = 0;
    if (http1_find_head((const char *)data, size, &lim, &skip, &hl) != 1)
        return 0;
    struct http_reqp hp;
    struct req r;
    http_reqp_init(&hp);
    memset(&r, 0, sizeof(r));
    req_reset(&r);
    if (http_parse_request(&hp, (const char *)data + skip, hl, &r) == 0)
        through_uwsgi(&r);
    req_free(&r);
    http_reqp_free(&hp);
    return 0;
}
