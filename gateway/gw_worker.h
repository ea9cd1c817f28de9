/* worker: one worker process: a libevent loop that accepts on every
 * listening socket (a few connections per wake-up, so workers share the
 * load), reads request heads on many keep-alive connections at once, and
 * runs each complete request through the app (gw_wsgi.c) synchronously.
 * Pipelined requests are answered in order.  A connection that closes while
 * its client may still be sending (a body the app left unread, over uwsgi
 * or past what a keep-alive connection drains) closes as nginx's lingering
 * close does: write side shut after the response, the rest read and dropped
 * on the loop for at most 5 s without a byte and 30 s in all, so the kernel
 * never resets the connection under the response.
 *
 * Signals: TERM, INT, QUIT and HUP stop the worker gracefully (the running
 * request finishes; idle connections close; connections with a partial
 * request get a few seconds).  A request running past --harakiri gets the
 * client a 504 (unless its head was already sent) and the worker _exits with
 * GW_EXIT_HARAKIRI from the SIGALRM handler.  After max_requests requests
 * the worker stops the same way (the last response says Connection: close).
 * Exit codes tell the master why the worker ended.
 *
 * While the app runs longer than --idle-handoff ms, the worker's other idle
 * connections are passed to idle workers (gw_handoff.h), so requests that a
 * front server sends on them meanwhile do not wait for this app. */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "addr.h"
#include "gw_opts.h"
#include "gw_scoreboard.h"

enum {
    GW_EXIT_OK = 0,        /* stopped (signal or max-requests) */
    GW_EXIT_LOAD = 22,     /* the app could not be loaded */
    GW_EXIT_HARAKIRI = 23, /* a request ran past --harakiri */
    GW_EXIT_FATAL = 24,    /* any other start-up failure */
};

struct gw_listener {
    int fd;
    enum gw_proto proto;
    struct addr addr; /* as bound */
    const char *spec; /* as configured (borrowed from opts) */
};

struct gw_worker_cfg {
    const struct gw_opts *opts;    /* borrowed */
    const struct gw_listener *lst; /* borrowed */
    int nlst;
    PyObject *app;        /* preloaded app (borrowed) or NULL: load it */
    struct gw_slot *slot; /* this process's scoreboard slot */
    struct gw_slot *all;  /* every slot (to balance accepts with the other workers) */
    int nslots;
    int id;            /* 1-based worker number */
    long max_requests; /* with jitter applied; 0 = unlimited */
    pid_t master;      /* exit when the master is gone */
    int handoff_tx;    /* idle connections go out here (gw_handoff.h), or -1 */
    int handoff_rx;    /* and come in here, or -1 */
};

/* Runs the worker in a freshly forked process.  Never returns. */
void gw_worker_main(const struct gw_worker_cfg *cfg) __attribute__((noreturn));

#endif
