/* priv: the workers' privileges (the `user` directive).
 *
 * A master started as root keeps root for what only it does (binding the
 * listen sockets, the pid file, creating and reopening log files); each
 * worker drops to the configured user and group (nobody by default, see
 * conf_main.c) before it accepts a connection.  Files and folders the master
 * makes for the workers are handed to that user with priv_chown_*().
 *
 * When the configuration has no user to switch to (cf->user_set is false:
 * the master is not root), every function here does nothing and succeeds. */
#ifndef PROXY_PRIV_H
#define PROXY_PRIV_H

#include "config.h"

/* In a worker: drops to cf's user and group (setgid, initgroups, setuid).
 * 0, or -1 with the error logged: the worker must not go on. */
int priv_drop(const struct cf_main *cf);
/* Hands the folder `path` (made by the master) to the workers' user and
 * group, so that they may create files in it.  0, or -1 with the error
 * logged. */
int priv_chown_dir(const struct cf_main *cf, const char *path);
/* Creates the log file `path` if missing and hands it to the workers' user
 * (as nginx on reopening), so that a worker reopening it on USR1 can.  "stderr"
 * is left alone.  0, or -1 with the error logged. */
int priv_chown_file(const struct cf_main *cf, const char *path);
/* Every log file of cf (the error log `elog`, the access logs) through
 * priv_chown_file(); failures are logged. */
void priv_hand_logs(const struct cf_main *cf, const char *elog);

#endif
