/* http1_vectors: request heads and chunked bodies on which the proxy's and
 * the gateway's parsers must reach the same verdict, since both judge with
 * the one codec (common/http1.h).  tests/common/test_http1.c drives the
 * codec's parts with them, tests/proxy/core/test_http.c and
 * tests/gateway/test_gw_http.c (heads) and tests/gateway/test_gw_conn.c
 * (bodies) the programs; each suite adds the few where the programs differ
 * by design (a transfer coding before chunked, CONNECT in lower case, the
 * proxy's path normalisation). */
#ifndef TESTS_COMMON_HTTP1_VECTORS_H
#define TESTS_COMMON_HTTP1_VECTORS_H

#include <check.h>
#include <stddef.h>

struct http1_head_vector {
    const char *raw;
    int status; /* 0: accepted */
};

static const struct http1_head_vector http1_head_vectors[] = {
    /* accepted */
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
    {"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
    {"GET / HTTP/1.0\r\n\r\n", 0},
    {"GET /x HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n", 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \xff\r\n\r\n", 0},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\n", 0},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 0},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", 0},
    {"GET http://ex.com/p?q HTTP/1.1\r\nHost: a\r\n\r\n", 0},
    {"GET HTTPS://user@ex.com:8443 HTTP/1.1\r\nHost: a\r\n\r\n", 0},
    {"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 0},
    {"GET / HTTP/1.1\r\nHost: 0.0.0.0=5000\r\n\r\n", 0},
    {"GET / HTTP/1.1\r\nHost:\r\n\r\n", 0},
    {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0},
    {"M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n", 0},
    {"QUERY / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\t\r\nExpect: 100-continue\r\n\r\n", 0},
    /* the field lines */
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\n\tX: a\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\nY: b\r\n\r\n", 400},
    {"GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX : v\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nF@o: v\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01"
     "b\r\n\r\n",
     400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x0c"
     "b\r\n\r\n",
     400},
    /* the request line */
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
    {"GET HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET / FOO/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET / HTTP/11\r\nHost: a\r\n\r\n", 400},
    {"GET / http/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET / HTTP/0.9\r\n\r\n", 400},
    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
    {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
    {"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 405},
    {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET http://u@/p HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    /* Content-Length */
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4 2\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000\r\n\r\n", 400},
    /* Transfer-Encoding */
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: pigeons\r\n\r\n", 501},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedchunked\r\n\r\n", 501},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: chunked\r\n\r\n",
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400},
    /* Host, Content-Type */
    {"GET / HTTP/1.1\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: ..\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: .a\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400},
    {"GET http://a..b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", 400},
    /* codings in two Transfer-Encoding fields: the proxy forwards codings as
     * one span of the head, which would carry the field lines between them */
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nX-Real-IP: 192.0.2.1\r\n"
     "Transfer-Encoding: gzip, chunked\r\n\r\n",
     400},
    {NULL, 0},
};

/* Checks `set`, then the suite's own `extra` (NULL-ended, or NULL), with
 * the suite's status_of(raw head) -> its parser's verdict. */
static inline void head_vectors_check(const struct http1_head_vector *set,
                                      const struct http1_head_vector *extra,
                                      int (*status_of)(const char *))
{
    const struct http1_head_vector *sets[] = {set, extra};
    for (int k = 0; k < 2; k++)
        for (int i = 0; sets[k] && sets[k][i].raw; i++) {
            int st = status_of(sets[k][i].raw);
            ck_assert_msg(st == sets[k][i].status, "head vector %d.%d got %d, want %d: %s", k, i,
                          st, sets[k][i].status, sets[k][i].raw);
        }
}

static inline void http1_head_vectors_check(const struct http1_head_vector *extra,
                                            int (*status_of)(const char *))
{
    head_vectors_check(http1_head_vectors, extra, status_of);
}

struct http1_body_vector {
    const char *raw; /* a chunked body, then "NEXT" when it must end exactly */
    long len;        /* data bytes, or -1: a framing error */
};

static const struct http1_body_vector http1_body_vectors[] = {
    {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT", 11},
    {"1e\r\nall your base are belong to us\r\n0\r\n\r\n", 30},
    {"0005\r\nhello\r\n000\r\n\r\n", 5},
    {"A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", 20},
    {"5;a\r\nhello\r\n0\r\n\r\n", 5},
    {"5; some; parameters=stuff\r\nhello\r\n0\r\n\r\n", 5},
    {"5;a = b ;c=\"d;e\"\r\nhello\r\n0\r\n\r\n", 5},
    {"5;a=\"x \\\"y\\\" z\";b=c\r\nhello\r\n0\r\n\r\n", 5},
    {"5\r\nhello\r\n0\r\nVary: *\r\nX-T: p\r\n\r\nNEXT", 5},
    {"5\r\nhello\r\n0;last\r\nX-Checksum: 1\r\n\r\n", 5},
    /* the size line */
    {"zz\r\nhello\r\n0\r\n\r\n", -1},
    {"+5\r\nhello\r\n0\r\n\r\n", -1},
    {"-5\r\nhello\r\n0\r\n\r\n", -1},
    {" 5\r\nhello\r\n0\r\n\r\n", -1},
    {"5 \r\nhello\r\n0\r\n\r\n", -1},
    {"5 ;a\r\nhello\r\n0\r\n\r\n", -1},
    {"0x5\r\nhello\r\n0\r\n\r\n", -1},
    {"6_0\r\n world\r\n0\r\n\r\n", -1},
    {"\r\nhello\r\n0\r\n\r\n", -1},
    {"5\nhello\r\n0\r\n\r\n", -1},
    {"5\r\r\nhello\r\n0\r\n\r\n", -1},
    {"1000000000000000\r\n", -1},
    {"fffffffffffffffff\r\n", -1},
    /* extensions */
    {"5;\r\nhello\r\n0\r\n\r\n", -1},
    {"5;;a\r\nhello\r\n0\r\n\r\n", -1},
    {"5;=b\r\nhello\r\n0\r\n\r\n", -1},
    {"5;a=\r\nhello\r\n0\r\n\r\n", -1},
    {"5;a \r\nhello\r\n0\r\n\r\n", -1},
    {"5;a=b \r\nhello\r\n0\r\n\r\n", -1},
    {"5;a=b c\r\nhello\r\n0\r\n\r\n", -1},
    {"5;a@b\r\nhello\r\n0\r\n\r\n", -1},
    {"5;a=\"b\r\nhello\r\n0\r\n\r\n", -1},
    {"5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", -1},
    {"5;a=\"b\x01\"\r\nhello\r\n0\r\n\r\n", -1},
    {"5;ext=val\rue\r\nhello\r\n0\r\n\r\n", -1},
    /* data and its CRLF */
    {"3\r\nfooX\r\n0\r\n\r\n", -1},
    {"5\r\nhelloXX0\r\n\r\n", -1},
    {"3\r\nfoo\n0\r\n\r\n", -1},
    {"3\r\nfoo\r\n\r\n", -1},
    /* trailers */
    {"5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n", -1},
    {"5\r\nhello\r\n0\r\nhost: evil\r\n\r\n", -1},
    {"5\r\nhello\r\n0\r\nTRANSFER-ENCODING: chunked\r\n\r\n", -1},
    {"5\r\nhello\r\n0\r\nAuthorization: x\r\n\r\n", -1},
    {"5\r\nhello\r\n0\r\nBad Name: x\r\n\r\n", -1},
    {"5\r\nhello\r\n0\r\n: x\r\n\r\n", -1},
    {"5\r\nhello\r\n0\r\n X: a\r\n\r\n", -1},
    {"5\r\nhello\r\n0\r\nX: a\x01\r\n\r\n", -1},
    {"5\r\nhello\r\n0\r\nX: a\nY: b\r\n\r\n", -1},
    {"5\r\nhello\r\n0\r\nX: a\r\n\n", -1},
    {NULL, 0},
};

#endif
