/* f_headers: the `expires` and `add_header` directives, as nginx's headers
 * filter: Expires and Cache-Control from `expires`, then each add_header
 * whose template is not empty, for the statuses nginx adds them to (or
 * always with `always`).  A header filter only: the body passes untouched. */
#ifndef PROXY_F_HEADERS_H
#define PROXY_F_HEADERS_H

#include <stdbool.h>

#include "config.h"

/* Joins the filter chain (init). */
int f_headers_init(void);
/* Does `expires` in loc write Expires and Cache-Control for this status (a
 * proxy handler then drops the upstream's own)? */
bool f_headers_sets_expires(const struct cf_loc *loc, int status);

#endif
