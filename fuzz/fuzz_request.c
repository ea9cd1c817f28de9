/* fuzz_request: request heads, as both programs read them.
 *
 * The input is the bytes a client sends.  The proxy's path: http1_find_head
 * with its default limits (large_client_header_buffers 4 8k), then
 * http_parse_request (proxy/core/http.c: the codec's checks, llhttp, $uri
 * normalisation).  The gateway's path: gw_http_parse on the same bytes.
 *
 * Invariants beyond "no crash":
 *  - a found head lies inside the input and ends in CRLF CRLF;
 *  - an accepted request's spans lie inside the parser's copy, the method
 *    and field names are tokens, values are trimmed field-vchars, $uri is
 *    normalised (starts with '/', no empty, "." or ".." segment), $host is
 *    lower case, Content-Length and chunked never both;
 *  - the head re-serialised from what was parsed (request line, then each
 *    field as "name: value") parses again to the same request;
 *  - the two programs agree (they judge with one codec): a head the proxy
 *    accepts without a transfer coding before chunked, the gateway accepts
 *    with the same length, method, version, fields and framing (with such a
 *    coding the gateway answers 501); a head the gateway accepts, the proxy
 *    refuses only where it differs by design (CONNECT in any case, its
 *    $uri normalisation, its smaller limits). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fuzz_check.h"
#include "gw_http.h"
#include "gw_req.h"
#include "http.h"
#include "http1.h"
#include "req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_MAX_ 8192
#define HEAD_MAX  (4 * LINE_MAX_)

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Checks what an accepted request says about itself. */
static void check_request(const struct http_reqp *hp, const struct req *r)
{
    const char *h = hp->head.data;
    size_t hl = hp->head.len;
    FUZZ_CHECK(r->method.len > 0 && FUZZ_WITHIN(r->method.p, r->method.len, h, hl));
    for (size_t i = 0; i < r->method.len; i++)
        FUZZ_CHECK(http1_is_tchar((unsigned char)r->method.p[i]));
    FUZZ_CHECK(FUZZ_WITHIN(r->request_line.p, r->request_line.len, h, hl));
    FUZZ_CHECK(r->request_line.p == h && r->request_line.len + 2 < hl);
    FUZZ_CHECK(r->http_major == 1 && (r->http_minor == 0 || r->http_minor == 1));
    FUZZ_CHECK(r->request_uri.len > 0);
    FUZZ_CHECK(r->nheaders >= 0 && r->nheaders <= HTTP_MAX_HEADERS);
    for (int i = 0; i < r->nheaders; i++) {
        const struct req_header *f = &r->headers[i];
        FUZZ_CHECK(f->name_len > 0 && FUZZ_WITHIN(f->name, f->name_len, h, hl));
        for (size_t k = 0; k < f->name_len; k++)
            FUZZ_CHECK(http1_is_tchar((unsigned char)f->name[k]));
        FUZZ_CHECK(f->value_len == 0 || FUZZ_WITHIN(f->value, f->value_len, h, hl));
        if (f->value_len) {
            FUZZ_CHECK(!is_ows(f->value[0]) && !is_ows(f->value[f->value_len - 1]));
            for (size_t k = 0; k < f->value_len; k++)
                FUZZ_CHECK(http1_is_vchar((unsigned char)f->value[k]));
        }
    }
    FUZZ_CHECK(r->content_length >= -1);
    FUZZ_CHECK(!(r->chunked && r->content_length >= 0));
    for (size_t i = 0; i < r->host.len; i++)
        FUZZ_CHECK(!(r->host.p[i] >= 'A' && r->host.p[i] <= 'Z'));
    /* $uri: "*", or normalised */
    const char *u = r->uri.p;
    size_t ul = r->uri.len;
    FUZZ_CHECK(ul > 0 && memchr(u, 0, ul) == NULL);
    if (!(ul == 1 && u[0] == '*')) {
        FUZZ_CHECK(u[0] == '/');
        for (size_t s = 0; s < ul;) { /* s: a '/'; its segment runs to the next one */
            size_t e = s + 1;
            while (e < ul && u[e] != '/')
                e++;
            size_t sl = e - s - 1;
            FUZZ_CHECK(sl > 0 || e == ul); /* no "//" */
            FUZZ_CHECK(!(sl == 1 && u[s + 1] == '.'));
            FUZZ_CHECK(!(sl == 2 && u[s + 1] == '.' && u[s + 2] == '.'));
            s = e;
        }
    }
}

/* The request head re-made from what was parsed. */
static void reserialize(const struct req *r, struct buf *out)
{
    buf_reset(out);
    FUZZ_CHECK(buf_append(out, r->request_line.p, r->request_line.len) == 0);
    FUZZ_CHECK(buf_append(out, "\r\n", 2) == 0);
    for (int i = 0; i < r->nheaders; i++) {
        const struct req_header *f = &r->headers[i];
        FUZZ_CHECK(buf_append(out, f->name, f->name_len) == 0);
        FUZZ_CHECK(buf_append(out, ": ", 2) == 0);
        FUZZ_CHECK(buf_append(out, f->value, f->value_len) == 0);
        FUZZ_CHECK(buf_append(out, "\r\n", 2) == 0);
    }
    FUZZ_CHECK(buf_append(out, "\r\n", 2) == 0);
}

static bool str_eq(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

static void same_request(const struct http_reqp *hp1, const struct req *a,
                         const struct http_reqp *hp2, const struct req *b)
{
    FUZZ_CHECK(str_eq(a->method.p, a->method.len, b->method.p, b->method.len));
    FUZZ_CHECK(str_eq(a->request_uri.p, a->request_uri.len, b->request_uri.p, b->request_uri.len));
    FUZZ_CHECK(str_eq(a->uri.p, a->uri.len, b->uri.p, b->uri.len));
    FUZZ_CHECK(str_eq(a->args.p, a->args.len, b->args.p, b->args.len));
    FUZZ_CHECK(str_eq(a->host.p, a->host.len, b->host.p, b->host.len));
    FUZZ_CHECK(a->http_minor == b->http_minor && a->nheaders == b->nheaders);
    for (int i = 0; i < a->nheaders; i++) {
        const struct req_header *x = &a->headers[i], *y = &b->headers[i];
        FUZZ_CHECK(str_eq(x->name, x->name_len, y->name, y->name_len));
        FUZZ_CHECK(str_eq(x->value, x->value_len, y->value, y->value_len));
    }
    FUZZ_CHECK(a->content_length == b->content_length && a->chunked == b->chunked);
    FUZZ_CHECK(a->keepalive == b->keepalive);
    FUZZ_CHECK(hp1->expect_continue == hp2->expect_continue);
    FUZZ_CHECK(
        str_eq(hp1->te_codings.p, hp1->te_codings.len, hp2->te_codings.p, hp2->te_codings.len));
}

/* The gateway's verdict against the proxy's (see the file comment). */
static void same_as_gateway(const uint8_t *data, size_t size, int find_rc, size_t head_end, int st,
                            const struct http_reqp *hp, const struct req *r)
{
    struct gw_req g = {0};
    gw_req_reset(&g);
    size_t ghl = 0;
    int gs = gw_http_parse((const char *)data, size, HEAD_MAX, &g, &ghl);
    if (find_rc == 1 && st == 0) {
        if (hp->te_codings.p) {
            FUZZ_CHECK(gs == 501);
        } else {
            FUZZ_CHECK(gs == GW_HTTP_OK);
            FUZZ_CHECK(ghl == head_end);
            FUZZ_CHECK(str_eq(g.method, g.method_len, r->method.p, r->method.len));
            FUZZ_CHECK(g.http_minor == r->http_minor && g.nhdrs == r->nheaders);
            FUZZ_CHECK(g.content_length == r->content_length && g.chunked == r->chunked);
            FUZZ_CHECK(g.keepalive == r->keepalive);
            FUZZ_CHECK(g.expect_continue == hp->expect_continue);
        }
    }
    if (gs == GW_HTTP_OK) {
        /* the proxy's limits are smaller than the gateway's here */
        FUZZ_CHECK(find_rc == 1 || find_rc == 414 || find_rc == 431);
        if (find_rc == 1 && st != 0)
            FUZZ_CHECK(st == 405 || st == 431 ||
                       (st == 400 && hp->why &&
                        strcmp(hp->why, "invalid path (bad escape or above the root)") == 0));
    }
    gw_req_free(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct http1_limits lim = {LINE_MAX_, HEAD_MAX, HTTP_MAX_HEADERS};
    size_t skip = 0, hl = 0;
    int rc = http1_find_head((const char *)data, size, &lim, &skip, &hl);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == 400 || rc == 414 || rc == 431);
    struct http_reqp hp;
    struct req r;
    http_reqp_init(&hp);
    memset(&r, 0, sizeof(r));
    req_reset(&r);
    int st = -1;
    if (rc == 1) {
        FUZZ_CHECK(hl >= 4 && skip + hl <= size && hl <= HEAD_MAX);
        FUZZ_CHECK(memcmp(data + skip + hl - 4, "\r\n\r\n", 4) == 0);
        st = http_parse_request(&hp, (const char *)data + skip, hl, &r);
        FUZZ_CHECK(st == 0 || st == 400 || st == 405 || st == 431 || st == 501 || st == 505);
        if (st == 0) {
            check_request(&hp, &r);
            struct buf again = {0};
            reserialize(&r, &again);
            struct http_reqp hp2;
            struct req r2;
            http_reqp_init(&hp2);
            memset(&r2, 0, sizeof(r2));
            req_reset(&r2);
            FUZZ_CHECK(http_parse_request(&hp2, again.data, again.len, &r2) == 0);
            same_request(&hp, &r, &hp2, &r2);
            req_free(&r2);
            http_reqp_free(&hp2);
            buf_free(&again);
        }
    } else if (rc == 0) {
        FUZZ_CHECK(skip <= size);
    }
    same_as_gateway(data, size, rc, skip + hl, st, &hp, &r);
    req_free(&r);
    http_reqp_free(&hp);
    return 0;
}
