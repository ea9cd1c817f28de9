/* Unit tests of proxy/core/http.c: finding heads, strict request checks,
 * response heads and the chunked decoder, with vectors written here. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "common/method_vectors.h"
#include "http.h"

static const struct http1_limits LIM = {1024, 4096, HTTP_MAX_HEADERS};

/* Finds and parses the head at the start of raw; returns 0 or the status,
 * -1 when the head is incomplete. */
static int parse(struct http_reqp *hp, struct req *r, const char *raw, size_t len)
{
    size_t skip = 0, hl = 0;
    int f = http1_find_head(raw, len, &LIM, &skip, &hl);
    if (f == 0)
        return -1;
    if (f != 1)
        return f;
    req_reset(r);
    return http_parse_request(hp, raw + skip, hl, r);
}

static int status_of(const char *raw)
{
    struct http_reqp hp;
    struct req r;
    memset(&r, 0, sizeof(r));
    http_reqp_init(&hp);
    int st = parse(&hp, &r, raw, strlen(raw));
    http_reqp_free(&hp);
    req_free(&r);
    return st;
}

/* Decodes a whole chunked body; returns its data length or -1. */
static long chunked_len(const char *body, char *out, size_t outcap)
{
    struct http1_chunked c;
    http1_chunked_init(&c);
    size_t len = strlen(body), i = 0, o = 0;
    while (!http1_chunked_done(&c)) {
        if (http1_chunked_in_data(&c)) {
            size_t n = len - i < c.remaining ? len - i : (size_t)c.remaining;
            if (n == 0)
                return -2;
            if (out && o + n < outcap)
                memcpy(out + o, body + i, n);
            o += n;
            i += n;
            http1_chunked_consumed(&c, n);
            continue;
        }
        if (i >= len)
            return -2; /* incomplete */
        long k = http1_chunked_frame(&c, body + i, len - i);
        if (k < 0)
            return -1;
        i += (size_t)k;
    }
    if (out && o < outcap)
        out[o] = '\0';
    return (long)o;
}

START_TEST(test_valid_basic)
{
    struct http_reqp hp;
    struct req r;
    memset(&r, 0, sizeof(r));
    http_reqp_init(&hp);
    const char *raw = "\r\nGET /a/./b/../c//d?x=1&y=%20#frag HTTP/1.1\r\nHost: Example.COM:8080\r\n"
                      "X-Empty:\r\nName: \t value \t \r\nConnection: keep-alive\r\n\r\nNEXT";
    ck_assert_int_eq(parse(&hp, &r, raw, strlen(raw)), 0);
    ck_assert_int_eq((int)r.method.len, 3);
    ck_assert(memcmp(r.method.p, "GET", 3) == 0);
    ck_assert_int_eq((int)r.uri.len, 6);
    ck_assert(memcmp(r.uri.p, "/a/c/d", 6) == 0);
    ck_assert_int_eq((int)r.args.len, 9);
    ck_assert(memcmp(r.args.p, "x=1&y=%20", 9) == 0);
    ck_assert(memcmp(r.request_uri.p, "/a/./b/../c//d?x=1&y=%20#frag", r.request_uri.len) == 0);
    ck_assert_int_eq((int)r.host.len, 11);
    ck_assert(memcmp(r.host.p, "example.com", 11) == 0);
    ck_assert_int_eq(r.nheaders, 4);
    ck_assert_int_eq((int)r.headers[1].value_len, 0);
    ck_assert_int_eq((int)r.headers[2].value_len, 5);
    ck_assert(memcmp(r.headers[2].value, "value", 5) == 0);
    ck_assert(r.keepalive);
    ck_assert_int_eq(r.http_minor, 1);
    ck_assert_int_eq((int)r.content_length, -1);
    ck_assert(memcmp(r.request_line.p, "GET /a/./b/../c//d?x=1&y=%20#frag HTTP/1.1",
                     r.request_line.len) == 0);
    const struct req_header *h = req_find_header(&r, "name", 4);
    ck_assert_ptr_nonnull(h);
    http_reqp_free(&hp);
    req_free(&r);
}
END_TEST

START_TEST(test_keepalive_rules)
{
    struct http_reqp hp;
    struct req r;
    memset(&r, 0, sizeof(r));
    http_reqp_init(&hp);
    const char *a = "GET / HTTP/1.0\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, a, strlen(a)), 0);
    ck_assert(!r.keepalive);
    const char *b = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, b, strlen(b)), 0);
    ck_assert(r.keepalive);
    const char *c = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, c, strlen(c)), 0);
    ck_assert(!r.keepalive);
    const char *d =
        "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 003\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, d, strlen(d)), 0);
    ck_assert(hp.expect_continue);
    ck_assert_int_eq((int)r.content_length, 3);
    const char *e = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, e, strlen(e)), 0);
    ck_assert(r.chunked);
    ck_assert_int_eq((int)hp.te_codings.len, 4);
    /* the codings forwarded upstream are one field's: never the lines
     * between two Transfer-Encoding fields */
    const char *e2 = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, deflate\r\n"
                     "X-Real-IP: 192.0.2.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, e2, strlen(e2)), 0);
    ck_assert(r.chunked && hp.te_codings.len == 13 &&
              memcmp(hp.te_codings.p, "gzip, deflate", 13) == 0);
    const char *e3 = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
                     "X-Real-IP: 192.0.2.1\r\nTransfer-Encoding: deflate, chunked\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, e3, strlen(e3)), 400);
    const char *f = "GET http://user:pw@Other.example:81/p?q=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, f, strlen(f)), 0);
    ck_assert(memcmp(r.host.p, "other.example", r.host.len) == 0 && r.host.len == 13);
    ck_assert(memcmp(r.request_uri.p, "/p?q=1", r.request_uri.len) == 0);
    const char *g = "GET http://[::1]:8080 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, g, strlen(g)), 0);
    ck_assert(r.host.len == 5 && memcmp(r.host.p, "[::1]", 5) == 0);
    ck_assert(r.uri.len == 1 && r.uri.p[0] == '/');
    http_reqp_free(&hp);
    req_free(&r);
}
END_TEST

static const char *const valid[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /test HTTP/1.1\r\nHost: 0.0.0.0=5000\r\nAccept: */*\r\n\r\n",
    "GET /silly HTTP/1.1\r\nHost: a\r\naaaaaaaaaaaaa:++++++++++\r\n\r\n",
    "GET /unusual HTTP/1.0\r\nconTENT-Length: 5\r\n\r\n",
    "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: "
    "chunked\r\n\r\n",
    "GET /with_\"quotes\"?foo=\"bar\" HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /\xc3\xa0%20k HTTP/1.0\r\n\r\n",
    "GET /x HTTP/1.0\r\nTransfer_Encoding: tricked\r\nContent-Length: 7\r\n\r\n",
    "GET /foo HTTP/1.1\r\nHost: example.com\r\nX.Custom|Pipe: ok\r\n\r\n",
    "GET /foo HTTP/1.1\r\nHost: example.com\r\nX-Value: caf\xc3\xa9\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nTest: D\xfcsseldorf\r\nH2: \xffV\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "GET ///keeping_slashes HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: a\r\nIf-Match: a\r\nIf-Match: b\r\n\r\n",
    "PUT /url HTTP/1.1\r\nHost: a\r\nConnection: close\t\r\n\r\n",
    /* any token is a method (RFC 9110 §9.1), not only llhttp's table */
    "MKCOLA / HTTP/1.1\r\nHost: a\r\n\r\n",
    NULL,
};

START_TEST(test_valid_vectors)
{
    for (int i = 0; valid[i]; i++) {
        int st = status_of(valid[i]);
        ck_assert_msg(st == 0, "valid vector %d refused with %d", i, st);
    }
}
END_TEST

struct bad {
    const char *raw;
    int status;
};

static const struct bad invalid[] = {
    /* framing llhttp 8.1.0 lets through */
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0_1\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 4 2\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000000\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nFoo: 1\rBar: 2\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nLong: one\r\n two\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\n: Bar\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\nHost: a\r\n\r\n",
     400},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: evil\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: pigeons\r\n\r\n", 501},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, deflate\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
     "identity\r\n\r\n",
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked, identity, "
     "chunked\r\n\r\n",
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedchunked\r\n\r\n", 501},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nTransfer-Encoding:\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nTransfer-Encoding: \tchunked\r\n\r\n",
     400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX-Value: plain\x07injected\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX-Value: plain\x7finjected\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nHeader1: hello\x0cworld\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nFo@: Failure\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length\xc3\x9f: 3\r\n\r\n", 400},
    /* bare LF anywhere */
    {"GET / HTTP/1.1\r\nHost: a\r\nDummy: x\nContent-Length: 23\r\n\r\n", 400},
    {"GET\n/\nHTTP/1.1\r\n\r\n", 400},
    {"POST / HTTP/1.1\nHost: a\r\n\r\n", 400},
    /* request line */
    {"GET HTTP/1.1\r\n\r\n", 400},
    {"bla:rgh /foo HTTP/1.1\r\n\r\n", 400},
    {"GET /foo FTP/1.1\r\n\r\n", 400},
    {"GET /test HTTP/111\r\nHost: a\r\n\r\n", 400},
    {"GET /foo HTTP/0.99\r\n\r\n", 400},
    {"GET /foo HTTP/2.0\r\n\r\n", 505},
    {"GET\xc3\x9f /g HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET: /x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET foo/bar HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"PUT s://]ufd/: HTTP/1.1\r\n\r\n", 400},
    {"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405},
    {"GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET /a/%2e%2e/%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET /a% HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: ..\r\n\r\n", 400},
    {NULL, 0},
};

START_TEST(test_invalid_vectors)
{
    for (int i = 0; invalid[i].raw; i++) {
        const char *raw = invalid[i].raw;
        size_t len = strlen(raw);
        struct http_reqp hp;
        struct req r;
        memset(&r, 0, sizeof(r));
        http_reqp_init(&hp);
        int st = parse(&hp, &r, raw, len);
        http_reqp_free(&hp);
        req_free(&r);
        ck_assert_msg(st == invalid[i].status, "invalid vector %d got %d, want %d", i, st,
                      invalid[i].status);
    }
}
END_TEST

/* Extension methods: any token is accepted and kept as sent, the rest of
 * the head is judged as for GET; anything else on the method's place is
 * refused. */
START_TEST(test_extension_methods)
{
    struct http_reqp hp;
    struct req r;
    memset(&r, 0, sizeof(r));
    http_reqp_init(&hp);
    const char *a = "QUERY /contacts?x=1 HTTP/1.1\r\nHost: example.org\r\n"
                    "Content-Type: example/query\r\nContent-Length: 38\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, a, strlen(a)), 0);
    ck_assert(r.method.len == 5 && memcmp(r.method.p, "QUERY", 5) == 0);
    ck_assert(r.request_uri.len == 13 && memcmp(r.request_uri.p, "/contacts?x=1", 13) == 0);
    ck_assert(r.uri.len == 9 && memcmp(r.uri.p, "/contacts", 9) == 0);
    ck_assert(r.args.len == 3 && memcmp(r.args.p, "x=1", 3) == 0);
    ck_assert(r.host.len == 11 && memcmp(r.host.p, "example.org", 11) == 0);
    ck_assert_int_eq((int)r.content_length, 38);
    ck_assert(!r.chunked);
    ck_assert_int_eq(r.nheaders, 3);
    ck_assert(r.headers[1].name_len == 12 && memcmp(r.headers[1].name, "Content-Type", 12) == 0);
    ck_assert(r.headers[1].value_len == 13 && memcmp(r.headers[1].value, "example/query", 13) == 0);
    ck_assert(r.request_line.len == 28 &&
              memcmp(r.request_line.p, "QUERY /contacts?x=1 HTTP/1.1", 28) == 0);

    const char *b = "FOO-BAR http://Up.example/p HTTP/1.1\r\nHost: x\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, b, strlen(b)), 0);
    ck_assert(r.method.len == 7 && memcmp(r.method.p, "FOO-BAR", 7) == 0);
    ck_assert(r.chunked);
    ck_assert_int_eq((int)r.content_length, -1);
    ck_assert(r.host.len == 10 && memcmp(r.host.p, "up.example", 10) == 0);
    ck_assert(r.uri.len == 2 && memcmp(r.uri.p, "/p", 2) == 0);

    /* methods are case-sensitive: "head" is not HEAD, its response has a body */
    const char *c = "head / HTTP/1.0\r\n\r\n";
    ck_assert_int_eq(parse(&hp, &r, c, strlen(c)), 0);
    ck_assert(r.method.len == 4 && memcmp(r.method.p, "head", 4) == 0);
    struct http_resp rp;
    http_resp_init(&rp);
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    ck_assert_int_eq(http_parse_response(&rp, resp, strlen(resp)), 0);
    ck_assert(http_resp_has_body(&rp, &r.method));
    http_resp_free(&rp);
    http_reqp_free(&hp);
    req_free(&r);

    static const char *const ok[] = {
        "X / HTTP/1.1\r\nHost: a\r\n\r\n",
        "get / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GETX / HTTP/1.1\r\nHost: a\r\n\r\n",
        "CONNECTX / HTTP/1.1\r\nHost: a\r\n\r\n",
        "PRIX / HTTP/1.1\r\nHost: a\r\n\r\n",
        "!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\nHost: a\r\n\r\n",
        "VERY-LONG-EXTENSION-METHOD-NAME-BEYOND-ANY-IN-THE-TABLE / HTTP/1.1\r\nHost: a\r\n\r\n",
        "QUERY / HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
        NULL,
    };
    for (int i = 0; ok[i]; i++) {
        int st = status_of(ok[i]);
        ck_assert_msg(st == 0, "extension method %d refused with %d", i, st);
    }

    /* what they differ in: CONNECT in any case (an upstream may take
     * "connect" for CONNECT), identity after chunked, a target above the root */
    static const struct http1_head_vector bad[] = {
        {"connect / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
        {"QUERY / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400},
        {"QUERY /../x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {NULL, 0},
    };
    method_vectors_check(bad, status_of);
    /* a NUL in the method */
    static const char nul[] = "QU\0ERY / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct http_reqp hp2;
    struct req r2;
    memset(&r2, 0, sizeof(r2));
    http_reqp_init(&hp2);
    ck_assert_int_eq(parse(&hp2, &r2, nul, sizeof(nul) - 1), 400);
    http_reqp_free(&hp2);
    req_free(&r2);
}
END_TEST

/* The verdicts the gateway reaches too (tests/common/http1_vectors.h), and
 * where the proxy differs by design. */
START_TEST(test_shared_vectors)
{
    static const struct http1_head_vector own[] = {
        /* a coding before chunked is forwarded upstream */
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0},
        /* CONNECT in any case: an upstream may fold it */
        {"connect / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
        /* $uri is normalised: nothing above the root */
        {"GET /a/../../x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {NULL, 0},
    };
    http1_head_vectors_check(own, status_of);
    for (int v = 0; http1_body_vectors[v].raw; v++) {
        const struct http1_body_vector *bv = &http1_body_vectors[v];
        long n = chunked_len(bv->raw, NULL, 0);
        ck_assert_msg(n == bv->len, "body vector %d: %ld, want %ld", v, n, bv->len);
    }
}
END_TEST

START_TEST(test_nul_bytes)
{
    static const char a[] = "GET / HTTP/1.1\r\nHost: a\r\nba\0z: bar\r\n\r\n";
    static const char b[] = "GET\0 /foo HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char c[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
    static const char d[] = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n";
    const char *v[] = {a, b, c, d};
    size_t l[] = {sizeof(a) - 1, sizeof(b) - 1, sizeof(c) - 1, sizeof(d) - 1};
    for (int i = 0; i < 4; i++) {
        struct http_reqp hp;
        struct req r;
        memset(&r, 0, sizeof(r));
        http_reqp_init(&hp);
        ck_assert_int_eq(parse(&hp, &r, v[i], l[i]), 400);
        http_reqp_free(&hp);
        req_free(&r);
    }
}
END_TEST

START_TEST(test_limits)
{
    char big[6000];
    size_t skip, hl;
    /* request line over line_max: 414 even before its end arrives */
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    ck_assert_int_eq(http1_find_head(big, 1100, &LIM, &skip, &hl), 414);
    /* a long header line: 431 */
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
    memset(big + n, 'b', 1200);
    ck_assert_int_eq(http1_find_head(big, (size_t)n + 1200, &LIM, &skip, &hl), 431);
    /* many headers over head_max: 431 */
    size_t o = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n");
    while (o < 5000)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "X-Header: 0123456789\r\n");
    ck_assert_int_eq(http1_find_head(big, o, &LIM, &skip, &hl), 431);
    /* incomplete: 0; complete: 1 */
    ck_assert_int_eq(http1_find_head("GET / HTTP/1.1\r\nHost: a\r\n", 26, &LIM, &skip, &hl), 0);
    ck_assert_int_eq(http1_find_head("\r\n\r\nGET / HTTP/1.1\r\n\r\nX", 23, &LIM, &skip, &hl), 1);
    ck_assert_int_eq((int)skip, 4);
    ck_assert_int_eq((int)hl, 18);
    ck_assert_int_eq(http1_find_head("\n", 1, &LIM, &skip, &hl), 400);
    /* too many fields */
    o = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "X%d: 1\r\n", i);
    o += (size_t)snprintf(big + o, sizeof(big) - o, "\r\n");
    struct http1_limits wide = {8192, 65536, HTTP_MAX_HEADERS};
    ck_assert_int_eq(http1_find_head(big, o, &wide, &skip, &hl), 1);
    struct http_reqp hp;
    struct req r;
    memset(&r, 0, sizeof(r));
    http_reqp_init(&hp);
    req_reset(&r);
    ck_assert_int_eq(http_parse_request(&hp, big, hl, &r), 431);
    http_reqp_free(&hp);
    req_free(&r);
}
END_TEST

START_TEST(test_chunked)
{
    char out[256];
    ck_assert_int_eq(
        chunked_len("1e\r\nall your base are belong to us\r\n0\r\n\r\n", out, sizeof(out)), 30);
    ck_assert_str_eq(out, "all your base are belong to us");
    ck_assert_int_eq(chunked_len("5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n", out, sizeof(out)), 11);
    ck_assert_str_eq(out, "hello world");
    ck_assert_int_eq(chunked_len("5\r\nhello\r\n0\r\nVary: *\r\nX-T: p\r\n\r\n", NULL, 0), 5);
    ck_assert_int_eq(
        chunked_len("5; some; parameters=stuff\r\nhello\r\n6; blah\r\n world\r\n0\r\n\r\n", NULL,
                    0),
        11);
    ck_assert_int_eq(chunked_len("5;foo=\"bar baz\"\r\nhello\r\n0\r\n\r\n", NULL, 0), 5);
    ck_assert_int_eq(chunked_len("5;a=\"x \\\"y\\\" z\";b=c\r\nhello\r\n0\r\n\r\n", NULL, 0), 5);
    ck_assert_int_eq(chunked_len("0005\r\nhello\r\n0\r\n\r\n", NULL, 0), 5);
    ck_assert_int_eq(chunked_len("A\r\n0123456789\r\n0\r\n\r\n", NULL, 0), 10);
    /* hostile */
    static const char *const bad[] = {
        "6_0\r\n world\r\n0\r\n\r\n",
        "0 \r\n\r\n",
        " 0\r\n\r\n",
        "5\n;\r\nhello\r\n0\r\n\r\n",
        " ;foo=bar\r\nhello\r\n0\r\n\r\n",
        "\r\nhello\r\n0\r\n\r\n",
        "5;ext=val\rue\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "+5\r\nhello\r\n0\r\n\r\n",
        "2;\r\naa\r\n0\r\n\r\n",
        "2 erfrferferf\r\naa\r\n0\r\n\r\n",
        "5;a=\"abc\";b=\"def; ghi\r\nhello\r\n0\r\n\r\n",
        "3\r\nfooX\r\n0\r\n\r\n",
        "3\r\nfoo\r\n\r\n",
        "5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n",
        "5\r\nhello\r\n0\r\nHost: evil\r\n\r\n",
        "5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5\r\nhello\r\n0\r\nBad Name: x\r\n\r\n",
        "5\r\nhello\r\n0\r\nX: a\x01\r\n\r\n",
        "5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n",
        "1000000000000000\r\n",
        "3 \n  \r\nfoo\r\n\r\n",
        NULL,
    };
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(chunked_len(bad[i], NULL, 0) == -1, "bad chunked %d accepted", i);
    /* incomplete */
    ck_assert_int_eq(chunked_len("0\r\n", NULL, 0), -2);
}
END_TEST

START_TEST(test_chunked_bytewise)
{
    /* feeding one byte at a time must give the same result */
    const char *body = "5;x=\"q\"\r\nhello\r\n6\r\n world\r\n0\r\nA: b\r\n\r\n";
    struct http1_chunked c;
    http1_chunked_init(&c);
    size_t len = strlen(body), i = 0, got = 0;
    while (!http1_chunked_done(&c)) {
        ck_assert(i < len);
        if (http1_chunked_in_data(&c)) {
            http1_chunked_consumed(&c, 1);
            got++;
            i++;
            continue;
        }
        long k = http1_chunked_frame(&c, body + i, 1);
        ck_assert(k >= 0);
        i += (size_t)k;
    }
    ck_assert_int_eq((int)got, 11);
    ck_assert_int_eq((int)i, (int)len);
}
END_TEST

START_TEST(test_response)
{
    struct http_resp rp;
    http_resp_init(&rp);
    const char *a =
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\nConnection: keep-alive, X-A\r\n\r\n";
    ck_assert_int_eq(http_parse_response(&rp, a, strlen(a)), 0);
    ck_assert_int_eq(rp.status, 200);
    ck_assert_int_eq((int)rp.content_length, 5);
    ck_assert(!rp.conn_close);
    ck_assert(http_hop_by_hop("x-a", 3, &rp.connection));
    ck_assert(http_hop_by_hop("Keep-Alive", 10, NULL));
    ck_assert(!http_hop_by_hop("X-B", 3, &rp.connection));
    const char *b = "HTTP/1.0 404\r\nServer: x\r\n\r\n";
    ck_assert_int_eq(http_parse_response(&rp, b, strlen(b)), 0);
    ck_assert_int_eq(rp.status, 404);
    ck_assert(rp.conn_close);
    const char *c = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
    /* both framings: refused (llhttp does; RFC 9112 §6.3 allows it) */
    ck_assert_int_eq(http_parse_response(&rp, c, strlen(c)), -1);
    const char *c2 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    ck_assert_int_eq(http_parse_response(&rp, c2, strlen(c2)), 0);
    ck_assert(rp.chunked);
    ck_assert(!rp.conn_close);
    ck_assert_int_eq((int)rp.content_length, -1);
    const char *bad[] = {
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
        "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        NULL,
    };
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(http_parse_response(&rp, bad[i], strlen(bad[i])) == -1,
                      "bad response %d accepted", i);
    /* split without llhttp when it could only agree: the same fields */
    const char *e = "HTTP/1.1 200 OK\r\nX-E:\r\nX-S: \t v w \r\nContent-Length: 2\r\n\r\n";
    ck_assert_int_eq(http_parse_response(&rp, e, strlen(e)), 0);
    ck_assert_int_eq(rp.nhdrs, 3);
    ck_assert_int_eq((int)rp.hdrs[0].name_len, 3);
    ck_assert_int_eq((int)rp.hdrs[0].value_len, 0);
    ck_assert_int_eq((int)rp.hdrs[1].value_len, 3);
    ck_assert(memcmp(rp.hdrs[1].value, "v w", 3) == 0);
    ck_assert_int_eq((int)rp.content_length, 2);
    /* and what llhttp refuses still goes to it */
    const char *llbad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.2 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\t\r\n\r\n",
        NULL,
    };
    for (int i = 0; llbad[i]; i++)
        ck_assert_msg(http_parse_response(&rp, llbad[i], strlen(llbad[i])) == -1,
                      "response %d accepted", i);
    struct req_str head = {"HEAD", 4};
    const char *d = "HTTP/1.1 304 Not Modified\r\n\r\n";
    ck_assert_int_eq(http_parse_response(&rp, d, strlen(d)), 0);
    ck_assert(!http_resp_has_body(&rp, NULL));
    ck_assert_int_eq(http_parse_response(&rp, a, strlen(a)), 0);
    ck_assert(!http_resp_has_body(&rp, &head));
    ck_assert(http1_list_has("a, Close ,b", 11, "close"));
    http_resp_free(&rp);
}
END_TEST

Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_valid_basic);
    tcase_add_test(tc, test_keepalive_rules);
    tcase_add_test(tc, test_valid_vectors);
    tcase_add_test(tc, test_invalid_vectors);
    tcase_add_test(tc, test_extension_methods);
    tcase_add_test(tc, test_shared_vectors);
    tcase_add_test(tc, test_nul_bytes);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_chunked);
    tcase_add_test(tc, test_chunked_bytewise);
    tcase_add_test(tc, test_response);
    suite_add_tcase(s, tc);
    return s;
}
