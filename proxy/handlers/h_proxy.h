/* h_proxy: the content handlers of proxy_pass and uwsgi_pass, the upstream
 * side of a request.
 *
 * Picks a peer through upstream.h, gets a connection from the keep-alive
 * pool (pool.h) or opens one, writes the request (an HTTP/1.x head from
 * h_proxy_req.h, or a uwsgi packet from h_uwsgi.h), streams the request body
 * into it and the response back to the client, all through request.h
 * (buffered in memory and a temporary file under proxy_buffering, see
 * h_proxy_buf.h; with backpressure otherwise), and retries per
 * proxy_next_upstream and after a stale keep-alive connection.  Fills $upstream_* in the
 * request.  Its per-request state (struct proxy) lives in the request's
 * context slot and is reused by the connection's next requests. */
#ifndef PROXY_H_PROXY_H
#define PROXY_H_PROXY_H

/* Registers the handlers "proxy_pass" and "uwsgi_pass" (init). */
int h_proxy_init(void);

#endif
