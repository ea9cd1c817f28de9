/* httpmethod: the method part of the HTTP/1 codec (http1.h) — method and
 * field-name compares, llhttp's method table, and llhttp 8.1.0 over a
 * request head with any method.
 *
 * llhttp 8.1.0 parses only the methods of its table, but any token is a
 * method (RFC 9110 §9.1: QUERY, FOO-BAR).  For a method llhttp does not
 * know, llhttp parses a stand-in "GET " and then the head from the target on
 * (it is a streaming parser; no callback span lies in the stand-in).  For a
 * request head llhttp treats GET like every method but CONNECT
 * (authority-form) and PRI (HTTP/2 preface), and it never sees a body, so
 * the rest of the head is judged exactly as with the real method.  Methods
 * llhttp knows go through it whole and keep its own checks (RTSP-only
 * methods over HTTP are refused).  Hence, for an extension method, the
 * parser's `method` field is GET: callers take the method from the head.
 *
 * Used by the proxy's and the gateway's request parsers (proxy/core/http.c,
 * gateway/gw_http.c), which check the method token (http1_request_line)
 * first. */
#ifndef CHAIN_HTTPMETHOD_H
#define CHAIN_HTTPMETHOD_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Is the method token `m` (len bytes) `name`?  Methods are case-sensitive
 * (RFC 9110 §9.1): "head" is an extension method, not HEAD. */
static inline bool http_method_is(const char *m, size_t len, const char *name)
{
    size_t nl = strlen(name);
    return len == nl && memcmp(m, name, nl) == 0;
}

/* Is [a, a + alen) the lower-case ASCII `lower` (llen bytes), ignoring ASCII
 * case?  For field names on every request: inline, and without
 * strncasecmp's locale lookup.  HTTP_IEQ takes a string literal. */
static inline bool http_ieq(const char *a, size_t alen, const char *lower, size_t llen)
{
    if (alen != llen)
        return false;
    for (size_t i = 0; i < llen; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (c != (unsigned char)lower[i])
            return false;
    }
    return true;
}
#define HTTP_IEQ(a, alen, lit) http_ieq((a), (alen), "" lit, sizeof(lit) - 1)

/* Is the token `m` (len bytes) in llhttp's method table?  Exact match:
 * methods are case-sensitive, as llhttp's table is. */
bool http_method_known(const char *m, size_t len);

/* Runs `p` (initialised by the caller, callbacks set) over the request head
 * `head` (len bytes, borrowed), whose first `method_len` bytes are a method
 * token followed by one space.  Returns llhttp's result. */
llhttp_errno_t http_execute_request(llhttp_t *p, const char *head, size_t len, size_t method_len);

#endif
