/* h_uwsgi: the request side of uwsgi_pass: the request as a uwsgi packet
 * (common/uwsgi.h).  The rest (peers, body streaming, the response, which a
 * uwsgi gateway sends as HTTP) is h_proxy.c's.
 *
 * Variables: every uwsgi_param of the location (templates evaluated, "if_not_empty"
 * honoured); the CGI variables a WSGI gateway needs that the configuration did
 * not set (REQUEST_METHOD, REQUEST_URI, PATH_INFO, QUERY_STRING, CONTENT_TYPE,
 * CONTENT_LENGTH, SERVER_PROTOCOL, SERVER_NAME, SERVER_PORT, REMOTE_ADDR,
 * REMOTE_PORT, HTTPS-less UWSGI_SCHEME); then each request header as HTTP_NAME as
 * nginx does (hop-by-hop fields and names with '_' are left out, so a client
 * cannot forge a variable). */
#ifndef PROXY_PROXY_UWSGI_H
#define PROXY_PROXY_UWSGI_H

#include "buf.h"
#include "config.h"
#include "req.h"

/* Encodes r's packet into out (emptied first); `tmp` is scratch space.
 * Returns 0, or -1 when the variables exceed 64 KiB or memory runs out. */
int uwsgi_build_request(const struct cf_loc *loc, const struct req *r, struct buf *out,
                        struct buf *tmp);

/* A uwsgi gateway may answer with a CGI head ("Status: 404 Not Found"
 * instead of a status line): writes it into out (emptied first) as an
 * HTTP/1.0 head with that status (200 when none).  p/hl borrowed.  0, -1
 * when memory runs out, or -2 when a Status value does not start with a
 * status of three digits (100 to 599): an invalid header, as nginx has it. */
int uwsgi_cgi_head(const char *p, size_t hl, struct buf *out);

#endif
