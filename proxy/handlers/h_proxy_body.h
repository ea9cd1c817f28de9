/* h_proxy_body: a request body read whole before proxying
 * (request_read_body, proxy_request_buffering / uwsgi_request_buffering) on
 * its way to an upstream connection.  Each try sends it from its first byte
 * again; it is queued on the connection's output in pieces, up to `high`
 * bytes of output, and the rest as the output drains, so that a body in a
 * temp file never sits whole in memory.  h_proxy.c calls these; the body's
 * spool belongs to the request (request.h), whose cursor they move. */
#ifndef PROXY_H_PROXY_BODY_H
#define PROXY_H_PROXY_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "request.h"

struct evbuffer;
struct sock;

/* Is q's body read whole before a peer is chosen?  As nginx, a chunked body
 * is buffered whatever the directives say when the upstream needs a length
 * (uwsgi, or HTTP/1.0).  A body with transfer codings before "chunked" is
 * streamed as it is: without chunked framing it could not say how it is
 * coded. */
bool px_body_buffered(const struct request *q, const struct cf_loc *loc, bool uwsgi);
/* Is some of q's buffered body still to be queued (false without one)? */
bool px_body_pending(struct request *q);
/* A try begins: back to the body's first byte. */
void px_body_rewind(struct request *q);
/* Queues more of the body on `out` (borrowed) while it holds under `high`
 * bytes.  False when the body could not be read back (logged). */
bool px_body_fill(struct request *q, struct evbuffer *out, size_t high);
/* sock_write_now() for a try's first bytes, refilling sk's output from the
 * body while the socket takes all: 1 when everything went (nothing is left
 * to arm the write event for), 0 when some is left, -1 when the body could
 * not be read back (logged). */
int px_body_write_now(struct request *q, struct sock *sk, size_t high);

#endif
