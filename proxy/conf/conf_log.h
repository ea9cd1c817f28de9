/* conf_log: error_log, log_format and access_log.  Formats go to
 * cf_main.log_formats ("combined" is predefined by conf_log_init); access
 * logs are location settings (cf_loc.access_logs). */
#ifndef PROXY_CONF_LOG_H
#define PROXY_CONF_LOG_H

#include "conf_run.h"

extern const struct conf_cmds conf_log_cmds;

/* Predefines nginx's "combined" format.  0, or -1 with the error written. */
int conf_log_init(struct conf_build *b);
/* The format named `name`, or NULL. */
const struct cf_log_format *conf_log_find_format(struct conf_build *b, const char *name);

#endif
