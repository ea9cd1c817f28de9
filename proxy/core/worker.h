/* worker: one worker process's life: its event loop, the listeners it
 * accepts on, and stopping (graceful or fast) and log reopening on the
 * master's request.
 *
 * Called by main.c in a freshly forked child.  The config (with listen fds
 * already open in cf_listen.fd) is inherited from the master and owned by
 * it; the worker never frees it. */
#ifndef PROXY_WORKER_H
#define PROXY_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct event_base;
struct acceptor;
struct conn;

/* The state connections share (conn.c reads it; only worker.c changes the
 * listeners and signals). */
struct worker {
    struct event_base *base;
    struct cf_main *cf;
    int index;
    int nconns;           /* open client connections */
    bool quitting;        /* SIGQUIT: no new connections, no keep-alive */
    bool paused;          /* listeners disabled: at worker_connections, or out of fds */
    struct event *resume; /* out of fds: re-enables the listeners after a while */
    struct conn *conns;   /* every open client connection */
    struct acceptor *acc; /* one per listen socket, accepted on by every worker */
    int nacc;
    time_t date_t;   /* second of the cached Date value */
    char date[40];   /* "Sun, 22 Nov 2026 20:54:49 GMT" */
    uint64_t rng[2]; /* xorshift128+ state for $request_id */
};

/* Runs the worker until it is told to stop: SIGQUIT = finish in-flight
 * requests then exit, SIGTERM/SIGINT = exit now, SIGUSR1 = reopen logs.
 * Returns the process exit status (0 on a clean stop). */
int worker_run(struct cf_main *cf, int index);

/* For conn.c: a connection was opened / is gone (unlinks it, resumes
 * accepting, ends a graceful stop when the last one closes). */
void worker_conn_opened(struct worker *w, struct conn *c);
void worker_conn_gone(struct worker *w, struct conn *c);
/* The current HTTP date (cached per second). */
const char *worker_date(struct worker *w);
/* 64 random bits. */
uint64_t worker_rand(struct worker *w);

#endif
