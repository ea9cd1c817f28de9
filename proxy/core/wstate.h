/* wstate: the state one worker process's connections share: its event loop,
 * the configuration, the graceful-stop flag, the cached Date value and the
 * random source of $request_id.
 *
 * worker.c creates and owns it; the connection, session and handler modules
 * read it (and only worker.c changes the listeners).  The list of open
 * connections is threaded through struct conn by conn.c alone; others walk
 * it through conn.h.  Kept apart from worker.h so that the connection never
 * includes the module that accepts it. */
#ifndef PROXY_WSTATE_H
#define PROXY_WSTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct event_base;
struct event;
struct acceptor;
struct conn;

struct worker {
    struct event_base *base;
    struct cf_main *cf;
    int index;
    int nconns;           /* open client connections (conn.c counts) */
    bool quitting;        /* SIGQUIT: no new connections, no keep-alive */
    bool paused;          /* listeners disabled: at worker_connections, or out of fds */
    struct event *resume; /* out of fds: re-enables the listeners after a while */
    struct conn *conns;   /* every open client connection (conn.c's list) */
    struct acceptor *acc; /* one per listen socket, accepted on by every worker */
    int nacc;
    /* told after a connection was opened / is gone (nconns already
     * changed): the worker pauses or resumes accepting, or ends a graceful
     * stop */
    void (*on_conn_count)(struct worker *w, bool opened);
    time_t date_t;          /* second of the cached Date value */
    char date[40];          /* "Sun, 22 Nov 2026 20:54:49 GMT" */
    uint64_t rng[2];        /* xorshift128+ state for $request_id */
    struct event *shutdown; /* worker_shutdown_timeout after a graceful stop */
};

/* The current HTTP date (cached per second; borrowed from w). */
const char *worker_date(struct worker *w);
/* 64 random bits. */
uint64_t worker_rand(struct worker *w);

#endif
