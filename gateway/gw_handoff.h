/* handoff: a busy worker passes its idle keep-alive connections to idle
 * workers, so a slow request never delays a request another worker could
 * serve.
 *
 * Why: a front server that keeps a pool of keep-alive connections to the
 * gateway sends its next request on whichever pooled connection is free on
 * its side.  If that connection belongs to a worker whose app is busy (a
 * request sleeping for seconds), the request waits for that app even though
 * other workers sit idle: head-of-line blocking across connections.
 *
 * How: the master makes one unix datagram socketpair before forking; every
 * worker may send on one end and receives on the other, the way every worker
 * accepts from the same listening socket, so only a worker whose loop is
 * running (an idle one) picks a connection up.  A watchdog thread in each
 * worker notices when the app has run longer than --idle-handoff ms; it then
 * sends each idle connection (no request in progress, nothing buffered in
 * user space: bytes still in the kernel travel with the socket) with
 * SCM_RIGHTS and forgets it.  The client sees nothing.
 *
 * Threads: the worker's main thread holds the watch lock at all times
 * except while the app runs (gw_watch_app_begin .. gw_watch_app_end); the
 * watchdog calls its function only with the lock, so the function may touch
 * the worker's connection list and event base while the main thread is
 * parked inside the app. */
#ifndef GW_HANDOFF_H
#define GW_HANDOFF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* What travels with a connection's fd. */
struct gw_handoff_msg {
    int lst;                      /* index of the listener it was accepted on */
    uint32_t nreq;                /* requests served on it so far */
    socklen_t peer_len;           /* client address */
    struct sockaddr_storage peer; /* (copied) */
};

/* Master: the socketpair, non-blocking and close-on-exec.  fds[0] is for
 * sending, fds[1] for receiving.  0 or -1 (errno). */
int gw_handoff_pair(int fds[2]);
/* Sends conn_fd (borrowed: the caller closes its copy after success) with
 * m.  0, or -1 (errno; EAGAIN when the queue is full). */
int gw_handoff_send(int fd, int conn_fd, const struct gw_handoff_msg *m);
/* Receives one connection: its fd (now owned by the caller) in *conn_fd and
 * its details in *m.  0, or -1 (errno EAGAIN when none waits). */
int gw_handoff_recv(int fd, int *conn_fd, struct gw_handoff_msg *m);

/* Called by the watchdog, lock held, when the app has run `after_ms`.
 * Returns true when done for this request, false to be asked again. */
typedef bool (*gw_watch_fn)(void *arg);

/* Starts the watchdog (all signals blocked in it) and takes the lock for
 * the calling (main) thread.  0 or -1. */
int gw_watch_start(int after_ms, gw_watch_fn fn, void *arg);
/* Main thread, around the app call: gives the lock up / takes it back.
 * Both do nothing when the watchdog was not started. */
void gw_watch_app_begin(void);
void gw_watch_app_end(void);

#endif
