/* worker: a worker process's event loop, listeners and signals (see
 * worker.h).  Every listen socket of the configuration is accepted on once
 * (servers sharing an address share its fd). */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "accesslog.h"
#include "conn.h"
#include "evloop.h"
#include "log.h"
#include "pool.h"
#include "timing.h"
#include "upstream.h"

static void listeners_enable(struct worker *w, bool on)
{
    for (int i = 0; i < w->nlev; i++) {
        if (on)
            evconnlistener_enable(w->lev[i]);
        else
            evconnlistener_disable(w->lev[i]);
    }
}

struct lctx { /* what a listener's callback needs */
    struct worker *w;
    const struct cf_listen *ls;
};

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *ud)
{
    struct lctx *x = ud;
    (void)l;
    if (x->w->quitting) {
        close(fd);
        return;
    }
    conn_accept(x->w, x->ls, fd, sa, (socklen_t)salen);
}

static void on_accept_error(struct evconnlistener *l, void *ud)
{
    struct worker *w = ((struct lctx *)ud)->w;
    int e = EVUTIL_SOCKET_ERROR();
    log_error("accept() failed: %s", evutil_socket_error_to_string(e));
    if (e == EMFILE || e == ENFILE) {
        /* out of descriptors: pause accepting until a connection closes */
        (void)l;
        listeners_enable(w, false);
        w->paused = true;
    }
}

void worker_conn_opened(struct worker *w, struct conn *c)
{
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    if (w->nconns >= w->cf->worker_connections && !w->paused) {
        log_warn("%d worker_connections are not enough", w->cf->worker_connections);
        listeners_enable(w, false);
        w->paused = true;
    }
}

void worker_conn_gone(struct worker *w, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    if (w->paused && !w->quitting && w->nconns < w->cf->worker_connections) {
        listeners_enable(w, true);
        w->paused = false;
    }
    if (w->quitting && w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

const char *worker_date(struct worker *w)
{
    time_t now = time(NULL);
    if (now != w->date_t) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        w->date_t = now;
    }
    return w->date;
}

uint64_t worker_rand(struct worker *w)
{
    /* xorshift128+: fast, and $request_id needs uniqueness, not secrecy */
    uint64_t s1 = w->rng[0];
    const uint64_t s0 = w->rng[1];
    w->rng[0] = s0;
    s1 ^= s1 << 23;
    w->rng[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
    return w->rng[1] + s0;
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
        for (int i = 0; i < w->nlev; i++)
            evconnlistener_free(w->lev[i]);
        w->nlev = 0;
        /* idle keep-alive connections go now; busy ones after their response */
        for (struct conn *c = w->conns, *n; c; c = n) {
            n = c->next;
            conn_close_if_idle(c);
        }
        if (w->nconns == 0)
            event_base_loopexit(w->base, NULL);
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
    int rc = 1;
    struct event *sigev[4] = {0};
    char err[512];
    struct lctx *lctx = NULL;

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

    int total = 0;
    for (int s = 0; s < cf->nservers; s++)
        total += cf->servers[s].nlistens;
    w.lev = calloc((size_t)(total ? total : 1), sizeof(*w.lev));
    lctx = calloc((size_t)(total ? total : 1), sizeof(*lctx));
    if (!w.lev || !lctx) {
        log_error("out of memory");
        goto out;
    }
    for (int s = 0; s < cf->nservers; s++) {
        for (int i = 0; i < cf->servers[s].nlistens; i++) {
            int fd = cf->servers[s].listens[i].fd;
            bool seen = fd < 0;
            for (int k = 0; k < w.nlev && !seen; k++)
                if (evconnlistener_get_fd(w.lev[k]) == fd)
                    seen = true;
            if (seen)
                continue;
            lctx[w.nlev] = (struct lctx){&w, &cf->servers[s].listens[i]};
            struct evconnlistener *l =
                evconnlistener_new(w.base, on_accept, &lctx[w.nlev], 0, -1, fd);
            if (!l) {
                log_error("worker %d: cannot listen on fd %d", index, fd);
                goto out;
            }
            evconnlistener_set_error_cb(l, on_accept_error);
            w.lev[w.nlev++] = l;
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
    while (w.conns)
        conn_close(w.conns);
    for (int i = 0; i < w.nlev; i++)
        evconnlistener_free(w.lev[i]);
    free(w.lev);
    free(lctx);
    pool_free_all();
    conn_cache_free();
    for (int i = 0; i < 4; i++)
        if (sigev[i])
            event_free(sigev[i]);
    up_free_all(cf);
    accesslog_close_all(cf);
    timing_use_base(NULL);
    event_base_free(w.base);
    return rc;
}
