/* uwsgi: the uwsgi front end.  Decodes a request packet's variables once
 * into struct gw_req, the shape the HTTP front end (gw_http.c) fills, so
 * the environ, the access log and the response read one struct.
 *
 * What it keeps: every variable in r->hdrs (with r->cgi set), except the
 * empty CONTENT_LENGTH and CONTENT_TYPE nginx sends when the request has
 * none, and HTTP_CONTENT_LENGTH and HTTP_CONTENT_TYPE: nginx sends the
 * request's headers along with uwsgi_params, and CGI (and wsgiref.validate)
 * has those two as CONTENT_LENGTH and CONTENT_TYPE only.  The body's length
 * is CONTENT_LENGTH's, never a header's.
 *
 * Pure: no I/O, no Python. */
#ifndef GW_UWSGI_H
#define GW_UWSGI_H

#include <stddef.h>

#include "gw_req.h"

enum {
    GW_UWSGI_OK = 0,
    GW_UWSGI_BAD = -1,   /* malformed packet or CONTENT_LENGTH: answer 400 */
    GW_UWSGI_NOMEM = -2, /* out of memory: answer 500 */
};

/* Fills r (reset first, its variable array reused and grown) from the `len`
 * bytes of variables at `vars` (borrowed: r's strings point into them).
 * Also sets method (GET when absent), uri (REQUEST_URI, else PATH_INFO),
 * path, query, content_length, is_head and scheme (UWSGI_SCHEME; else
 * "https" when HTTPS is on or 1; else REQUEST_SCHEME).  The response to a
 * uwsgi request has no keep-alive and no chunked coding (http_minor 0).
 * Returns GW_UWSGI_OK, GW_UWSGI_BAD or GW_UWSGI_NOMEM. */
int gw_uwsgi_parse(const char *vars, size_t len, struct gw_req *r);

#endif
