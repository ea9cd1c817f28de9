/* Unit tests for gateway/http: request heads, strictness against the
 * smuggling shapes llhttp 8.1.0 lets through, percent-decoding. */
#include <check.h>
#include <string.h>

#include "gw_http.h"
#include "common/method_vectors.h"

static int parse(const char *s, struct gw_req *r, size_t *hl)
{
    return gw_http_parse(s, strlen(s), 65536, r, hl);
}

static int status_of(const char *s)
{
    struct gw_req r = {0};
    size_t hl = 0;
    int rc = parse(s, &r, &hl);
    gw_req_free(&r);
    return rc;
}

START_TEST(simple_get)
{
    struct gw_req r = {0};
    size_t hl = 0;
    const char *s = "GET /a%20b/c?x=1&y=2 HTTP/1.1\r\nHost: ex.com\r\nX-A: 1\r\n"
                    "X-A:  2 \r\n\r\nNEXT";
    ck_assert_int_eq(parse(s, &r, &hl), GW_HTTP_OK);
    ck_assert_uint_eq(hl, strlen(s) - 4);
    ck_assert_uint_eq(r.method_len, 3);
    ck_assert(memcmp(r.method, "GET", 3) == 0);
    ck_assert_uint_eq(r.path_len, 8);
    ck_assert(memcmp(r.path, "/a%20b/c", 8) == 0);
    ck_assert_uint_eq(r.query_len, 7);
    ck_assert(memcmp(r.query, "x=1&y=2", 7) == 0);
    ck_assert_uint_eq(r.uri_len, 16);
    ck_assert_int_eq(r.http_minor, 1);
    ck_assert_int_eq(r.nhdrs, 3);
    ck_assert_uint_eq(r.hdrs[2].value_len, 1);
    ck_assert(r.hdrs[2].value[0] == '2');
    ck_assert(r.keepalive);
    ck_assert_int_eq(r.content_length, -1);
    ck_assert(!r.chunked);
    gw_req_free(&r);
}
END_TEST

START_TEST(incomplete_and_sizes)
{
    struct gw_req r = {0};
    size_t hl;
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n", &r, &hl), GW_HTTP_AGAIN);
    ck_assert_int_eq(parse("GET / HT", &r, &hl), GW_HTTP_AGAIN);
    char big[2048];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    /* a request line longer than the head may be: 414 (the codec's rule) */
    ck_assert_int_eq(gw_http_parse(big, sizeof(big), 1024, &r, &hl), 414);
    /* a field line or a head that long: 431 */
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    ck_assert_int_eq(gw_http_parse(big, sizeof(big), 1024, &r, &hl), 431);
    gw_req_free(&r);
}
END_TEST

START_TEST(framing)
{
    struct gw_req r = {0};
    size_t hl;
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", &r, &hl),
                     GW_HTTP_OK);
    ck_assert_int_eq(r.content_length, 12);
    ck_assert_int_eq(
        parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &r, &hl),
        GW_HTTP_OK);
    ck_assert(r.chunked);
    ck_assert_int_eq(r.content_length, -1);
    ck_assert_int_eq(
        parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &r,
              &hl),
        GW_HTTP_OK);
    ck_assert(r.expect_continue);
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n", &r, &hl), GW_HTTP_OK);
    ck_assert(!r.keepalive);
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r, &hl),
                     GW_HTTP_OK);
    ck_assert(r.keepalive);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, close\r\n\r\n", &r, &hl),
                     GW_HTTP_OK);
    ck_assert(!r.keepalive);
    ck_assert_int_eq(parse("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", &r, &hl), GW_HTTP_OK);
    ck_assert(r.is_head);
    ck_assert_int_eq(parse("GET http://ex.com/p?q HTTP/1.1\r\nHost: a\r\n\r\n", &r, &hl),
                     GW_HTTP_OK);
    ck_assert_uint_eq(r.path_len, 2);
    ck_assert(memcmp(r.path, "/p", 2) == 0);
    gw_req_free(&r);
}
END_TEST

START_TEST(hostile)
{
    /* CL + TE */
    ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"),
                     400);
    /* duplicate / bad Content-Length */
    ck_assert_int_eq(
        status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
        400);
    ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"), 400);
    /* obs-fold, bare CR, bare LF, empty name, space before colon */
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\nY: b\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nX : v\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01"
                               "b\r\n\r\n"),
                     400);
    /* refused before the line (or head) is even complete */
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n Host: foo"), 400);
    ck_assert_int_eq(status_of("PUT /url HTTP/1.1\r\nContent-Length: 3\r\n\rabc"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\r"), GW_HTTP_AGAIN);
    /* transfer codings */
    ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, "
                               "chunked\r\n\r\n"),
                     501);
    ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"),
                     400);
    ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    /* Host */
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    /* request line */
    ck_assert_int_eq(status_of("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    ck_assert_int_eq(status_of("GET / FOO/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("G@T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(status_of("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n"), 405);
}
END_TEST

/* Extension methods: any token is accepted and kept as sent, the rest of
 * the head is judged as for GET; anything else on the method's place is
 * refused. */
START_TEST(extension_methods)
{
    struct gw_req r = {0};
    size_t hl = 0;
    const char *a = "QUERY /contacts?x=1 HTTP/1.1\r\nHost: example.org\r\n"
                    "Content-Type: example/query\r\nContent-Length: 38\r\n\r\nBODY";
    ck_assert_int_eq(parse(a, &r, &hl), GW_HTTP_OK);
    ck_assert_uint_eq(hl, strlen(a) - 4);
    ck_assert_uint_eq(r.method_len, 5);
    ck_assert(memcmp(r.method, "QUERY", 5) == 0);
    ck_assert_uint_eq(r.uri_len, 13);
    ck_assert(memcmp(r.uri, "/contacts?x=1", 13) == 0);
    ck_assert_uint_eq(r.path_len, 9);
    ck_assert(memcmp(r.path, "/contacts", 9) == 0);
    ck_assert_uint_eq(r.query_len, 3);
    ck_assert_int_eq(r.content_length, 38);
    ck_assert(!r.chunked);
    ck_assert(!r.is_head);
    ck_assert(r.keepalive);
    ck_assert_int_eq(r.nhdrs, 3);
    ck_assert_uint_eq(r.hdrs[1].name_len, 12);
    ck_assert(memcmp(r.hdrs[1].name, "Content-Type", 12) == 0);
    ck_assert_uint_eq(r.hdrs[1].value_len, 13);
    ck_assert(memcmp(r.hdrs[1].value, "example/query", 13) == 0);

    const char *b = "\r\nFOO-BAR http://ex.com/p HTTP/1.1\r\nHost: a\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n";
    ck_assert_int_eq(parse(b, &r, &hl), GW_HTTP_OK);
    ck_assert_uint_eq(r.method_len, 7);
    ck_assert(memcmp(r.method, "FOO-BAR", 7) == 0);
    ck_assert(r.chunked);
    ck_assert_int_eq(r.content_length, -1);
    ck_assert_uint_eq(r.path_len, 2);
    ck_assert(memcmp(r.path, "/p", 2) == 0);

    /* methods are case-sensitive: "head" is not HEAD */
    ck_assert_int_eq(parse("head / HTTP/1.1\r\nHost: a\r\n\r\n", &r, &hl), GW_HTTP_OK);
    ck_assert_uint_eq(r.method_len, 4);
    ck_assert(!r.is_head);
    gw_req_free(&r);

    static const char *const ok[] = {
        "X / HTTP/1.1\r\nHost: a\r\n\r\n",
        "get / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GETX / HTTP/1.1\r\nHost: a\r\n\r\n",
        "MKCOLA / HTTP/1.1\r\nHost: a\r\n\r\n",
        "CONNECTX / HTTP/1.1\r\nHost: a\r\n\r\n",
        "connect / HTTP/1.1\r\nHost: a\r\n\r\n",
        "!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\nHost: a\r\n\r\n",
        "QUERY / HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
        NULL,
    };
    for (int i = 0; ok[i]; i++)
        ck_assert_msg(status_of(ok[i]) == GW_HTTP_OK, "extension method %d refused with %d", i,
                      status_of(ok[i]));

    /* what they differ in: a coding before chunked is ours to refuse, 501 */
    static const struct http1_head_vector bad[] = {
        {"QUERY / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {NULL, 0},
    };
    method_vectors_check(bad, status_of);
    /* a NUL in the method */
    static const char nul[] = "QU\0ERY / HTTP/1.1\r\nHost: a\r\n\r\n";
    ck_assert_int_eq(gw_http_parse(nul, sizeof(nul) - 1, 65536, &r, &hl), 400);
    gw_req_free(&r);
}
END_TEST

START_TEST(shared_vectors)
{
    /* the verdicts the proxy reaches too (tests/common/http1_vectors.h),
     * and where the gateway differs by design */
    static const struct http1_head_vector own[] = {
        /* it decodes no coding but chunked */
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        /* methods are case-sensitive and nothing is forwarded: "connect" is
         * an extension method */
        {"connect / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
        /* PATH_INFO is the app's to judge */
        {"GET /a/../../x HTTP/1.1\r\nHost: a\r\n\r\n", 0},
        {NULL, 0},
    };
    http1_head_vectors_check(own, status_of);
}
END_TEST

START_TEST(pct_decode)
{
    char out[64];
    size_t n = gw_http_pct_decode("/a%20b%2Fc%zz%4", 15, out);
    ck_assert_uint_eq(n, 11);
    ck_assert(memcmp(out, "/a b/c%zz%4", 11) == 0);
    n = gw_http_pct_decode("%e9%", 4, out);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq((unsigned char)out[0], 0xe9);
    ck_assert_int_eq(out[1], '%');
}
END_TEST

Suite *gw_http_suite(void)
{
    Suite *s = suite_create("gw_http");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, simple_get);
    tcase_add_test(tc, incomplete_and_sizes);
    tcase_add_test(tc, framing);
    tcase_add_test(tc, hostile);
    tcase_add_test(tc, extension_methods);
    tcase_add_test(tc, shared_vectors);
    tcase_add_test(tc, pct_decode);
    suite_add_tcase(s, tc);
    return s;
}
