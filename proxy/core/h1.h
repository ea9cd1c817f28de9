/* h1: the HTTP/1.x session: turns a connection's bytes into requests (head
 * finding and parsing with http.h, the request body decoded from
 * Content-Length or chunked coding) and the responses back into bytes (the
 * status line, framing fields and Connection; chunk framing itself is the
 * f_chunked filter's).  One request at a time per connection, pipelined ones
 * parsed when the previous response is out.
 *
 * It embeds the connection (conn.h) and is the session its requests reach
 * through struct sess_ops (request.h); nothing else knows it.  It owns the
 * current request state (taken from and given back to request.h's cache: an
 * idle keep-alive connection holds none). */
#ifndef PROXY_H1_H
#define PROXY_H1_H

#include <sys/socket.h>

#include "config.h"

struct worker;

/* A client connection was accepted on `ls`: takes the non-blocking socket
 * `fd` and serves HTTP/1.x on it.  On failure the fd is closed and the error
 * logged. */
void h1_accept(struct worker *w, const struct cf_listen *ls, int fd, const struct sockaddr *sa,
               socklen_t salen);

#endif
