/* conn: the client connection (see conn.h).
 *
 * One edge-triggered sock (sock.h) per connection.  The read callback dispatches on
 * the state to the session; the write callback ends a response when the
 * output has drained or tells the session it may feed more; a timer carries
 * the deadlines that are not per-read (header, keep-alive, linger).
 * conn_set_state() is the only place the state changes and sets up what each
 * state needs. */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "route.h"
#include "sock.h"
#include "timing.h"
#include "wstate.h"

#define CONN_HIGH    (256 * 1024) /* client output: stop feeding above */
#define CONN_LOW     (64 * 1024)  /* ... resume below */
#define CONN_READ_WM (256 * 1024) /* client input: stop reading above */

static void conn_free(struct conn *c);

struct evbuffer *conn_input(struct conn *c)
{
    return sock_input(c->sk);
}

struct evbuffer *conn_output(struct conn *c)
{
    return sock_output(c->sk);
}

bool conn_output_full(const struct conn *c)
{
    return evbuffer_get_length(sock_output(c->sk)) >= CONN_HIGH;
}

void conn_file_out(struct conn *c)
{
    c->file_out = true;
}

/* The client shut its side after a whole request: stop reading. */
static void stop_reading(struct conn *c)
{
    sock_disable(c->sk, EV_READ);
    c->peer_eof = true;
}

static void set_timer(struct conn *c, int ms)
{
    if (ms <= 0) {
        evtimer_del(c->timer);
        return;
    }
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* The sock's read and write timeouts; set only when they change
 * (each call re-adds both events: the same values in every state of a
 * keep-alive request would cost four timer-heap operations per request). */
static void set_read_timeout(struct conn *c, int ms)
{
    int sm = c->proto->loc(c)->send_timeout_ms;
    ms = ms > 0 ? ms : 0;
    sm = sm > 0 ? sm : 0;
    if (ms == c->rt_ms && sm == c->wt_ms)
        return;
    c->rt_ms = ms;
    c->wt_ms = sm;
    struct timeval rt = {ms / 1000, (ms % 1000) * 1000};
    struct timeval wt = {sm / 1000, (sm % 1000) * 1000};
    sock_set_timeouts(c->sk, ms > 0 ? &rt : NULL, sm > 0 ? &wt : NULL);
}

void conn_set_state(struct conn *c, enum conn_state st)
{
    c->st = st;
    switch (st) {
    case CONN_ST_IDLE:
        set_read_timeout(c, 0);
        set_timer(c, c->proto->loc(c)->keepalive_timeout_ms);
        sock_set_write_low(c->sk, CONN_LOW);
        break;
    case CONN_ST_HEAD:
        set_read_timeout(c, 0);
        /* client_header_timeout is armed by conn_head_wait() once the
         * session has to wait for more of the head: a head that came whole,
         * the usual keep-alive request, costs no timer operation (the
         * keep-alive one left armed until then cannot fire before the
         * session's head callback runs) */
        c->head_timer = false;
        break;
    case CONN_ST_ACTIVE:
        evtimer_del(c->timer);
        sock_set_write_low(c->sk, CONN_LOW);
        /* reading stays on (pipelined bytes wait in the input, bounded by the
         * read watermark): toggling it would cost two epoll_ctl per request */
        set_read_timeout(c, c->body_wait ? c->proto->loc(c)->client_body_timeout_ms : 0);
        break;
    case CONN_ST_FLUSH:
        /* still discarding a body: its deadline stays armed */
        set_read_timeout(c, c->discarding ? c->proto->loc(c)->lingering_timeout_ms : 0);
        sock_set_write_low(c->sk, 0);
        break;
    case CONN_ST_LINGER: {
        /* nginx's lingering close: lingering_time in all, lingering_timeout
         * between reads (on_read re-arms) */
        const struct cf_loc *loc = c->proto->loc(c);
        c->discarding = false;
        set_read_timeout(c, 0);
        c->linger_end = timing_now() + loc->lingering_time_ms / 1000.0;
        int ms = loc->lingering_timeout_ms < loc->lingering_time_ms ? loc->lingering_timeout_ms
                                                                    : loc->lingering_time_ms;
        set_timer(c, ms > 0 ? ms : 1); /* 0: closed on the next turn, never unbounded */
        if (sock_shutdown(c->sk) < 0 && errno != ENOTCONN)
            log_debug("shutdown: %s", strerror(errno));
        evbuffer_drain(conn_input(c), evbuffer_get_length(conn_input(c)));
        sock_enable(c->sk, EV_READ);
        break;
    }
    }
}

void conn_body_over(struct conn *c)
{
    c->body_wait = false;
    if (c->discarding) {
        c->discarding = false;
        evtimer_del(c->timer);
        if (c->st == CONN_ST_FLUSH)
            set_read_timeout(c, 0);
    }
    if (c->st == CONN_ST_ACTIVE)
        set_read_timeout(c, 0);
}

void conn_discard(struct conn *c)
{
    if (c->discarding || c->dead)
        return;
    const struct cf_loc *loc = c->proto->loc(c);
    c->discarding = true;
    c->body_wait = false;
    /* a lingering_time of 0 would close at once: at least one turn */
    set_timer(c, loc->lingering_time_ms > 0 ? loc->lingering_time_ms : 1);
    set_read_timeout(c, loc->lingering_timeout_ms > 0 ? loc->lingering_timeout_ms : 1);
}

bool conn_timer_armed(const struct conn *c)
{
    if (c->dead)
        return true; /* no state any more */
    bool timer = evtimer_pending(c->timer, NULL);
    bool out = evbuffer_get_length(sock_output(c->sk)) > 0;
    bool write_bound = out && c->wt_ms > 0 && (sock_enabled(c->sk) & EV_WRITE);
    switch (c->st) {
    case CONN_ST_IDLE:
    case CONN_ST_LINGER:
        return timer;
    case CONN_ST_HEAD:
        /* the keep-alive timer stays armed until the head has to wait */
        return timer;
    case CONN_ST_ACTIVE:
        if (c->discarding)
            return timer && c->rt_ms > 0;
        if (c->body_wait)
            return c->rt_ms > 0 || write_bound;
        return write_bound;
    case CONN_ST_FLUSH:
        if (c->discarding && !(timer && c->rt_ms > 0))
            return false;
        return !out || write_bound;
    }
    return false;
}

void conn_head_wait(struct conn *c)
{
    if (c->head_timer)
        return;
    c->head_timer = true;
    set_timer(c, c->defsrv->client_header_timeout_ms);
}

/* --- the worker's list ------------------------------------------------------- */

static void list_link(struct conn *c)
{
    struct worker *w = c->w;
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    if (w->on_conn_count)
        w->on_conn_count(w, true);
}

static void list_unlink(struct conn *c)
{
    struct worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    if (w->on_conn_count)
        w->on_conn_count(w, false);
}

void conn_close_idle_all(struct worker *w)
{
    /* between requests only, as nginx: a connection that has not sent its
     * first request yet may have it on the way (a client that connected
     * before the stop); it is served, client_header_timeout bounds the wait */
    for (struct conn *c = w->conns, *n; c; c = n) {
        n = c->next;
        if (c->st == CONN_ST_IDLE)
            conn_close(c);
    }
}

void conn_close_all(struct worker *w)
{
    /* each goes at once unless a callback holds it (then when it returns);
     * every turn closes one more */
    for (;;) {
        struct conn *c = w->conns;
        while (c && c->dead)
            c = c->next;
        if (!c)
            break;
        conn_close(c);
    }
}

/* --- closing ----------------------------------------------------------------- */

static void conn_free(struct conn *c)
{
    if (c->timer)
        event_free(c->timer);
    c->timer = NULL;
    sock_free(c->sk);
    c->sk = NULL;
    list_unlink(c);
    c->proto->free(c);
}

void conn_close(struct conn *c)
{
    if (c->dead)
        return;
    c->proto->closing(c);
    c->dead = true;
    if (c->timer)
        evtimer_del(c->timer);
    if (c->sk)
        sock_disable(c->sk, EV_READ | EV_WRITE);
    if (c->busy == 0)
        conn_free(c);
}

/* The client's writing is enabled only while output waits for the socket
 * (else queuing output would arm the write event per response). */
static bool writing(const struct conn *c)
{
    return sock_enabled(c->sk) & EV_WRITE;
}

/* Output waits for the socket: the sock's writer takes it
 * from here and reports the drain to on_write(). */
static void want_write(struct conn *c)
{
    if (!writing(c))
        sock_enable(c->sk, EV_WRITE); /* kicks the writer */
}

/* The output is out: the next one is written directly again. */
static void write_off(struct conn *c)
{
    if (writing(c))
        sock_disable(c->sk, EV_WRITE);
}

bool conn_release(struct conn *c)
{
    if (--c->busy > 0)
        return !c->dead;
    if (c->dead) {
        conn_free(c);
        return false;
    }
    /* the last callback of ours on the stack: whatever the session queued
     * and nothing wrote yet (a body relayed in parts, 100 Continue) goes
     * out on the next loop turn, as it would with writing always enabled */
    if (evbuffer_get_length(conn_output(c)) > 0)
        want_write(c);
    if (c->st == CONN_ST_IDLE)
        c->proto->idle(c);
    return true;
}

bool conn_flush(struct conn *c)
{
    conn_set_state(c, CONN_ST_FLUSH);
    if (sock_write_now(c->sk, !c->file_out)) {
        write_off(c); /* left on by an earlier stream: the event is gone already */
        return true;
    }
    want_write(c); /* on_write() tells the session (or on_event() gets the error) */
    return false;
}

/* --- sock callbacks ---------------------------------------------------------- */

static void on_read(struct sock *sk, void *ud)
{
    struct conn *c = ud;
    (void)sk;
    conn_hold(c);
    switch (c->st) {
    case CONN_ST_IDLE:
        if (!c->proto->begin(c)) {
            conn_close(c);
            break;
        }
        conn_set_state(c, CONN_ST_HEAD);
        c->proto->head(c);
        break;
    case CONN_ST_HEAD:
        c->proto->head(c);
        break;
    case CONN_ST_ACTIVE:
        c->proto->body(c);
        break;
    case CONN_ST_FLUSH:
        if (c->discarding)
            c->proto->body(c);
        break;
    case CONN_ST_LINGER: {
        struct evbuffer *in = conn_input(c);
        evbuffer_drain(in, evbuffer_get_length(in));
        double left_ms = (c->linger_end - timing_now()) * 1000.0;
        int to = c->proto->loc(c)->lingering_timeout_ms;
        to = to > 0 ? to : 1;
        if (left_ms <= 0)
            conn_close(c);
        else
            set_timer(c, left_ms < to ? (int)left_ms + 1 : to);
        break;
    }
    }
    conn_release(c);
}

static void on_write(struct sock *sk, void *ud)
{
    struct conn *c = ud;
    (void)sk;
    conn_hold(c);
    if (c->st == CONN_ST_FLUSH) {
        if (evbuffer_get_length(conn_output(c)) == 0)
            c->proto->flushed(c);
    } else if (c->st == CONN_ST_ACTIVE) {
        c->proto->drain(c);
    }
    if (!c->dead && evbuffer_get_length(conn_output(c)) == 0)
        write_off(c); /* drained (the sock has stopped the write event) */
    conn_release(c);
}

static void on_event(struct sock *sk, short what, void *ud)
{
    struct conn *c = ud;
    (void)sk;
    conn_hold(c);
    if (what & SOCK_TIMEOUT) {
        if ((what & SOCK_READING) && c->discarding) {
            log_info("client timed out (discarding the request body)");
            conn_close(c);
        } else if ((what & SOCK_READING) && c->st == CONN_ST_ACTIVE) {
            c->proto->body_timeout(c);
        } else {
            log_info("client timed out (%s)", (what & SOCK_READING) ? "reading" : "writing");
            conn_close(c);
        }
    } else if (what & (SOCK_EOF | SOCK_ERROR)) {
        if ((c->st == CONN_ST_ACTIVE || c->st == CONN_ST_FLUSH) && (what & SOCK_EOF) &&
            !(what & SOCK_WRITING) && c->proto->peer_eof(c)) {
            /* half-close after a complete request: finish the response,
             * and the pipelined requests already read, then close */
            stop_reading(c);
        } else {
            conn_close(c);
        }
    }
    conn_release(c);
}

static void on_timer(evutil_socket_t fd, short what, void *ud)
{
    struct conn *c = ud;
    (void)fd;
    (void)what;
    conn_hold(c);
    if (c->st == CONN_ST_HEAD && evbuffer_get_length(conn_input(c)) > 0)
        c->proto->head_timeout(c);
    else
        conn_close(c);
    conn_release(c);
}

static bool listen_is_wildcard(const struct addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (a->ss.ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    return false;
}

int conn_init(struct conn *c, const struct conn_proto *proto, struct worker *w,
              const struct cf_listen *ls, int fd, const struct sockaddr *sa, socklen_t salen)
{
    c->proto = proto;
    c->w = w;
    c->ls = ls;
    if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
        c->peer_len = salen < sizeof(c->peer_sa) ? salen : sizeof(c->peer_sa);
        memcpy(&c->peer_sa, sa, c->peer_len);
        /* a wildcard listener does not say which of our addresses was dialled */
        c->local_len = sizeof(c->local_sa);
        if (!listen_is_wildcard(&ls->addr) ||
            getsockname(fd, (struct sockaddr *)&c->local_sa, &c->local_len) < 0 ||
            c->local_len > sizeof(c->local_sa))
            c->local_len = 0;
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
            log_debug("TCP_NODELAY: %s", strerror(errno));
    } else {
        c->peer_len = sizeof(sa_family_t); /* "unix:", as nginx says */
        c->peer_sa.sin6_family = sa->sa_family;
        c->local_len = 0;
    }
    c->sk = sock_new(w->base, fd, SOCK_EDGE); /* closes fd on failure */
    c->timer = evtimer_new(w->base, on_timer, c);
    c->rt_ms = c->wt_ms = -1; /* nothing set yet */
    if (!c->sk || !c->timer) {
        log_error("accept: out of memory");
        sock_free(c->sk);
        c->sk = NULL;
        if (c->timer)
            event_free(c->timer);
        return -1;
    }
    c->defsrv = route_server(w->cf, ls, "", 0);
    list_link(c);
    return 0;
}

void conn_start(struct conn *c)
{
    /* writing is on in a new sock: off until output waits (want_write) */
    sock_disable(c->sk, EV_WRITE);
    sock_setcb(c->sk, on_read, on_write, on_event, c);
    sock_set_read_high(c->sk, CONN_READ_WM);
    sock_enable(c->sk, EV_READ);
    /* a new connection waits for its first request under client_header_timeout */
    conn_set_state(c, CONN_ST_HEAD);
    conn_head_wait(c);
}
