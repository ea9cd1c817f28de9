/* vars: nginx variables and compiled value templates.
 *
 * A template is a string such as "$host:$server_port" or "${http_x}-x",
 * compiled once at config time into literal and variable parts and evaluated
 * per request against a `struct req` (req.h).  Known variables: host
 * remote_addr remote_port server_addr server_port server_name scheme request
 * request_method request_uri uri document_uri args query_string is_args
 * arg_NAME http_NAME cookie_NAME sent_http_NAME(empty) proxy_host
 * proxy_add_x_forwarded_for status body_bytes_sent bytes_sent request_length
 * request_time request_id time_local time_iso8601 msec remote_user
 * upstream_addr upstream_status upstream_connect_time upstream_header_time
 * upstream_response_time content_length content_type document_root
 * server_protocol https (always empty: no TLS).  Unknown names are a compile
 * error, as in nginx. */
#ifndef PROXY_VARS_H
#define PROXY_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "req.h"

struct tmpl;

/* Compiles `src` (borrowed).  Returns the template (owned by the caller,
 * release with tmpl_free) or NULL with a message like
 * `unknown "foo" variable` in err. */
struct tmpl *tmpl_compile(const char *src, char *err, size_t errlen);
void tmpl_free(struct tmpl *t);

/* True when the template has no variables; its text is then tmpl_text(). */
bool tmpl_is_const(const struct tmpl *t);
const char *tmpl_text(const struct tmpl *t); /* the source string */

/* Appends the value for `r` to `out`.  `esc` escapes variable values (never
 * literal text) as nginx's log_format does: CF_ESC_DEFAULT turns '"', '\\'
 * and bytes < 0x20 or >= 0x7f into \xXX; CF_ESC_JSON uses JSON escapes.
 * Returns 0, or -1 when memory runs out. */
int tmpl_eval(const struct tmpl *t, const struct req *r, struct buf *out, enum cf_escape esc);
/* tmpl_eval() for log lines: a variable with no value (an absent header,
 * cookie or argument, no upstream, no query string) is written "-", except
 * with CF_ESC_JSON where it is empty, as nginx does. */
int tmpl_eval_log(const struct tmpl *t, const struct req *r, struct buf *out, enum cf_escape esc);

#endif
