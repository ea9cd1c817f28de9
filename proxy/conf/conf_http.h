/* conf_http: the http core's directives of the http, server and location
 * contexts: server { }, listen, server_name, location { }, client limits and
 * timeouts, keep-alive, response headers (add_header, expires,
 * server_tokens, server_timing) and the accepted-without-effect ones
 * (sendfile, tcp_*, gzip off; see conf.h). */
#ifndef PROXY_CONF_HTTP_H
#define PROXY_CONF_HTTP_H

#include "conf_run.h"

extern const struct conf_cmds conf_http_cmds;

/* A new settings level below `parent` (NULL: http) of server `srv` (NULL:
 * http), in the arena; NULL with the error written. */
struct loc_conf *conf_http_new_level(struct conf_build *b, struct loc_conf *parent,
                                     struct srv_conf *srv);
/* add_header / proxy_set_header / uwsgi_param NAME VALUE [always |
 * if_not_empty]: appends to the list cmd->bit names (F_ADD_HEADERS,
 * F_PROXY_HEADERS, F_UWSGI_PARAMS). */
int conf_set_header(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                    struct conf_scope *s);

#endif
