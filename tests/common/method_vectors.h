/* method_vectors: request heads with an extension method that the proxy's
 * and the gateway's parsers must refuse alike (tests/proxy/core/test_http.c,
 * tests/gateway/test_gw_http.c); each test adds the few where they differ. */
#ifndef TESTS_COMMON_METHOD_VECTORS_H
#define TESTS_COMMON_METHOD_VECTORS_H

#include "common/http1_vectors.h"

static const struct http1_head_vector method_vectors_bad[] = {
    {"QU/ERY / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"FOO(BAR) / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"FOO\"BAR / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"FO\x01O / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"FOO\x7f / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"FOO\tBAR / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"QU\xc3\x89RY / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {" / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"QUERY  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"QUERY / HTTP/1.1\r\n\r\n", 400},
    /* asterisk-form is OPTIONS's (case-sensitive), authority-form CONNECT's */
    {"QUERY * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"options * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"QUERY a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"connect a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    /* methods llhttp knows keep its checks */
    {"PRI / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"ANNOUNCE / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    /* framing is as strict as for any method */
    {"QUERY / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"QUERY / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
    {"QUERY / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", 400},
    {"QUERY / HTTP/1.1\r\nHost: a\r\nX: a\r\n Content-Length: 3\r\n\r\n", 400},
    {"QUERY / HTTP/1.1\r\nHost: a\r\nX: a\rContent-Length: 3\r\n\r\n", 400},
    {"QUERY / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\n", 400},
    {"QUERY / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"QUERY / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
    {"QUERY / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
    {NULL, 0},
};

/* Checks method_vectors_bad, then the suite's own `extra` (NULL-ended), with
 * the suite's status_of(raw head) -> the status its parser answers. */
static inline void method_vectors_check(const struct http1_head_vector *extra,
                                        int (*status_of)(const char *))
{
    head_vectors_check(method_vectors_bad, extra, status_of);
}

#endif
