/* http: the proxy's side of HTTP/1.x: request and response heads through
 * llhttp, judged by the one codec both programs share (common/http1.h), and
 * what only a proxy needs: the decoded, normalised $uri, $host in lower
 * case, upstream response heads and hop-by-hop fields.
 *
 * The connection finds a complete head in its input (http1_find_head), copies
 * it into the parser's own buffer and parses it (http_parse_request or
 * http_parse_response).  Before llhttp sees a head, the codec's strict
 * scanner refuses every shape used for request smuggling that Debian's
 * llhttp 8.1.0 lets through; after llhttp, the codec judges the framing
 * fields.  Any RFC 9110 token is a method (common/httpmethod.h).
 *
 * Bodies are not given to llhttp: Content-Length bodies are counted by the
 * caller and chunked bodies go through the codec's decoder (http1_chunked).
 * Nothing here allocates per request once the buffers have grown. */
#ifndef PROXY_HTTP_H
#define PROXY_HTTP_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http1.h"
#include "req.h"

#define HTTP_MAX_HEADERS 128 /* more fields than this: 431 */

/* A request head parser, one per client connection. */
struct http_reqp {
    llhttp_t p;
    struct buf head;         /* copy of the current head; req strings point here */
    struct buf uri;          /* $uri (decoded, normalised) */
    struct req_header *hdrs; /* storage behind req.headers */
    int hcap;
    /* what the head says beyond struct req */
    bool expect_continue;      /* Expect: 100-continue */
    struct req_str te_codings; /* codings before "chunked" ("gzip"), forwarded upstream */
    const char *why;           /* reason of the last refusal, for the error log */
};

void http_reqp_init(struct http_reqp *hp);
void http_reqp_free(struct http_reqp *hp);

/* Parses the head `head` (len bytes from http1_find_head, borrowed; copied
 * into hp->head) into `r` (which must be freshly reset; its strings then point
 * into hp until the next parse).  Returns 0, or the HTTP status to refuse
 * with: 400 (malformed or hostile framing), 501 (unknown transfer coding),
 * 505 (HTTP major version > 1), 405 (CONNECT); hp->why says why. */
int http_parse_request(struct http_reqp *hp, const char *head, size_t len, struct req *r);

/* A response head parser, one per upstream attempt. */
struct http_resp {
    llhttp_t p;
    struct buf head;         /* copy of the head; strings point here */
    struct req_header *hdrs; /* fields in arrival order */
    int nhdrs, hcap;
    int status;
    int http_major, http_minor;
    int64_t content_length;    /* -1 when absent */
    bool chunked;              /* Transfer-Encoding ends in chunked */
    bool conn_close;           /* Connection: close, or HTTP/1.0 without keep-alive */
    struct req_str connection; /* the Connection value (names more hop-by-hop fields) */
    const char *why;
};

void http_resp_init(struct http_resp *rp);
void http_resp_free(struct http_resp *rp);

/* Parses a response head (from http1_find_head with generous limits).
 * Returns 0, or -1 when it is invalid (the proxy answers 502); rp->why says
 * why. */
int http_parse_response(struct http_resp *rp, const char *head, size_t len);

/* Does the response to `method` with this status carry a body? */
bool http_resp_has_body(const struct http_resp *rp, const struct req_str *method);

/* Is `name` a hop-by-hop field (Connection, Keep-Alive, TE, Trailer,
 * Transfer-Encoding, Upgrade, Proxy-Connection), or listed in the
 * Connection value `conn`? */
bool http_hop_by_hop(const char *name, size_t len, const struct req_str *conn);

#endif
