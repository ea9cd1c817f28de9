/* stats: the --stats JSON document, in uWSGI's shape (jansson):
 *   {"version", "pid", "listen_queue", "listen_queue_errors", "load",
 *    "sockets": [{"name", "proto", "queue", "max_queue"}],
 *    "workers": [{"id", "pid", "accepting", "requests", "exceptions",
 *                 "harakiri_count", "status", "rss", "vsz", "avg_rt", "tx",
 *                 "respawn_count", "last_spawn", "running_time"}]}
 * rss and vsz are bytes (from /proc), avg_rt microseconds. */
#ifndef GW_STATS_H
#define GW_STATS_H

#include <sys/types.h>

#include "gw_scoreboard.h"

struct gw_stats_sock {
    const char *name;  /* as configured (borrowed) */
    const char *proto; /* "http" or "uwsgi" */
    int fd;            /* listening socket, for its queue length */
    int backlog;
};

struct gw_stats_worker {
    int id;                     /* 1-based worker number */
    const struct gw_slot *slot; /* borrowed */
    int respawn_count;
    int harakiri_count;
};

/* The queue length of a listening socket: connections waiting to be
 * accepted (TCP_INFO for TCP, sock_diag for unix sockets); 0 when unknown. */
int gw_stats_listen_queue(int fd);

/* Renders the document.  Returns a malloc'd NUL-terminated string the caller
 * frees, or NULL when memory runs out. */
char *gw_stats_render(pid_t master, const struct gw_stats_sock *socks, int nsocks,
                      const struct gw_stats_worker *workers, int nworkers);

#endif
