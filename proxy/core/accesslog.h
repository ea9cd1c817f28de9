/* accesslog: access_log files and writing one line per request.
 *
 * Files are opened per worker (O_APPEND, so workers can share one) and each
 * line goes out in one write(2). */
#ifndef PROXY_ACCESSLOG_H
#define PROXY_ACCESSLOG_H

#include <stddef.h>

#include "config.h"
#include "req.h"

/* Opens every access_log of the configuration (cf_access_log.rt). 0, or -1
 * with a message naming the file in err. */
int accesslog_open_all(struct cf_main *cf, char *err, size_t errlen);
/* Re-opens them (SIGUSR1); failures are logged, the old file is kept. */
void accesslog_reopen_all(struct cf_main *cf);
void accesslog_close_all(struct cf_main *cf);
/* Calls fn with the path of every access_log of cf (a path once per
 * location naming it); for the master, which does not open them. */
void accesslog_each_path(const struct cf_main *cf, void (*fn)(const char *path, void *ud),
                         void *ud);

/* Writes one line to each of loc's access logs for the finished request. */
void accesslog_write(const struct cf_loc *loc, const struct req *r);

/* Registers the log phase's handler (one line per finished request). */
int accesslog_phase_init(void);

#endif
