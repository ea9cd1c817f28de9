/* gw_http: the HTTP/1.x request head, parsed by llhttp and judged by the
 * codec both programs share (common/http1.h: bare CR, bare LF, obs-fold,
 * empty or invalid header names, control characters in values,
 * Content-Length beside Transfer-Encoding, duplicate or malformed
 * Content-Length, several Host headers or none on HTTP/1.1, an invalid
 * host).  What is the gateway's own: its limits (buffer-size, 256 fields)
 * and refusing any transfer coding but chunked (501), since it decodes no
 * other.  Any RFC 9110 token is a method (common/httpmethod.h).
 *
 * Pure: no I/O, no Python; the worker hands it the bytes it has read. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>

#include "gw_req.h"

enum {
    GW_HTTP_AGAIN = -1, /* the head is not complete yet */
    GW_HTTP_OK = 0,     /* complete; *head_len says how many bytes it took */
    /* otherwise an HTTP status to answer with before closing: 400, 405,
     * 414, 431, 501 (transfer coding), 505 */
};

/* Parses the request head at the start of `data` (borrowed: r's strings
 * point into it afterwards).  Leading empty lines are skipped (they count in
 * *head_len).  `max_head` bounds the head's size.  Returns GW_HTTP_AGAIN,
 * GW_HTTP_OK (r filled, *head_len set), or an error status: 400, 405,
 * 414 (request line over max_head), 431 (head over max_head, more than 256
 * fields), 501, 505; a bad request line is refused as soon as it is whole.
 * r->hdrs is reused and grown; -1 is never returned for memory: a failed
 * allocation gives 431. */
int gw_http_parse(const char *data, size_t len, size_t max_head, struct gw_req *r,
                  size_t *head_len);

/* Percent-decodes `n` bytes of `in` into `out` (room for n bytes; may be
 * in itself).  Invalid escapes are copied as they are.  Returns the length. */
size_t gw_http_pct_decode(const char *in, size_t n, char *out);

#endif
