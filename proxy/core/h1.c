/* h1: the HTTP/1.x session (see h1.h). */
#define _GNU_SOURCE
#include "h1.h"

#include <event2/buffer.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "request.h"
#include "wstate.h"

enum h1_body { H1_BODY_NONE, H1_BODY_LENGTH, H1_BODY_CHUNKED };

struct h1 {
    struct conn c;     /* first: the connection callbacks get &h->c */
    struct session s;  /* what the requests see */
    struct request *q; /* the current request; NULL while IDLE (owned) */
    unsigned nreq;     /* requests begun on this connection */
    /* the request body's framing */
    enum h1_body body_kind;
    int64_t body_left;       /* H1_BODY_LENGTH: bytes still to read */
    struct http1_chunked ck; /* H1_BODY_CHUNKED */
    bool pumping;            /* body_pump() is moving bytes (s_done must not pump again) */
    bool body_bad;           /* the body's framing broke: its end cannot be found */
};

static struct h1 *of_conn(const struct conn *c)
{
    return (struct h1 *)((char *)c - offsetof(struct h1, c));
}

static struct h1 *of_sess(const struct session *s)
{
    return (struct h1 *)((char *)s - offsetof(struct h1, s));
}

static void st_head(struct h1 *h);
static void finish_request(struct h1 *h);

/* --- the request's life on the connection ------------------------------------ */

/* The clocks of a request's first byte ($request_time, Server-Timing). */
static void stamp_start(struct request *q)
{
    q->tm.t[TM_START] = timing_now();
    timing_wall(&q->r.start);
}

static void reset_request(struct h1 *h)
{
    struct conn *c = &h->c;
    request_reset(h->q, &h->s, c->ls, c->defsrv, (const struct sockaddr *)&c->peer_sa, c->peer_len,
                  (const struct sockaddr *)&c->local_sa, c->local_len);
    h->body_kind = H1_BODY_NONE;
    h->body_left = 0;
    h->body_bad = false;
}

/* A request begins on an idle (or new) connection: its state, reset, and
 * the clocks of its first byte.  False when memory ran out. */
static bool begin_request_state(struct h1 *h)
{
    if (!h->q && !(h->q = request_get()))
        return false;
    reset_request(h);
    stamp_start(h->q);
    return true;
}

/* Everything is queued and the body read: wait for the output to drain. */
static void try_flush(struct h1 *h)
{
    struct conn *c = &h->c;
    if (c->dead || c->st != CONN_ST_ACTIVE || !h->q->resp_done)
        return;
    if (!h->q->body_done && h->q->keepalive)
        return; /* keep reading (dropping) the body first */
    if (conn_flush(c))
        finish_request(h);
}

static void finish_request(struct h1 *h)
{
    struct conn *c = &h->c;
    struct request *q = h->q;
    if (q->r.request_line.p || q->r.status)
        request_log(q);
    if (!q->keepalive || c->w->quitting) {
        /* nginx's choice (ngx_http_finalize_connection): linger when unread
         * request bytes may be on the way, always, or never */
        int lc = c->proto->loc(c)->lingering_close;
        if (lc == CF_LINGER_ALWAYS ||
            (lc == CF_LINGER_ON &&
             (q->lingering_close || !q->body_done || evbuffer_get_length(conn_input(c)) > 0)))
            conn_set_state(c, CONN_ST_LINGER);
        else
            conn_close(c);
        return;
    }
    reset_request(h);
    if (evbuffer_get_length(conn_input(c)) > 0) {
        /* a pipelined request is already here */
        stamp_start(h->q);
        conn_set_state(c, CONN_ST_HEAD);
        conn_hold(c);
        st_head(h);
        if (!c->dead && c->peer_eof && c->st == CONN_ST_HEAD)
            conn_close(c); /* an incomplete head that can never complete */
        conn_release(c);
    } else if (c->peer_eof) {
        conn_close(c);
    } else {
        conn_set_state(c, CONN_ST_IDLE); /* trimmed in conn_release() */
    }
}

/* An error before a request could be routed: answer and close. */
static void head_error(struct h1 *h, int status)
{
    struct request *q = h->q;
    q->r.server = h->c.defsrv;
    q->keepalive = false;
    q->body_done = true;
    q->lingering_close = true;
    conn_body_over(&h->c);
    conn_set_state(&h->c, CONN_ST_ACTIVE);
    request_page(q, status, NULL);
}

/* A head was parsed into q->r: its body's framing, then the phases. */
static void begin_request(struct h1 *h)
{
    struct request *q = h->q;
    struct req *r = &q->r;
    if (r->chunked) {
        h->body_kind = H1_BODY_CHUNKED;
        http1_chunked_init(&h->ck);
        q->body_done = false;
    } else if (r->content_length > 0) {
        h->body_kind = H1_BODY_LENGTH;
        h->body_left = r->content_length;
        q->body_done = false;
    }
    q->want_continue = q->hp.expect_continue && r->http_minor >= 1 && !q->body_done;
    request_run(q);
}

/* HEAD: look for a whole head in the input, parse it, begin the request.
 * Every entry to HEAD is followed by a call or by conn_head_wait(). */
static void st_head(struct h1 *h)
{
    struct conn *c = &h->c;
    struct evbuffer *in = conn_input(c);
    const struct cf_server *ds = c->defsrv;
    size_t bufsz = ds->large_header_buffer_size > 0 ? (size_t)ds->large_header_buffer_size : 8192;
    int nbuf = ds->large_header_buffers > 0 ? ds->large_header_buffers : 4;
    struct http1_limits lim = {bufsz, bufsz * (size_t)nbuf, HTTP_MAX_HEADERS};
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len == 0) {
            conn_head_wait(c);
            return;
        }
        size_t want = len < lim.head_max + 64 ? len : lim.head_max + 64;
        const char *p = (const char *)evbuffer_pullup(in, (ssize_t)want);
        if (!p) {
            conn_close(c);
            return;
        }
        size_t skip = 0, hl = 0;
        int rc = http1_find_head(p, want, &lim, &skip, &hl);
        if (rc == 0) {
            if (skip) {
                evbuffer_drain(in, skip);
                continue;
            }
            conn_head_wait(c);
            return;
        }
        if (rc != 1) {
            log_info("client sent an invalid request head (%d)", rc);
            head_error(h, rc);
            return;
        }
        int st = http_parse_request(&h->q->hp, p + skip, hl, &h->q->r);
        evbuffer_drain(in, skip + hl);
        h->q->r.request_length = hl;
        if (st) {
            log_info("client sent an invalid request: %s", h->q->hp.why ? h->q->hp.why : "?");
            head_error(h, st);
            return;
        }
        begin_request(h);
        return;
    }
}

/* Decodes the request body that arrived into the request's sink. */
static bool body_pump(struct h1 *h)
{
    struct conn *c = &h->c;
    struct request *q = h->q;
    if (q->body_done || c->dead || q->sink_wait)
        return !c->dead;
    struct evbuffer *in = conn_input(c);
    int64_t max = request_loc(q)->client_max_body_size;
    bool moved = false;
    h->pumping = true;
    while (!q->body_done) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0 || !request_body_room(q))
            break;
        if (h->body_kind == H1_BODY_LENGTH) {
            size_t n = (int64_t)avail < h->body_left ? avail : (size_t)h->body_left;
            request_body_push(q, in, n);
            h->body_left -= (int64_t)n;
            moved = true;
            if (h->body_left == 0)
                q->body_done = true;
        } else if (http1_chunked_in_data(&h->ck)) {
            size_t n = avail < h->ck.remaining ? avail : (size_t)h->ck.remaining;
            if (max > 0 && !c->discarding && (int64_t)(q->body_read + n) > max) {
                request_fail(q, 413); /* answered: the rest is discarded */
                if (c->dead || !c->discarding) {
                    h->pumping = false;
                    return !c->dead;
                }
                continue;
            }
            request_body_push(q, in, n);
            http1_chunked_consumed(&h->ck, n);
            moved = true;
        } else {
            struct evbuffer_iovec v;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                break;
            long k = http1_chunked_frame(&h->ck, v.iov_base, v.iov_len);
            if (k < 0) {
                q->hp.why = "invalid chunked body";
                log_info("client %s: invalid chunked body", q->r.request_line.p ? "request" : "");
                h->body_bad = true;
                h->pumping = false;
                request_fail(q, 400);
                return !c->dead;
            }
            evbuffer_drain(in, (size_t)k);
            q->r.request_length += (uint64_t)k;
            if (http1_chunked_done(&h->ck)) {
                request_body_end(q);
                moved = true;
            }
        }
    }
    h->pumping = false;
    if (moved)
        q->want_continue = false;
    bool done = q->body_done;
    if (done)
        conn_body_over(c);
    if (moved && q->on_body) {
        conn_hold(c);
        q->on_body(q->body_ud, done);
        /* the release may take an IDLE connection's request: not q after it */
        if (!conn_release(c))
            return false;
    }
    if (done)
        try_flush(h);
    return !c->dead;
}

/* --- what the connection tells the session ----------------------------------- */

static const struct cf_loc *p_loc(const struct conn *c)
{
    const struct h1 *h = of_conn(c);
    return h->q ? request_loc(h->q) : c->defsrv->def_loc;
}

static bool p_begin(struct conn *c)
{
    return begin_request_state(of_conn(c));
}

static void p_head(struct conn *c)
{
    st_head(of_conn(c));
}

static void p_body(struct conn *c)
{
    body_pump(of_conn(c));
}

static void p_drain(struct conn *c)
{
    struct request *q = of_conn(c)->q;
    if (q && q->on_drain)
        q->on_drain(q->drain_ud);
}

static void p_flushed(struct conn *c)
{
    finish_request(of_conn(c));
}

static void p_head_timeout(struct conn *c)
{
    log_info("client timed out sending the request head");
    head_error(of_conn(c), 408);
}

static void p_body_timeout(struct conn *c)
{
    struct request *q = of_conn(c)->q;
    if (!q->head_sent) {
        log_info("client timed out sending the request body");
        request_fail(q, 408);
    } else {
        log_info("client timed out (reading)");
        conn_close(c);
    }
}

static bool p_peer_eof(struct conn *c)
{
    struct request *q = of_conn(c)->q;
    if (!q || !q->body_done)
        return false;
    q->lingering_close = false;
    return true;
}

static void p_closing(struct conn *c)
{
    struct request *q = of_conn(c)->q;
    if (!q)
        return;
    if (c->st == CONN_ST_ACTIVE && q->r.request_line.p) {
        /* the client left (or we gave up) in the middle: log it as nginx does */
        if (!q->head_sent)
            q->r.status = 499;
        request_log(q);
    }
    request_abort(q);
}

static void p_idle(struct conn *c)
{
    struct h1 *h = of_conn(c);
    if (h->q) {
        /* an idle keep-alive connection keeps only its sock: the
         * request state goes back to the cache (as nginx frees its request
         * pool), which matters at 10,000 idle ones.  Done when no callback
         * of ours is on the stack any more. */
        request_put(h->q);
        h->q = NULL;
    }
}

static void p_free(struct conn *c)
{
    struct h1 *h = of_conn(c);
    if (h->q)
        request_put(h->q); /* the close ended its handler: nothing refers to it */
    free(h);
}

static const struct conn_proto h1_proto = {
    .loc = p_loc,
    .begin = p_begin,
    .head = p_head,
    .body = p_body,
    .drain = p_drain,
    .flushed = p_flushed,
    .head_timeout = p_head_timeout,
    .body_timeout = p_body_timeout,
    .peer_eof = p_peer_eof,
    .closing = p_closing,
    .idle = p_idle,
    .free = p_free,
};

/* --- what the requests ask of the session ------------------------------------ */

static struct evbuffer *s_output(struct session *s)
{
    return conn_output(&of_sess(s)->c);
}

static bool s_output_full(struct session *s)
{
    return conn_output_full(&of_sess(s)->c);
}

static void s_file_out(struct session *s)
{
    conn_file_out(&of_sess(s)->c);
}

/* The head is built in q->head and goes to the output in one piece at
 * s_head_end(): one evbuffer_add, no printf. */
static void s_head_begin(struct session *s, struct request *q, const char *reason,
                         size_t reason_len)
{
    struct buf *h = &q->head;
    buf_append(h, "HTTP/1.1 ", 9);
    buf_append_u64(h, (uint64_t)q->r.status);
    buf_append(h, " ", 1);
    buf_append(h, reason, reason_len);
    buf_append(h, "\r\nServer: ", 10);
    buf_puts(h, request_server_name(q));
    buf_append(h, "\r\nDate: ", 8);
    buf_puts(h, worker_date(s->w));
    buf_append(h, "\r\n", 2);
}

static void s_head_end(struct session *s, struct request *q)
{
    struct buf *out = &q->head;
    if (q->content_length >= 0) {
        buf_append(out, "Content-Length: ", 16);
        buf_append_u64(out, (uint64_t)q->content_length);
        buf_append(out, "\r\n", 2);
    } else if (q->has_body) {
        if (q->chunked_out)
            buf_append(out, "Transfer-Encoding: chunked\r\n", 28);
        else
            q->keepalive = false; /* the end of the body is the end of the connection */
    }
    if (s->w->quitting)
        q->keepalive = false;
    if (q->keepalive)
        buf_append(out, "Connection: keep-alive\r\n", 24);
    else
        buf_append(out, "Connection: close\r\n", 19);
    if (q->head_more.len)
        buf_append(out, q->head_more.data, q->head_more.len);
    buf_append(out, "\r\n", 2);
    evbuffer_add(conn_output(&of_sess(s)->c), out->data, out->len);
    q->r.bytes_sent += out->len;
}

static void s_done(struct session *s, struct request *q)
{
    struct h1 *h = of_sess(s);
    if (!q->body_done && !h->c.dead && !h->body_bad) {
        /* answered before the whole body came: the rest is read and dropped
         * (bounded by lingering_time), then the connection is kept or
         * closed; body_pump() flushes once it is over (or, when it is the
         * caller, goes on dropping) */
        request_body_drop(q);
        conn_discard(&h->c);
        if (!h->pumping && (!body_pump(h) || q->body_done))
            return;
    }
    try_flush(h);
}

static void s_close(struct session *s)
{
    conn_close(&of_sess(s)->c);
}

static bool s_body_pump(struct session *s, struct request *q)
{
    (void)q;
    return body_pump(of_sess(s));
}

static void s_send_continue(struct session *s, struct request *q)
{
    struct conn *c = &of_sess(s)->c;
    if (evbuffer_get_length(conn_input(c)) == 0 && !q->head_sent)
        evbuffer_add(conn_output(c), "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

static void s_routed(struct session *s, struct request *q)
{
    struct h1 *h = of_sess(s);
    const struct cf_loc *loc = q->r.loc;
    h->nreq++;
    q->keepalive = q->r.keepalive && loc->keepalive_timeout_ms > 0 && !s->w->quitting &&
                   (loc->keepalive_requests <= 0 || h->nreq < (unsigned)loc->keepalive_requests);
    if (q->body_done)
        conn_body_over(&h->c);
    else
        h->c.body_wait = true;
    conn_set_state(&h->c, CONN_ST_ACTIVE);
}

static void s_hold(struct session *s)
{
    conn_hold(&of_sess(s)->c);
}

static bool s_release(struct session *s)
{
    return conn_release(&of_sess(s)->c);
}

static const struct sess_ops h1_sess_ops = {
    .name = "http/1.1",
    .output = s_output,
    .output_full = s_output_full,
    .file_out = s_file_out,
    .head_begin = s_head_begin,
    .head_end = s_head_end,
    .done = s_done,
    .close = s_close,
    .body_pump = s_body_pump,
    .send_continue = s_send_continue,
    .routed = s_routed,
    .hold = s_hold,
    .release = s_release,
};

void h1_accept(struct worker *w, const struct cf_listen *ls, int fd, const struct sockaddr *sa,
               socklen_t salen)
{
    struct h1 *h = calloc(1, sizeof(*h));
    if (!h) {
        log_error("accept: out of memory");
        close(fd);
        return;
    }
    h->s.ops = &h1_sess_ops;
    h->s.w = w;
    if (conn_init(&h->c, &h1_proto, w, ls, fd, sa, salen) < 0) {
        free(h);
        return;
    }
    if (!begin_request_state(h)) {
        log_error("accept: out of memory");
        conn_close(&h->c);
        return;
    }
    conn_start(&h->c);
}
