/* req: what the front ends (HTTP/1.x in gw_http.c, uwsgi in gw_uwsgi.c)
 * know about one request, filled once, in one shape for the environ
 * (gw_environ.c), the response, the access log and the connection's
 * keep-alive decision.
 *
 * Owner: the connection; it is reset for each request and reused.  Strings
 * point into the connection's read buffer and stay valid until the request's
 * body is first read (environ is built before that); they are not
 * NUL-terminated. */
#ifndef GW_REQ_H
#define GW_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_hdr {
    const char *name; /* as received */
    size_t name_len;
    const char *value; /* surrounding whitespace removed */
    size_t value_len;
};

struct gw_req {
    const char *method; /* "GET" */
    size_t method_len;
    const char *uri; /* request target exactly as received */
    size_t uri_len;
    const char *path; /* target up to '?', still percent-encoded */
    size_t path_len;
    const char *query; /* after '?' (without it); empty when none */
    size_t query_len;
    int http_minor; /* HTTP/1.x */

    struct gw_hdr *hdrs; /* in arrival order (owned, grown as needed); with
                            `cgi`, the packet's variables */
    int nhdrs, hcap;

    int64_t content_length; /* -1 when the request has none */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool keepalive;         /* the client allows another request after this one */
    bool expect_continue;   /* Expect: 100-continue */
    bool is_head;           /* HEAD: the response has no body */

    /* uwsgi: hdrs holds CGI variables as the front server sent them (names
     * such as "HTTP_HOST" or "SERVER_NAME"), not HTTP header lines */
    bool cgi;
    const char *scheme; /* wsgi.url_scheme the front server gave, or NULL */
    size_t scheme_len;
};

/* Resets r for the next request, keeping its header array. */
void gw_req_reset(struct gw_req *r);
/* Releases r's header array. */
void gw_req_free(struct gw_req *r);
/* Makes room for n entries in r->hdrs (grown by doubling, kept across
 * requests).  0, or -1 when memory runs out (r unchanged). */
int gw_req_reserve(struct gw_req *r, int n);

#endif
