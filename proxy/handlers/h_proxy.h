/* proxy_http: proxy_pass and uwsgi_pass, the upstream side of a request.
 *
 * For an ACTIVE connection whose location has proxy_pass or uwsgi_pass:
 * picks a peer through upstream.h, gets a connection from the keep-alive
 * pool (pool.h) or opens one, writes the request (an HTTP/1.x head here, or a
 * uwsgi packet from proxy_uwsgi.h), streams the request body into it and the
 * response back to the client with backpressure, and retries per
 * proxy_next_upstream.  Filling $upstream_* in the request is done here. */
#ifndef PROXY_PROXY_HTTP_H
#define PROXY_PROXY_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct proxy;

/* Starts proxying c's current request (uwsgi = uwsgi_pass).  May close c. */
void proxy_start(struct conn *c, bool uwsgi);
/* The client connection is closing: abandons the upstream try (not counted
 * as a failure) and frees the upstream connection.  c->px stays allocated. */
void proxy_abort(struct conn *c);
/* Frees the state kept in c->px (when the client connection is freed). */
void proxy_free(struct proxy *px);
/* Between requests: gives back the buffers of px (the upstream request head
 * or uwsgi packet, the response head) that one large request grew past
 * `keep` bytes; px stays usable. */
void proxy_trim(struct proxy *px, size_t keep);

#endif
