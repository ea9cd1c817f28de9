/* worker: a worker process's event loop, listeners and signals (see
 * worker.h).  Every listen socket of the configuration is accepted on once
 * (servers sharing an address share its fd); every worker watches it. */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accesslog.h"
#include "conn.h"
#include "h1.h"
#include "evloop.h"
#include "log.h"
#include "pool.h"
#include "priv.h"
#include "request.h"
#include "timing.h"
#include "upstream.h"
#include "wstate.h"

struct acceptor { /* one listen socket's accept event */
    struct event *ev;
    struct worker *w;
    const struct cf_listen *ls;
    int fd;
};

static void listeners_enable(struct worker *w, bool on)
{
    for (int i = 0; i < w->nacc; i++) {
        if (on)
            event_add(w->acc[i].ev, NULL);
        else
            event_del(w->acc[i].ev);
    }
}

/* After accept() ran out of descriptors, accepting is tried again this much
 * later (or when a connection closes). */
#define ACCEPT_RETRY_MS 500

static void on_resume(evutil_socket_t fd, short what, void *ud)
{
    struct worker *w = ud;
    (void)fd;
    (void)what;
    if (w->paused && !w->quitting && w->nconns < w->cf->worker_connections) {
        listeners_enable(w, true);
        w->paused = false;
    }
}

/* How many connections one wake-up takes with `multi_accept on` (at most:
 * the loop must go on with the connections it has). */
#define MULTI_ACCEPT_MAX 256

/* A listen socket is readable.  The workers share it (without reuseport);
 * as nginx with multi_accept off, its default, a worker takes one connection
 * per wake-up and goes back to its loop, so that the others get a share of a
 * burst of connections (a client opening its pool of 64) instead of the one
 * that woke first taking all of it and then serving them for as long as they
 * are kept alive.  (It evens the shares out, not fully: 64 connections from
 * wrk went 57/7 between two workers before, 10/54 to 31/33 now.  nginx also
 * watches the socket with EPOLLEXCLUSIVE, which libevent cannot ask for, and
 * there they come out 32/32 most times; `listen ... reuseport` deals them out
 * by the kernel's hash.)  `multi_accept on` takes every pending one. */
static void on_listen(evutil_socket_t fd, short what, void *ud)
{
    struct acceptor *a = ud;
    struct worker *w = a->w;
    (void)what;
    int max = w->cf->multi_accept ? MULTI_ACCEPT_MAX : 1;
    for (int n = 0; n < max && !w->paused; n++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int c = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            int e = errno;
            switch (e) {
            case EAGAIN:
#if EWOULDBLOCK != EAGAIN
            case EWOULDBLOCK:
#endif
            case EINTR:
            /* the connection went before it was taken, or a network error
             * pending on it: accept(2) says to retry */
            case ECONNABORTED:
            case EPROTO:
            case ENETDOWN:
            case ENOPROTOOPT:
            case EHOSTDOWN:
            case ENONET:
            case EHOSTUNREACH:
            case EOPNOTSUPP:
            case ENETUNREACH:
                return;
            default:
                break;
            }
            log_error("accept() failed: %s", strerror(e));
            if (e == EMFILE || e == ENFILE) {
                /* out of descriptors: pause accepting until a connection
                 * closes, or (the fds may be upstream connections or files)
                 * for ACCEPT_RETRY_MS, as nginx does for accept_mutex_delay */
                listeners_enable(w, false);
                w->paused = true;
                struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
                if (w->resume)
                    evtimer_add(w->resume, &tv);
            }
            return;
        }
        if (w->quitting) {
            close(c);
            continue;
        }
        h1_accept(w, a->ls, c, (struct sockaddr *)&ss, len);
    }
}

static void acceptors_free(struct worker *w)
{
    for (int i = 0; i < w->nacc; i++)
        event_free(w->acc[i].ev);
    w->nacc = 0;
}

/* conn.c counted a connection in or out: accepting pauses at
 * worker_connections and resumes below it; a graceful stop ends with the
 * last one. */
static void on_conn_count(struct worker *w, bool opened)
{
    if (opened) {
        if (w->nconns >= w->cf->worker_connections && !w->paused) {
            log_warn("%d worker_connections are not enough", w->cf->worker_connections);
            listeners_enable(w, false);
            w->paused = true;
        }
        return;
    }
    if (w->paused && !w->quitting && w->nconns < w->cf->worker_connections) {
        listeners_enable(w, true);
        w->paused = false;
    }
    if (w->quitting && w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

/* worker_shutdown_timeout ran out after a graceful stop: what is still open
 * goes now (no callback of a connection is on the stack here). */
static void on_shutdown_timeout(evutil_socket_t fd, short what, void *ud)
{
    struct worker *w = ud;
    (void)fd;
    (void)what;
    log_notice("worker_shutdown_timeout: closing %d connection%s", w->nconns,
               w->nconns == 1 ? "" : "s");
    conn_close_all(w);
    event_base_loopexit(w->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
    struct worker *w = ud;
    (void)what;
    switch (sig) {
    case SIGQUIT:
        if (w->quitting)
            break;
        log_notice("gracefully shutting down");
        w->quitting = true;
        listeners_enable(w, false);
        acceptors_free(w);
        /* idle keep-alive connections go now; busy ones after their response */
        conn_close_idle_all(w);
        if (w->nconns == 0) {
            event_base_loopexit(w->base, NULL);
        } else if (w->cf->worker_shutdown_timeout_ms > 0 && w->shutdown) {
            int ms = w->cf->worker_shutdown_timeout_ms;
            struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
            evtimer_add(w->shutdown, &tv);
        }
        break;
    case SIGTERM:
    case SIGINT:
        event_base_loopbreak(w->base);
        break;
    case SIGUSR1:
        log_notice("reopening logs");
        accesslog_reopen_all(w->cf);
        if (log_reopen() < 0)
            log_error("reopening the error log failed: %s", strerror(errno));
        break;
    default:
        break;
    }
}

int worker_run(struct cf_main *cf, int index)
{
    struct worker w;
    memset(&w, 0, sizeof(w));
    w.cf = cf;
    w.index = index;
    w.on_conn_count = on_conn_count;
    int rc = 1;
    struct event *sigev[4] = {0};
    char err[512];

    if (getrandom(w.rng, sizeof(w.rng), 0) != (ssize_t)sizeof(w.rng)) {
        w.rng[0] = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull;
        w.rng[1] = (uint64_t)time(NULL) ^ 0xD1B54A32D192ED03ull;
    }
    if (!w.rng[0] && !w.rng[1])
        w.rng[0] = 1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    /* the changelist folds the enable/disable pairs of one loop turn into
     * one epoll_ctl (or none) */
    struct event_config *ecf = event_config_new();
    if (ecf) {
        event_config_set_flag(ecf, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        /* the loop's cached clock times requests (timing.h): CLOCK_MONOTONIC,
         * not libevent's default CLOCK_MONOTONIC_COARSE (a tick of 1-4 ms) */
        event_config_set_flag(ecf, EVENT_BASE_FLAG_PRECISE_TIMER);
        w.base = event_base_new_with_config(ecf);
        event_config_free(ecf);
    }
    if (!w.base)
        w.base = event_base_new();
    if (!w.base) {
        log_error("worker %d: event_base_new failed", index);
        return 1;
    }
    timing_use_base(w.base);
    if (accesslog_open_all(cf, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto out;
    }
    if (up_init_all(cf, w.base, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto out;
    }
    /* what needed root is open: the worker goes on as `user` */
    if (priv_drop(cf) < 0) {
        rc = 2;
        goto out;
    }

    int total = 0;
    for (int s = 0; s < cf->nservers; s++)
        total += cf->servers[s].nlistens;
    w.acc = calloc((size_t)(total ? total : 1), sizeof(*w.acc));
    w.resume = evtimer_new(w.base, on_resume, &w);
    w.shutdown = evtimer_new(w.base, on_shutdown_timeout, &w);
    if (!w.acc || !w.resume || !w.shutdown) {
        log_error("out of memory");
        goto out;
    }
    for (int s = 0; s < cf->nservers; s++) {
        for (int i = 0; i < cf->servers[s].nlistens; i++) {
            int fd = cf->servers[s].listens[i].fd;
            bool seen = fd < 0;
            for (int k = 0; k < w.nacc && !seen; k++)
                if (w.acc[k].fd == fd)
                    seen = true;
            if (seen)
                continue;
            /* the socket is listening already, with the configured backlog */
            const struct cf_listen *ls = &cf->servers[s].listens[i];
            struct acceptor *a = &w.acc[w.nacc];
            *a = (struct acceptor){NULL, &w, ls, fd};
            a->ev = event_new(w.base, fd, EV_READ | EV_PERSIST, on_listen, a);
            if (!a->ev || event_add(a->ev, NULL) < 0) {
                log_error("worker %d: cannot listen on fd %d", index, fd);
                if (a->ev)
                    event_free(a->ev);
                goto out;
            }
            w.nacc++;
        }
    }

    static const int sigs[4] = {SIGQUIT, SIGTERM, SIGINT, SIGUSR1};
    for (int i = 0; i < 4; i++) {
        sigev[i] = evsignal_new(w.base, sigs[i], on_signal, &w);
        if (!sigev[i] || evsignal_add(sigev[i], NULL) < 0) {
            log_error("worker %d: cannot watch signal %d", index, sigs[i]);
            goto out;
        }
    }

    if (evloop_run(w.base, w.cf->yield) < 0) {
        log_error("worker %d: event loop failed", index);
        goto out;
    }
    rc = 0;
out:
    conn_close_all(&w);
    acceptors_free(&w);
    free(w.acc);
    if (w.resume)
        event_free(w.resume);
    if (w.shutdown)
        event_free(w.shutdown);
    pool_free_all();
    request_cache_free();
    for (int i = 0; i < 4; i++)
        if (sigev[i])
            event_free(sigev[i]);
    up_free_all(cf);
    accesslog_close_all(cf);
    timing_use_base(NULL);
    event_base_free(w.base);
    return rc;
}
