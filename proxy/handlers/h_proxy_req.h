/* h_proxy_req: the HTTP/1.x request head proxy_pass sends upstream, nginx's
 * way: the request line with the URI (the original one, or with the
 * location's prefix replaced by proxy_pass's URI part), proxy_set_header
 * first (empty values dropped), then the client's fields minus hop-by-hop
 * ones, the ones proxy_set_header replaced and the framing it redoes
 * (Content-Length, or Transfer-Encoding with the client's codings). */
#ifndef PROXY_H_PROXY_REQ_H
#define PROXY_H_PROXY_REQ_H

#include "buf.h"
#include "config.h"
#include "req.h"

/* Writes r's head for loc's upstream into b (emptied first); te_codings are
 * the client's transfer codings before "chunked" (borrowed); tmp is scratch
 * space.  0, or -1 when memory runs out. */
int px_build_http_request(const struct req *r, const struct req_str *te_codings,
                          const struct cf_loc *loc, struct buf *b, struct buf *tmp);

#endif
