/* worker: one worker process's life: its event loop, the listeners it
 * accepts on, and stopping (graceful or fast) and log reopening on the
 * master's request.
 *
 * Called by main.c in a freshly forked child.  The config (with listen fds
 * already open in cf_listen.fd) is inherited from the master and owned by
 * it; the worker never frees it. */
#ifndef PROXY_WORKER_H
#define PROXY_WORKER_H

#include "config.h"

/* Runs the worker until it is told to stop: SIGQUIT = finish in-flight
 * requests then exit, SIGTERM/SIGINT = exit now, SIGUSR1 = reopen logs.
 * Returns the process exit status (0 on a clean stop). */
int worker_run(struct cf_main *cf, int index);

#endif
