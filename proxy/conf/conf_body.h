/* conf_body: the request body's directives (nginx's core and proxy module
 * ones): proxy_request_buffering, uwsgi_request_buffering,
 * client_body_buffer_size, client_body_temp_path, client_body_in_file_only
 * and client_body_in_single_buffer.  request_body.c applies them. */
#ifndef PROXY_CONF_BODY_H
#define PROXY_CONF_BODY_H

#include "conf_run.h"

extern const struct conf_cmds conf_body_cmds;

/* The http level's default client_body_temp_path: "client_body_temp"
 * under the prefix, as nginx's.  0, or -1 with the error written. */
int conf_body_default_temp(struct conf_build *b, struct cf_loc *l);

#endif
