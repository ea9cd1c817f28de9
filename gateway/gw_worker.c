/* worker: the event loop of one worker process (see worker.h). */
#include "gw_worker.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_accesslog.h"
#include "gw_conn.h"
#include "gw_handoff.h"
#include "evloop.h"
#include "gw_http.h"
#include "log.h"
#include "gw_py.h"
#include "uwsgi.h"
#include "gw_uwsgi.h"
#include "gw_wsgi.h"

#define ACCEPT_BATCH   8  /* connections accepted per wake-up: leave some for the others */
#define STOP_GRACE_SEC 10 /* how long a stopping worker waits for partial requests */
#define MAX_LISTENERS  64
#define IDLE_GRACE_MS  500 /* idle keep-alive connections of a signalled worker */
/* Lingering close, with nginx's defaults: wait at most LINGERING_TIMEOUT_MS
 * for more bytes and LINGERING_TIME_MS in all (lingering_timeout 5s,
 * lingering_time 30s).  uWSGI has no such step and no options for it. */
#define LINGERING_TIME_MS    30000
#define LINGERING_TIMEOUT_MS 5000
#define LINGERING_READ_MAX   (256 * 1024) /* per wake-up: other connections wait meanwhile */

struct worker {
    const struct gw_worker_cfg *cfg;
    struct event_base *base;
    struct event *lev[MAX_LISTENERS]; /* accept events */
    struct event *sigev[4];
    struct event *hev; /* connections handed over by busy workers */
    struct event *stop_timer;
    struct event *idle_grace_ev;
    struct gw_conn *conns; /* open connections (list) */
    PyObject *app;         /* owned */
    bool stopping;
    uint64_t requests;
    struct timeval idle_tv;
    const struct timeval *idle_common; /* libevent's common timeout for idle_tv */
    size_t rmax;
    int nconns;              /* open connections */
    struct event *resume_ev; /* re-enables accepting after yielding */
    bool yielding;           /* accept events are off so another worker takes the queue */
    uint64_t body_max;       /* largest request body accepted (--limit-post or the hard cap) */
};

static struct worker W;

/* harakiri: the client of the running request, and the canned answer */
static volatile sig_atomic_t hk_fd = -1;
static char hk_msg[160];
static size_t hk_msg_len;
static const char hk_504[] = "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 16\r\nConnection: close\r\n\r\nGateway Timeout\n";

static void on_alarm(int sig)
{
    int fd = hk_fd;
    if (fd >= 0 && !gw_response_head_sent) {
        ssize_t rc = write(fd, hk_504, sizeof(hk_504) - 1);
        (void)rc;
    }
    ssize_t rc = write(2, hk_msg, hk_msg_len);
    (void)rc;
    _exit(GW_EXIT_HARAKIRI);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void conn_free(struct gw_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        W.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->ev)
        event_free(c->ev);
    gw_conn_close(c);
    free(c);
    W.cfg->slot->conns = --W.nconns;
    if (W.stopping && !W.conns)
        event_base_loopexit(W.base, NULL);
}

/* Ends a connection whose last response is out.  When the client may still
 * be sending (a body the app did not read, a pipelined request), closing now
 * would reset the connection and the client could lose the response (nginx:
 * "writev() failed (104: Connection reset by peer)" and a 502).  So, as nginx
 * does: shut the write side (the client sees the response end), then read
 * and drop on the loop until the client closes, LINGERING_TIMEOUT_MS passes
 * without a byte, or LINGERING_TIME_MS in all (on_read, lingering).  May
 * free c. */
static void conn_finish(struct gw_conn *c)
{
    if (!gw_conn_unread(c) || gw_conn_linger_begin(c) < 0) {
        conn_free(c);
        return;
    }
    struct timeval tv = {LINGERING_TIMEOUT_MS / 1000, (LINGERING_TIMEOUT_MS % 1000) * 1000};
    c->lingering = true;
    c->linger_end_us = now_us() + (int64_t)LINGERING_TIME_MS * 1000;
    if (event_add(c->ev, &tv) < 0)
        conn_free(c);
}

/* A lingering connection is readable (or quiet for LINGERING_TIMEOUT_MS).
 * May free c. */
static void on_linger_read(struct gw_conn *c, short what)
{
    if (what & EV_TIMEOUT) {
        conn_free(c);
        return;
    }
    ssize_t n = gw_conn_discard(c, LINGERING_READ_MAX);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
        conn_free(c);
        return;
    }
    int64_t left = c->linger_end_us - now_us();
    if (left <= 0) {
        conn_free(c);
        return;
    }
    if (left > (int64_t)LINGERING_TIMEOUT_MS * 1000)
        left = (int64_t)LINGERING_TIMEOUT_MS * 1000;
    struct timeval tv = {(time_t)(left / 1000000), (suseconds_t)(left % 1000000)};
    if (event_add(c->ev, &tv) < 0)
        conn_free(c);
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopexit(W.base, NULL);
}

/* Closes the idle keep-alive connections (a connection that has not sent
 * its first request yet, or only part of one, is left to finish: its client
 * is about to send a request it expects an answer to). */
static void close_idle_conns(void)
{
    struct gw_conn *c = W.conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (!c->busy && !c->lingering && c->rlen == c->roff && c->nreq > 0)
            conn_free(c);
    }
}

static void on_idle_grace(evutil_socket_t fd, short what, void *arg)
{
    close_idle_conns();
    if (!W.conns)
        event_base_loopexit(W.base, NULL);
}

/* Stops accepting and winds the worker down.  `idle_grace`: idle keep-alive
 * connections stay open for IDLE_GRACE_MS first, and a request that arrives on
 * one meanwhile is answered (with Connection: close): a client or proxy
 * reusing the connection at that moment gets its answer instead of a reset.
 * Without it (max-requests: exactly N requests) they close at once. */
static void begin_stop(const char *why, bool idle_grace)
{
    if (W.stopping)
        return;
    W.stopping = true;
    log_info("worker %d (pid %d) stopping: %s", W.cfg->id, (int)getpid(), why);
    for (int i = 0; i < W.cfg->nlst; i++)
        if (W.lev[i])
            event_del(W.lev[i]);
    if (W.resume_ev)
        evtimer_del(W.resume_ev);
    if (W.hev)
        event_del(W.hev);
    W.cfg->slot->accepting = 0;
    W.cfg->slot->state = GW_WS_STOPPING;
    if (!idle_grace)
        close_idle_conns();
    if (!W.conns) {
        event_base_loopexit(W.base, NULL);
        return;
    }
    struct timeval tv = {STOP_GRACE_SEC, 0};
    struct timeval gtv = {0, IDLE_GRACE_MS * 1000};
    W.stop_timer = evtimer_new(W.base, on_stop_timer, NULL);
    if (!W.stop_timer || evtimer_add(W.stop_timer, &tv) < 0)
        event_base_loopexit(W.base, NULL);
    if (idle_grace) {
        W.idle_grace_ev = evtimer_new(W.base, on_idle_grace, NULL);
        if (!W.idle_grace_ev || evtimer_add(W.idle_grace_ev, &gtv) < 0)
            close_idle_conns();
    }
}

/* For the access log and the scoreboard before the body moves the buffer. */
struct reqline {
    char text[256]; /* "METHOD URI" */
    size_t method_len, len;
};

static void copy_reqline(struct reqline *rl, const struct gw_req *r)
{
    size_t ml = r->method_len > 31 ? 31 : r->method_len;
    size_t ul = r->uri_len > sizeof(rl->text) - ml - 2 ? sizeof(rl->text) - ml - 2 : r->uri_len;
    if (ml)
        memcpy(rl->text, r->method, ml);
    rl->text[ml] = ' ';
    if (ul)
        memcpy(rl->text + ml + 1, r->uri, ul);
    rl->text[ml + 1 + ul] = '\0';
    rl->method_len = ml;
    rl->len = ml + 1 + ul;
}

static void log_access(struct gw_conn *c, const struct reqline *rl, int status, uint64_t bytes,
                       int64_t us)
{
    if (W.cfg->opts->disable_logging)
        return;
    char addr[ADDR_STRLEN] = "";
    if (c->peer.len && c->peer.ss.ss_family != AF_UNIX)
        addr_host(&c->peer, addr, sizeof(addr));
    else
        snprintf(addr, sizeof(addr), "unix");
    struct gw_access a = {addr,
                          rl->text,
                          rl->method_len,
                          rl->text + rl->method_len + 1,
                          rl->len - rl->method_len - 1,
                          c->proto == GW_PROTO_UWSGI ? "uwsgi"
                          : c->req.http_minor        ? "HTTP/1.1"
                                                     : "HTTP/1.0",
                          status,
                          bytes,
                          us,
                          W.cfg->id};
    gw_access_write(2, &a);
}

/* Runs one parsed request (c->req, filled by either front end). */
static void dispatch(struct gw_conn *c)
{
    struct gw_slot *sl = W.cfg->slot;
    int64_t t0 = now_us();
    struct reqline rl;
    copy_reqline(&rl, &c->req);
    memcpy((char *)sl->req, rl.text, rl.len + 1 > sizeof(sl->req) ? sizeof(sl->req) : rl.len + 1);
    sl->req[sizeof(sl->req) - 1] = '\0';
    sl->req_start_ms = t0 / 1000;
    sl->requests = W.requests + 1; /* counted when it starts: its answer may come first */
    sl->state = GW_WS_BUSY;
    c->busy = true;
    if (!c->req.keepalive)
        c->closing = true;
    if (W.stopping || (W.cfg->max_requests && W.requests + 1 >= (uint64_t)W.cfg->max_requests))
        c->closing = true;
    if (W.cfg->opts->harakiri) {
        hk_fd = c->fd;
        alarm((unsigned)W.cfg->opts->harakiri);
    }

    struct gw_result res;
    gw_watch_app_begin(); /* from here to gw_watch_app_end, hand_off_idle may run */
    gw_py_acquire();
    gw_wsgi_handle(c, W.app, &res);
    gw_py_release();
    gw_watch_app_end();
    /* what the app left unread on a connection that goes on: read it here
     * (bounded) to reach the next request; a closing one lingers instead */
    if (!c->closing && gw_conn_body_drain(c, GW_DRAIN_LIMIT) < 0)
        c->closing = true;

    if (W.cfg->opts->harakiri) {
        alarm(0);
        hk_fd = -1;
    }
    int64_t dur = now_us() - t0;
    W.requests++;
    sl->tx += res.body_bytes;
    sl->rt_total_us += (uint64_t)dur;
    sl->req_start_ms = 0;
    sl->state = W.stopping ? GW_WS_STOPPING : GW_WS_IDLE;
    c->busy = false;
    c->nreq++;
    log_access(c, &rl, res.status, res.body_bytes, dur);
    if (W.cfg->max_requests && W.requests >= (uint64_t)W.cfg->max_requests) {
        char why[64];
        snprintf(why, sizeof(why), "max-requests (%ld) reached", W.cfg->max_requests);
        begin_stop(why, false);
    }
}

/* Answers a malformed request with `status` and closes. */
static void reject(struct gw_conn *c, int status)
{
    struct reqline rl = {"- -", 1, 3};
    gw_response_send_error(c, status);
    log_access(c, &rl, status, 0, 0);
    conn_finish(c);
}

/* A declared body over --limit-post (or, without one, over GW_BODY_HARD_MAX)
 * is refused before the app runs: the client learns at once, and no worker
 * waits for bytes it would refuse anyway.  uWSGI drops such a request and
 * closes without an answer ("Invalid (too big) CONTENT_LENGTH. skip."); we
 * answer 413 as nginx's client_max_body_size does.  A chunked body's length
 * is known only as it arrives: gw_conn.c stops reading it at the same
 * bound (c->body_max). */
static bool body_too_large(const struct gw_conn *c)
{
    return c->req.content_length > 0 && (uint64_t)c->req.content_length > c->body_max;
}

/* Runs every complete request in c's buffer.  May free c. */
static void process(struct gw_conn *c)
{
    for (;;) {
        size_t avail = c->rlen - c->roff;
        if (avail == 0) {
            c->roff = c->rlen = 0;
            break;
        }
        if (c->proto == GW_PROTO_HTTP) {
            size_t hl = 0;
            int rc = gw_http_parse(c->rbuf + c->roff, avail, (size_t)W.cfg->opts->buffer_size,
                                   &c->req, &hl);
            if (rc == GW_HTTP_AGAIN)
                break;
            if (rc != GW_HTTP_OK) {
                reject(c, rc);
                return;
            }
            c->head_len = hl;
            if (body_too_large(c)) {
                reject(c, 413);
                return;
            }
            dispatch(c);
        } else {
            if (avail < UWSGI_HDR_LEN)
                break;
            struct uwsgi_hdr h;
            uwsgi_hdr_decode((const uint8_t *)c->rbuf + c->roff, &h);
            if (h.mod1 != 0 || h.mod2 != 0) {
                log_warn("uwsgi packet with modifiers %d/%d: only 0/0 (WSGI) is served", h.mod1,
                         h.mod2);
                conn_free(c);
                return;
            }
            if (avail < UWSGI_HDR_LEN + (size_t)h.size)
                break;
            int rc = gw_uwsgi_parse(c->rbuf + c->roff + UWSGI_HDR_LEN, h.size, &c->req);
            c->head_len = UWSGI_HDR_LEN + (size_t)h.size;
            if (rc != GW_UWSGI_OK) {
                reject(c, rc == GW_UWSGI_BAD ? 400 : 500);
                return;
            }
            if (body_too_large(c)) {
                reject(c, 413);
                return;
            }
            dispatch(c);
        }
        if (c->closing || W.stopping) {
            if (c->closing || c->rlen == c->roff) {
                conn_finish(c);
                return;
            }
        }
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct gw_conn *c = arg;
    if (c->lingering) {
        on_linger_read(c, what);
        return;
    }
    if (what & EV_TIMEOUT) {
        conn_free(c);
        return;
    }
    ssize_t n = gw_conn_fill(c, 0);
    if (n == 0 || (n == -1 && errno != EAGAIN)) {
        conn_free(c);
        return;
    }
    if (n == -1)
        return;
    process(c);
}

/* Another worker that waits for work with at least two connections fewer
 * than this one should take the next connection: keep-alive clients that
 * connect in a burst would otherwise all land on whichever worker woke
 * first, and stay there. */
static bool should_yield(void)
{
    for (int i = 0; i < W.cfg->nslots; i++) {
        const struct gw_slot *s = &W.cfg->all[i];
        if (s == W.cfg->slot || !s->pid || !s->accepting || s->state != GW_WS_IDLE)
            continue;
        if (s->conns + 1 < W.nconns)
            return true;
    }
    return false;
}

static void set_accepting(bool on)
{
    for (int i = 0; i < W.cfg->nlst; i++)
        if (W.lev[i]) {
            if (on)
                event_add(W.lev[i], NULL);
            else
                event_del(W.lev[i]);
        }
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    W.yielding = false;
    if (!W.stopping)
        set_accepting(true);
}

/* Stops accepting for a moment (1 ms) so the listening socket, still
 * readable, does not spin this loop while the other worker accepts. */
static void yield_accepts(void)
{
    static const struct timeval pause = {0, 1000};
    if (W.yielding || !W.resume_ev)
        return;
    W.yielding = true;
    set_accepting(false);
    if (evtimer_add(W.resume_ev, &pause) < 0)
        on_resume(-1, 0, NULL);
}

/* Adds a connection to this worker: fd (taken), accepted on listener l,
 * from peer.  Reads what it has already sent.  May fail (logged; the fd is
 * closed). */
static void conn_add(int fd, const struct gw_listener *l, const struct sockaddr_storage *ss,
                     socklen_t len, unsigned nreq)
{
    struct gw_conn *c = malloc(sizeof(*c));
    if (!c || gw_conn_init(c, fd, l->proto, W.rmax, W.cfg->opts->socket_timeout * 1000) < 0) {
        log_error("out of memory for a connection");
        free(c);
        close(fd);
        return;
    }
    c->body_max = W.body_max;
    memcpy(&c->peer.ss, ss, len);
    c->peer.len = len;
    c->local = &l->addr;
    c->nreq = nreq;
    c->ev = event_new(W.base, fd, EV_READ | EV_PERSIST, on_read, c);
    if (!c->ev || event_add(c->ev, W.idle_common) < 0) {
        log_error("cannot watch a connection");
        if (c->ev)
            event_free(c->ev);
        gw_conn_close(c);
        free(c);
        return;
    }
    c->next = W.conns;
    if (W.conns)
        W.conns->prev = c;
    W.conns = c;
    W.cfg->slot->conns = ++W.nconns;
    /* clients (and proxies over unix sockets) usually send the request with
     * the connect, and a handed-over connection may have one waiting: read
     * it now rather than after another epoll turn */
    if (nreq || l->proto == GW_PROTO_UWSGI || l->addr.ss.ss_family == AF_UNIX)
        on_read(fd, EV_READ, c);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    const struct gw_listener *l = arg;
    for (int i = 0; i < ACCEPT_BATCH && !W.stopping; i++) {
        if (should_yield()) {
            yield_accepts();
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_error("accept on %s: %s", l->spec, strerror(errno));
            return;
        }
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        conn_add(fd, l, &ss, len, 0);
    }
}

/* A busy worker handed connections over (hand_off_idle): take a few. */
static void on_handoff(evutil_socket_t hfd, short what, void *arg)
{
    for (int i = 0; i < ACCEPT_BATCH && !W.stopping; i++) {
        struct gw_handoff_msg m;
        int fd;
        if (gw_handoff_recv(hfd, &fd, &m) < 0) {
            if (errno != EAGAIN)
                log_error("worker %d: receiving a handed-over connection: %s", W.cfg->id,
                          strerror(errno));
            return;
        }
        if (m.lst < 0 || m.lst >= W.cfg->nlst || m.peer_len > sizeof(m.peer)) {
            close(fd);
            continue;
        }
        conn_add(fd, &W.cfg->lst[m.lst], &m.peer, m.peer_len, m.nreq);
    }
}

/* Is another worker waiting for work on its event loop? */
static bool other_worker_idle(void)
{
    for (int i = 0; i < W.cfg->nslots; i++) {
        const struct gw_slot *s = &W.cfg->all[i];
        if (s != W.cfg->slot && s->pid && s->accepting && s->state == GW_WS_IDLE)
            return true;
    }
    return false;
}

/* The watchdog's function (gw_handoff.h): the app has run --idle-handoff
 * ms.  Sends every idle connection (no request in progress, nothing
 * buffered here) to the workers that wait for work, and forgets it.  Runs on
 * the watchdog thread with the watch lock, while the main thread is parked
 * in the app: the connection list and the event base are ours meanwhile.
 * False (ask again) while no other worker is idle. */
static bool hand_off_idle(void *arg)
{
    if (W.stopping)
        return true;
    if (!other_worker_idle())
        return false;
    int n = 0;
    struct gw_conn *c = W.conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->busy || c->lingering || c->rlen != c->roff || c->fd < 0)
            continue;
        struct gw_handoff_msg m;
        memset(&m, 0, sizeof(m));
        m.lst = -1;
        for (int i = 0; i < W.cfg->nlst; i++)
            if (&W.cfg->lst[i].addr == c->local)
                m.lst = i;
        m.nreq = c->nreq;
        m.peer_len = c->peer.len;
        memcpy(&m.peer, &c->peer.ss, sizeof(m.peer));
        if (m.lst < 0 || gw_handoff_send(W.cfg->handoff_tx, c->fd, &m) < 0)
            continue;
        conn_free(c);
        n++;
    }
    if (n)
        log_info("worker %d: a request has run %d ms: %d idle connection%s passed to idle "
                 "workers",
                 W.cfg->id, W.cfg->opts->idle_handoff_ms, n, n > 1 ? "s" : "");
    return true;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    char why[32];
    snprintf(why, sizeof(why), "signal %s", strsignal((int)sig));
    begin_stop(why, true);
}

static void __attribute__((noreturn)) worker_exit(int code)
{
    for (int i = 0; i < W.cfg->nlst; i++)
        if (W.lev[i])
            event_free(W.lev[i]);
    while (W.conns)
        conn_free(W.conns);
    for (int i = 0; i < 4; i++)
        if (W.sigev[i])
            event_free(W.sigev[i]);
    if (W.stop_timer)
        event_free(W.stop_timer);
    if (W.idle_grace_ev)
        event_free(W.idle_grace_ev);
    if (W.resume_ev)
        event_free(W.resume_ev);
    if (W.hev)
        event_free(W.hev);
    if (W.base)
        event_base_free(W.base);
    gw_py_acquire();
    if (Py_IsInitialized()) {
        Py_CLEAR(W.app);
        gw_wsgi_fini();
        if (gw_py_fini() < 0)
            log_warn("worker %d: errors while finalizing Python", W.cfg->id);
    }
    W.cfg->slot->state = GW_WS_FREE;
    exit(code);
}

void gw_worker_main(const struct gw_worker_cfg *cfg)
{
    memset(&W, 0, sizeof(W));
    W.cfg = cfg;
    struct gw_slot *sl = cfg->slot;
    sl->pid = getpid();
    sl->state = GW_WS_STARTING;
    sl->spawned = time(NULL);

    /* signals: the master's handlers are not ours */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    int dfl[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP};
    for (size_t i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
        sigaction(dfl[i], &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != cfg->master)
        _exit(GW_EXIT_FATAL);
    hk_msg_len = (size_t)snprintf(hk_msg, sizeof(hk_msg),
                                  "gateway: worker %d (pid %d): harakiri: a request ran past %d "
                                  "s; answered 504, exiting\n",
                                  cfg->id, (int)getpid(), cfg->opts->harakiri);

    if (cfg->app) {
        gw_py_after_fork();
        W.app = cfg->app;
        Py_INCREF(W.app);
    } else {
        if (gw_py_init(cfg->opts) < 0)
            _exit(GW_EXIT_LOAD);
        W.app = gw_py_load_app(cfg->opts);
        if (!W.app)
            _exit(GW_EXIT_LOAD);
    }
    if (gw_wsgi_init(cfg->opts) < 0)
        _exit(GW_EXIT_FATAL);
    gw_response_exceptions = &sl->exceptions;

    W.rmax = (size_t)(cfg->opts->buffer_size > 65536 ? cfg->opts->buffer_size : 65536) + 8192;
    W.body_max = cfg->opts->limit_post > 0 ? (uint64_t)cfg->opts->limit_post : GW_BODY_HARD_MAX;
    W.base = event_base_new();
    if (!W.base) {
        log_error("worker %d: cannot create its event loop", cfg->id);
        _exit(GW_EXIT_FATAL);
    }
    W.resume_ev = evtimer_new(W.base, on_resume, NULL);
    W.idle_tv.tv_sec = cfg->opts->keepalive_timeout;
    W.idle_common = event_base_init_common_timeout(W.base, &W.idle_tv);
    if (!W.idle_common)
        W.idle_common = &W.idle_tv;
    for (int i = 0; i < cfg->nlst && i < MAX_LISTENERS; i++) {
        W.lev[i] = event_new(W.base, cfg->lst[i].fd, EV_READ | EV_PERSIST, on_accept,
                             (void *)&cfg->lst[i]);
        if (!W.lev[i] || event_add(W.lev[i], NULL) < 0) {
            log_error("worker %d: cannot watch %s", cfg->id, cfg->lst[i].spec);
            _exit(GW_EXIT_FATAL);
        }
    }
    int sigs[4] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP};
    for (int i = 0; i < 4; i++) {
        W.sigev[i] = evsignal_new(W.base, sigs[i], on_signal, NULL);
        if (!W.sigev[i] || event_add(W.sigev[i], NULL) < 0) {
            log_error("worker %d: cannot watch signals", cfg->id);
            _exit(GW_EXIT_FATAL);
        }
    }
    if (cfg->handoff_rx >= 0 && cfg->handoff_tx >= 0 && cfg->opts->idle_handoff_ms > 0) {
        W.hev = event_new(W.base, cfg->handoff_rx, EV_READ | EV_PERSIST, on_handoff, NULL);
        if (!W.hev || event_add(W.hev, NULL) < 0 ||
            gw_watch_start(cfg->opts->idle_handoff_ms, hand_off_idle, NULL) < 0) {
            log_error("worker %d: cannot set up the connection hand-off", cfg->id);
            _exit(GW_EXIT_FATAL);
        }
    }
    sl->accepting = 1;
    sl->state = GW_WS_IDLE;
    gw_py_release();
    evloop_run(W.base, cfg->opts->yield);
    worker_exit(GW_EXIT_OK);
}
