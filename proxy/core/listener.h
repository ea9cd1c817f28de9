/* listener: the master's listen sockets.
 *
 * The master opens every cf_listen of a configuration (one socket per
 * distinct address; with `reuseport`, one socket per worker so the kernel
 * spreads connections), and keeps them across reloads: a new configuration
 * listening on an address already open gets the very same socket, so no
 * connection is refused while workers are replaced.  Sockets live in this
 * module's table until listener_close_unused() or listener_close_all(). */
#ifndef PROXY_LISTENER_H
#define PROXY_LISTENER_H

#include <stddef.h>

#include "config.h"

/* Opens (or reuses) the sockets of every listen of cf for `nworkers`
 * workers and sets cf_listen.fd (worker 0's socket for reuseport ones).
 * Returns 0, or -1 with "FILE:LINE: ..." in err; on failure the sockets this
 * call opened are closed and the table is as it was. */
int listener_open_all(struct cf_main *cf, int nworkers, char *err, size_t errlen);
/* In worker `index` after fork: points reuseport listens at the worker's own
 * socket and closes the sockets of other workers' reuseport groups. */
void listener_for_worker(struct cf_main *cf, int index);
/* Closes the sockets the last successful listener_open_all() did not use
 * (after a reload, once the new workers run). */
void listener_close_unused(void);
/* Closes everything (the master is exiting).  Unix socket files are removed. */
void listener_close_all(void);

#endif
