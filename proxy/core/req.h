/* req: what is known about one client request, in the shape that variables,
 * access logs, routing and balancing read it.
 *
 * Owner: struct request (request.h) embeds it and the session fills it;
 * every string points into memory the request state keeps (its parsed head)
 * until the request's access log line is written
 * (after which the whole struct is reset for the next keep-alive request).
 * Other modules borrow it for the length of one call and never keep pointers
 * into it.  Strings are not NUL-terminated unless said; lengths are given. */
#ifndef PROXY_REQ_H
#define PROXY_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "buf.h"

struct cf_server;
struct cf_loc;

struct req_header {
    const char *name; /* as received */
    size_t name_len;
    const char *value; /* leading/trailing whitespace removed */
    size_t value_len;
};

struct req_str {
    const char *p; /* NULL when absent */
    size_t len;
};

struct req {
    /* request line */
    struct req_str method;       /* $request_method */
    struct req_str request_uri;  /* $request_uri: exactly as received */
    struct req_str uri;          /* $uri: path percent-decoded and normalised, no args */
    struct req_str args;         /* $args: after '?', without it */
    struct req_str request_line; /* $request: "GET /x HTTP/1.1" */
    int http_major, http_minor;

    struct req_header *headers; /* in arrival order */
    int nheaders;
    struct req_str host;    /* Host without port, lowercased; empty if none */
    int64_t content_length; /* -1 when the request has none */
    bool chunked;
    bool keepalive; /* the client wants the connection kept */

    /* connection */
    const struct addr *client; /* $remote_addr, $remote_port */
    const struct addr *local;  /* $server_addr, $server_port */
    const struct cf_server *server;
    const struct cf_loc *loc; /* NULL until routed */
    char request_id[33];      /* $request_id: 32 hex digits */

    /* timing: CLOCK_REALTIME at the first byte of the request */
    struct timespec start;

    /* outcome, filled as the response goes out */
    int status;               /* $status; 0 until known */
    uint64_t body_bytes_sent; /* $body_bytes_sent */
    uint64_t bytes_sent;      /* $bytes_sent */
    uint64_t request_length;  /* $request_length: head + body bytes read */

    /* upstream attempts, nginx style: one entry per try joined with ", " */
    struct buf upstream_addr;          /* $upstream_addr */
    struct buf upstream_status;        /* $upstream_status */
    struct buf upstream_connect_time;  /* $upstream_connect_time, seconds "0.001" */
    struct buf upstream_header_time;   /* $upstream_header_time */
    struct buf upstream_response_time; /* $upstream_response_time */

    /* the body once read whole (request_read_body), borrowed from its spool */
    struct req_str body;   /* $request_body: the body when it is in memory */
    const char *body_file; /* $request_body_file: its temp file's name, or NULL */
};

/* Finds the first header named `name` (case-insensitive).  Returns it
 * (borrowed from r) or NULL. */
const struct req_header *req_find_header(const struct req *r, const char *name, size_t len);

/* Zeroes the request for the next one on the connection, keeping the
 * allocated upstream_* buffers. */
void req_reset(struct req *r);
/* Releases the upstream_* buffers. */
void req_free(struct req *r);

#endif
