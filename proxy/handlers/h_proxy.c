/* h_proxy: proxy_pass / uwsgi_pass (see h_proxy.h).
 *
 * One struct proxy per request state (the request's context slot), reused
 * by the requests that state serves.  A request goes through tries: pick a peer (upstream.h), take
 * a pooled connection or connect, write the request head (or uwsgi packet) and stream the body,
 * read the response head, then relay the body to the client (through h_proxy_buf.h: with
 * proxy_buffering on, what the client cannot take at once waits in memory and a temporary file, and
 * the upstream is released when its response is read).  A try that fails before anything
 * reached the client may be followed by another, as proxy_next_upstream says (and a reused
 * keep-alive connection that fails before any response byte is retried on a new one, retry_stale);
 * the request body is then sent again: a buffered body (proxy_request_buffering on, the default)
 * from its spool, a streamed one from a copy kept while it is small (a large streamed body that
 * already left cannot be sent twice and the client gets the error). */
#define _GNU_SOURCE
#include "h_proxy.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "f_headers.h"
#include "h_proxy_body.h"
#include "h_proxy_buf.h"
#include "h_proxy_req.h"
#include "handler.h"
#include "request.h"
#include "http.h"
#include "httpmethod.h"
#include "log.h"
#include "pool.h"
#include "sock.h"
#include "h_uwsgi.h"
#include "timing.h"
#include "upstream.h"
#include "vars.h"

#define PX_HIGH       (256 * 1024) /* upstream input: stop reading above */
#define PX_LOW        (64 * 1024)  /* upstream output: ask for more body below */
#define PX_REPLAY_MAX (64 * 1024)  /* request bodies up to this size can be retried */

enum px_phase {
    PX_IDLE,       /* no try in progress */
    PX_CONNECTING, /* connect() in progress */
    PX_WAIT_HEAD,  /* connected: request going out, response head awaited */
    PX_BODY,       /* response head sent to the client, body relayed */
    PX_DRAIN,      /* the upstream is done; buffered body bytes go to the client */
};

enum px_framing { RF_NONE, RF_LENGTH, RF_CHUNKED, RF_EOF };

enum px_fail { PF_ERROR, PF_TIMEOUT, PF_INVALID };

struct proxy {
    struct request *q; /* the request (borrowed; px lives in its context slot) */
    bool uwsgi;
    const struct cf_loc *loc;
    struct up_group *g;
    struct up_try tries;
    bool tries_live;
    int peer;
    struct pconn *pc;
    enum px_phase phase;
    struct http_resp rp;
    struct buf req; /* the request head or uwsgi packet, built once per request */
    struct buf tmp;
    struct evbuffer *replay; /* copy of the body sent so far (conn's tee) */
    bool sent;               /* the current try got past connecting (bytes may have left) */
    bool got;                /* the current try received a response byte */
    double t_first, t_try, t_conn, t_head;
    int fail_status; /* what to answer when no try is left: 502 or 504 */
    enum px_framing rf;
    int64_t left;
    struct http1_chunked ck;
    bool reusable;
    bool paused;      /* upstream reading stopped: the client output (or the buffer) is full */
    struct pxbuf buf; /* proxy_buffering */
};

static void px_try(struct proxy *px);
static void px_begin(struct proxy *px);
static void flush(struct proxy *px);
static void on_client_drain(void *ud);
static int try_peer(struct proxy *px, int peer, bool fresh);
static void connect_failed(struct proxy *px);
static void relay(struct proxy *px);
static bool spool_fill(struct proxy *px);
static bool spool_pending(struct proxy *px);
static void spool_failed(struct proxy *px);

static bool method_is(const struct req *r, const char *m)
{
    return http_method_is(r->method.p, r->method.len, m);
}

static void append_list(struct buf *b, const char *s, size_t n)
{
    if (b->len)
        buf_append(b, ", ", 2);
    buf_append(b, s, n);
}

/* Seconds with milliseconds ("0.004"), as nginx logs them; "-" when unknown.
 * Formatted by hand: this runs on every proxied request. */
static void append_secs(struct buf *b, double from, double to)
{
    if (!(from > 0 && to > 0)) {
        append_list(b, "-", 1);
        return;
    }
    double d = to - from < 0 ? 0 : to - from;
    uint64_t ms = (uint64_t)(d * 1000.0 + 0.5);
    char t[FMT_U64_MAX + 8];
    size_t n = fmt_u64(t, ms / 1000);
    t[n++] = '.';
    t[n++] = (char)('0' + ms / 100 % 10);
    t[n++] = (char)('0' + ms / 10 % 10);
    t[n++] = (char)('0' + ms % 10);
    append_list(b, t, n);
}

/* Gives the try's connection back to the pool (keep) or closes it. */
static void drop_conn(struct proxy *px, bool keep)
{
    if (px->pc && px->q->sink == sock_output(px->pc->sk))
        request_body_pause(px->q); /* the sink goes away with the connection */
    if (px->pc) {
        if (keep)
            pool_put(px->pc);
        else
            pool_free(px->pc);
        px->pc = NULL;
    }
    px->phase = PX_IDLE;
    px->paused = false;
}

/* Adds the current try to $upstream_status and the $upstream_*_time lists. */
static void note_try(struct proxy *px, int status, double now)
{
    struct req *r = &px->q->r;
    if (status > 0) {
        char st[FMT_U64_MAX];
        append_list(&r->upstream_status, st, fmt_u64(st, (uint64_t)status));
    } else {
        append_list(&r->upstream_status, "-", 1);
    }
    append_secs(&r->upstream_connect_time, px->t_try, px->t_conn);
    append_secs(&r->upstream_header_time, px->t_try, px->t_head);
    append_secs(&r->upstream_response_time, px->t_try, now);
}

/* Ends the current try: fills $upstream_status and the times, tells
 * upstream.c, and releases or frees the connection. */
static void end_try(struct proxy *px, enum up_result res, int status, bool keep_conn)
{
    double now = timing_now();
    note_try(px, status, now);
    struct up_timing tm = {
        px->t_conn > 0 ? px->t_conn - px->t_try : -1,
        px->t_head > 0 ? px->t_head - px->t_try : -1,
        now - px->t_try,
    };
    if (px->peer >= 0)
        up_done(px->g, px->peer, res, &tm);
    px->peer = -1;
    drop_conn(px, keep_conn);
}

/* The proxy_next_upstream flag of an upstream status (http_500, ...), or 0. */
static int status_flag(int status)
{
    switch (status) {
    case 500:
        return CF_NEXT_HTTP_500;
    case 502:
        return CF_NEXT_HTTP_502;
    case 503:
        return CF_NEXT_HTTP_503;
    case 504:
        return CF_NEXT_HTTP_504;
    case 429:
        return CF_NEXT_HTTP_429;
    case 403:
        return CF_NEXT_HTTP_403;
    case 404:
        return CF_NEXT_HTTP_404;
    default:
        return 0;
    }
}

/* May another try follow a failure of kind `flag`?  `count`: the try
 * counts toward proxy_next_upstream_tries (not so a retry after a stale
 * keep-alive connection, as nginx's u->peer.tries++ for a cached one). */
static bool can_retry(struct proxy *px, int flag, bool count)
{
    const struct cf_loc *loc = px->loc;
    struct request *q = px->q;
    if ((loc->next_upstream & CF_NEXT_OFF) || !(loc->next_upstream & flag))
        return false;
    if (q->head_sent)
        return false;
    if (count && loc->next_upstream_tries > 0 && px->tries.ntries >= loc->next_upstream_tries)
        return false;
    if (loc->next_upstream_timeout_ms > 0 &&
        (timing_now() - px->t_first) * 1000.0 >= loc->next_upstream_timeout_ms)
        return false;
    bool idempotent =
        !(method_is(&q->r, "POST") || method_is(&q->r, "PATCH") || method_is(&q->r, "LOCK"));
    if (px->sent && !idempotent && !(loc->next_upstream & CF_NEXT_NON_IDEMPOTENT))
        return false;
    if (request_body_lost(q))
        return false; /* part of the body is gone and cannot be sent again */
    return true;
}

/* A connection taken from the keep-alive cache failed before any response
 * byte came: the upstream closed it while it was idle, or its process went
 * away.  As nginx, the request is sent again on a new connection to the same
 * peer (a stale connection says nothing about the peer: no failure is
 * counted, and the retry is not a new pick); $upstream_status shows both
 * attempts ("502, 200").  The new connection is not a cached one, so this
 * happens at most once per try.  False when it does not apply. */
static bool retry_stale(struct proxy *px, enum px_fail kind, const char *why)
{
    struct request *q = px->q;
    if (kind != PF_ERROR || !px->pc || !px->pc->reused || px->phase != PX_WAIT_HEAD || px->got ||
        q->head_sent || px->peer < 0 || !can_retry(px, CF_NEXT_ERROR, false))
        return false;
    log_warn("upstream %s %s on a kept-alive connection before the response header, retrying on "
             "a new connection, client request \"%.*s\"",
             up_peer_name(px->g, px->peer), why, (int)q->r.request_line.len, q->r.request_line.p);
    note_try(px, 502, timing_now());
    drop_conn(px, false);
    px->fail_status = 502;
    if (try_peer(px, px->peer, true) == 0)
        connect_failed(px);
    return true;
}

/* The try failed before a response reached the client. */
static void fail_try(struct proxy *px, enum px_fail kind, const char *why)
{
    struct request *q = px->q;
    if (retry_stale(px, kind, why))
        return;
    int status = kind == PF_TIMEOUT ? 504 : 502;
    int flag = kind == PF_TIMEOUT   ? CF_NEXT_TIMEOUT
               : kind == PF_INVALID ? CF_NEXT_INVALID_HEADER
                                    : CF_NEXT_ERROR;
    log_error("upstream %s %s while %s, client request \"%.*s\"",
              px->peer >= 0 ? up_peer_name(px->g, px->peer) : "?", why,
              px->phase == PX_CONNECTING  ? "connecting"
              : px->phase == PX_WAIT_HEAD ? "reading the response header"
                                          : "reading the response",
              (int)q->r.request_line.len, q->r.request_line.p);
    bool in_body = px->phase == PX_BODY;
    end_try(px, UP_FAIL, status, false);
    if (in_body || q->head_sent) {
        request_close(q); /* the client has part of a response: it can only see it cut */
        return;
    }
    px->fail_status = status;
    if (can_retry(px, flag, true)) {
        px_try(px);
        return;
    }
    request_fail(q, status);
}

/* --- upstream callbacks ---------------------------------------------------- */

/* The upstream connection's timeouts once connected: proxy_send_timeout,
 * and proxy_read_timeout counted from the end of the request body. */
static void set_connected_timeouts(struct proxy *px)
{
    int ms = px->loc->read_timeout_ms, sm = px->loc->proxy_send_timeout_ms;
    struct timeval rt = {ms / 1000, (ms % 1000) * 1000};
    struct timeval wt = {sm / 1000, (sm % 1000) * 1000};
    bool reading = px->q->body_done && !spool_pending(px);
    sock_set_timeouts_lazy(px->pc->sk, reading && ms > 0 ? &rt : NULL, sm > 0 ? &wt : NULL);
}

static void on_body(void *ud, bool done)
{
    struct proxy *px = ud;
    if (done && px->pc && px->phase == PX_WAIT_HEAD && px->loc->read_timeout_ms > 0)
        set_connected_timeouts(px); /* the body is over: the read timeout starts */
}

static void complete(struct proxy *px)
{
    struct request *q = px->q;
    bool sent_all = q->body_done && px->pc && evbuffer_get_length(sock_output(px->pc->sk)) == 0 &&
                    !spool_pending(px);
    bool keep = px->reusable && sent_all && !px->uwsgi;
    end_try(px, UP_OK, px->rp.status, keep);
    /* the upstream answered before the whole body came: drop the rest */
    request_body_drop(q);
    if (pxbuf_len(&px->buf) > 0) { /* buffered bytes still go to the client */
        px->phase = PX_DRAIN;
        flush(px);
        return;
    }
    pxbuf_reset(&px->buf); /* closes a temporary file */
    request_done(q);
}

/* Moves buffered body bytes to the client; ends the request once the
 * upstream is done and nothing waits. */
static void flush(struct proxy *px)
{
    struct request *q = px->q;
    int rc = pxbuf_flush(&px->buf, q);
    if (rc < 0) {
        request_close(q); /* the client has part of the response: it sees it cut */
        return;
    }
    if (rc == 1 && px->phase == PX_DRAIN) {
        px->phase = PX_IDLE;
        pxbuf_reset(&px->buf); /* closes the temporary file */
        request_done(q);
        return;
    }
    request_on_drain(q, on_client_drain, px);
}

static void on_client_drain(void *ud)
{
    struct proxy *px = ud;
    if (px->phase == PX_DRAIN) {
        flush(px);
        return;
    }
    if (px->phase != PX_BODY || !px->pc)
        return;
    if (pxbuf_len(&px->buf) > 0) {
        int rc = pxbuf_flush(&px->buf, px->q);
        if (rc < 0) {
            fail_try(px, PF_ERROR, "could not read its buffered response");
            return;
        }
    }
    if (px->paused) {
        px->paused = false;
        sock_enable(px->pc->sk, EV_READ);
    }
    relay(px);
}

/* Moves response body bytes to the client while its output has room. */
static void relay(struct proxy *px)
{
    struct request *q = px->q;
    struct evbuffer *in = sock_input(px->pc->sk);
    for (;;) {
        if (px->rf == RF_NONE || (px->rf == RF_LENGTH && px->left == 0) ||
            (px->rf == RF_CHUNKED && http1_chunked_done(&px->ck))) {
            complete(px);
            return;
        }
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            break;
        bool queue;
        size_t lim = pxbuf_limit(&px->buf, q, avail, &queue);
        if (lim == 0) { /* the client output and the buffers are full */
            px->paused = true;
            sock_disable(px->pc->sk, EV_READ);
            request_on_drain(q, on_client_drain, px);
            return;
        }
        int rc = 0;
        if (px->rf == RF_LENGTH) {
            size_t n = (int64_t)lim < px->left ? lim : (size_t)px->left;
            rc = pxbuf_move(&px->buf, q, in, (int64_t)n, queue);
            px->left -= (int64_t)n;
        } else if (px->rf == RF_EOF) {
            rc = pxbuf_move(&px->buf, q, in, lim == avail ? -1 : (int64_t)lim, queue);
        } else if (http1_chunked_in_data(&px->ck)) {
            size_t n = lim < px->ck.remaining ? lim : (size_t)px->ck.remaining;
            rc = pxbuf_move(&px->buf, q, in, (int64_t)n, queue);
            http1_chunked_consumed(&px->ck, n);
        } else {
            struct evbuffer_iovec v;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                break;
            long k = http1_chunked_frame(&px->ck, v.iov_base, v.iov_len);
            if (k < 0) {
                fail_try(px, PF_INVALID, "sent an invalid chunked body");
                return;
            }
            evbuffer_drain(in, (size_t)k);
        }
        if (rc < 0 && queue) {
            fail_try(px, PF_ERROR, "could not be buffered (temporary file)");
            return;
        }
    }
    request_on_drain(q, on_client_drain, px);
}

/* The response head arrived: judge it, then start the client's response. */
static void on_head(struct proxy *px)
{
    struct request *q = px->q;
    struct http_resp *rp = &px->rp;
    px->t_head = timing_now();
    q->tm.t[TM_RESP_HEAD] = px->t_head;
    int status = rp->status;
    /* A status proxy_next_upstream lists is a failure only when we move on
     * to another peer; the response passed on to the client is an ordinary
     * one, as nginx's (ngx_http_upstream_test_next, then the state 0 of
     * ngx_http_upstream_finalize_request): the peer is not marked failed
     * for the answer the client gets. */
    int flag = status_flag(status);
    if (px->loc->next_upstream & flag) {
        /* nginx retries only while another peer is left to try */
        bool more = px->tries.ntries < up_npeers(px->g);
        if (more && can_retry(px, flag, true)) {
            /* 403 and 404 move on without counting a failure (nginx's
             * NGX_PEER_NEXT in ngx_http_upstream_next) */
            end_try(px, status == 403 || status == 404 ? UP_OK : UP_FAIL, status, false);
            px->fail_status = 502;
            px_try(px);
            return;
        }
    }
    q->tm.app_us = -1;
    pxbuf_begin(&px->buf, px->loc);
    request_head_begin(q, status, NULL, 0);
    bool expires = f_headers_sets_expires(px->loc, status);
    for (int i = 0; i < rp->nhdrs; i++) {
        const struct req_header *h = &rp->hdrs[i];
        const char *n = h->name;
        size_t l = h->name_len;
        if (HTTP_IEQ(n, l, "x-chain-app-us")) {
            timing_parse_app(&q->tm, h->value, h->value_len);
            continue;
        }
        if (HTTP_IEQ(n, l, "x-accel-buffering"))
            pxbuf_accel(&px->buf, px->loc, h->value, h->value_len);
        if (expires && (HTTP_IEQ(n, l, "expires") || HTTP_IEQ(n, l, "cache-control")))
            continue; /* expires replaces them, as nginx's */
        if (http_hop_by_hop(n, l, &rp->connection) || HTTP_IEQ(n, l, "content-length") ||
            HTTP_IEQ(n, l, "date") || HTTP_IEQ(n, l, "server") || HTTP_IEQ(n, l, "x-pad") ||
            (l >= 8 && HTTP_IEQ(n, 8, "x-accel-")))
            continue;
        request_head_add(q, n, l, h->value, h->value_len);
    }
    bool has_body = http_resp_has_body(rp, &q->r.method);
    int64_t cl = -1;
    if (!has_body) {
        px->rf = RF_NONE;
        if (request_is_head(q))
            cl = rp->content_length;
    } else if (rp->content_length >= 0) {
        px->rf = RF_LENGTH;
        px->left = rp->content_length;
        cl = rp->content_length;
    } else if (rp->chunked) {
        px->rf = RF_CHUNKED;
        http1_chunked_init(&px->ck);
    } else {
        px->rf = RF_EOF;
    }
    px->reusable = !rp->conn_close && px->rf != RF_EOF;
    request_head_end(q, cl, has_body && px->rf != RF_LENGTH);
    px->phase = PX_BODY;
    relay(px);
}

static void on_up_read(struct sock *sk, void *ud)
{
    struct proxy *px = ud;
    struct request *q = px->q;
    request_hold(q);
    struct evbuffer *in = sock_input(sk);
    if (evbuffer_get_length(in) > 0)
        px->got = true;
    while (px->phase == PX_WAIT_HEAD) {
        size_t len = evbuffer_get_length(in);
        if (len == 0)
            break;
        /* past the limit, so that http1_find_head() can tell "too long"
         * from "not complete yet" (as h1.c's st_head) */
        size_t max = (size_t)px->loc->buffer_size; /* proxy_buffer_size */
        size_t want = len < max + 64 ? len : max + 64;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
        struct http1_limits lim = {max, max, HTTP_MAX_HEADERS};
        size_t skip = 0, hl = 0;
        int rc = http1_find_head(p, want, &lim, &skip, &hl);
        if (rc == 0) {
            if (skip) { /* leading empty lines: drop them, look again */
                evbuffer_drain(in, skip);
                continue;
            }
            break;
        }
        if (rc != 1) {
            fail_try(px, PF_INVALID, "sent a too long or invalid header");
            break;
        }
        int pr;
        if (px->uwsgi && (hl < 5 || memcmp(p + skip, "HTTP/", 5) != 0)) {
            int ch = uwsgi_cgi_head(p + skip, hl, &px->tmp);
            if (ch < 0) {
                if (ch == -2)
                    fail_try(px, PF_INVALID, "sent an invalid status");
                else
                    fail_try(px, PF_ERROR, "out of memory");
                break;
            }
            pr = http_parse_response(&px->rp, px->tmp.data, px->tmp.len);
        } else {
            pr = http_parse_response(&px->rp, p + skip, hl);
        }
        evbuffer_drain(in, skip + hl);
        if (pr < 0) {
            char why[160];
            snprintf(why, sizeof(why), "sent an invalid header (%s)",
                     px->rp.why ? px->rp.why : "?");
            fail_try(px, PF_INVALID, why);
            break;
        }
        if (px->rp.status >= 100 && px->rp.status < 200) {
            if (px->rp.status == 101) {
                fail_try(px, PF_INVALID, "switched protocols (not supported)");
                break;
            }
            continue; /* interim responses are not passed on */
        }
        on_head(px);
        break;
    }
    if (px->phase == PX_BODY && px->pc && px->pc->sk == sk && !px->paused)
        relay(px);
    request_release(q);
}

static void on_up_write(struct sock *sk, void *ud)
{
    struct proxy *px = ud;
    (void)sk;
    struct request *q = px->q;
    request_hold(q);
    if (!q->body_done && q->sink)
        request_body_pump(q);
    else if (spool_pending(px) && !spool_fill(px))
        spool_failed(px);
    else if (px->pc && px->phase == PX_WAIT_HEAD && request_body_spool(q) && !spool_pending(px))
        set_connected_timeouts(px); /* all of the body is queued: the read timeout starts */
    request_release(q);
}

static void on_up_event(struct sock *sk, short what, void *ud)
{
    struct proxy *px = ud;
    struct request *q = px->q;
    request_hold(q);
    if (what & SOCK_CONNECTED) {
        px->t_conn = timing_now();
        q->tm.t[TM_CONNECTED] = px->t_conn;
        px->phase = PX_WAIT_HEAD;
        px->sent = true;
        set_connected_timeouts(px);
    } else if (what & SOCK_TIMEOUT) {
        fail_try(px, PF_TIMEOUT, "timed out");
    } else if (what & SOCK_EOF) {
        if (px->phase == PX_BODY && px->rf == RF_EOF) {
            /* the end of a close-delimited body: what is left is bounded by
             * the read watermark (it goes after what the buffer holds) */
            bool queue = pxbuf_len(&px->buf) > 0;
            if (pxbuf_move(&px->buf, q, sock_input(sk), -1, queue) < 0 && queue)
                fail_try(px, PF_ERROR, "could not be buffered (temporary file)");
            else
                complete(px);
        } else {
            fail_try(px, PF_ERROR, "prematurely closed the connection");
        }
    } else if (what & SOCK_ERROR) {
        int e = errno;
        char why[128];
        snprintf(why, sizeof(why), "failed (%d: %s)", e, strerror(e));
        fail_try(px, PF_ERROR, why);
    }
    request_release(q);
}

/* --- a buffered request body to the upstream (h_proxy_body.h) --------------- */

/* Is some of a buffered body still to be queued on the upstream connection? */
static bool spool_pending(struct proxy *px)
{
    return px->pc && px_body_pending(px->q);
}

/* Queues more of it, up to PX_HIGH bytes of output (the rest when the write
 * callback finds the output drained to PX_LOW).  False when it could not be
 * read back (logged). */
static bool spool_fill(struct proxy *px)
{
    return !px->pc || px_body_fill(px->q, sock_output(px->pc->sk), PX_HIGH);
}

/* The buffered body could not be read back: our fault, not the peer's
 * (the try is not counted), and no other peer would fare better. */
static void spool_failed(struct proxy *px)
{
    end_try(px, UP_DISCARD, 0, false);
    request_fail(px->q, 500);
}

/* A try begins: the buffered body goes from its first byte again.  False
 * when it could not be read (the request is answered 500). */
static bool spool_start(struct proxy *px)
{
    px_body_rewind(px->q);
    if (spool_fill(px))
        return true;
    spool_failed(px);
    return false;
}

/* The body was read whole (request_read_body's callback): the tries begin. */
static void on_body_read(struct request *q, void *ud)
{
    struct proxy *px = ud;
    (void)q;
    px_begin(px);
}

/* Starts a try on `peer`: on a pooled connection if one is idle (not when
 * `fresh`), else on a new one; writes the request head and the body (from
 * its spool, or what the replay holds).  1 when the try is under way, 0 when
 * connect() failed at once (errno set), -1 when the buffered body could not
 * be read back (the request was answered 500). */
static int try_peer(struct proxy *px, int peer, bool fresh)
{
    struct request *q = px->q;
    struct req *r = &q->r;
    px->peer = peer;
    px->sent = false;
    px->got = false;
    px->t_try = timing_now();
    px->t_conn = px->t_head = 0;
    q->tm.t[TM_UPSTREAM] = px->t_try;
    q->tm.t[TM_CONNECTED] = 0;
    const char *name = up_peer_name(px->g, peer);
    append_list(&r->upstream_addr, name, strlen(name));

    struct pconn *pc = fresh ? NULL : pool_take(px->loc->upstream, peer);
    if (!pc) {
        pc = pool_connect(request_base(q), px->loc->upstream, peer, up_peer_addr(px->g, peer));
        if (!pc) {
            log_error("connect() to %s failed (%d: %s)", name, errno, strerror(errno));
            return 0;
        }
    }
    px->pc = pc;
    sock_setcb(pc->sk, on_up_read, on_up_write, on_up_event, px);
    if (!pc->reused) { /* a pooled one keeps what its first owner set */
        sock_set_read_high(pc->sk, PX_HIGH);
        sock_set_write_low(pc->sk, PX_LOW);
    }
    if (pc->reused || pc->ready) {
        px->t_conn = pc->reused ? px->t_try : timing_now();
        q->tm.t[TM_CONNECTED] = px->t_conn;
        px->phase = PX_WAIT_HEAD;
        px->sent = true;
        set_connected_timeouts(px);
    } else {
        px->phase = PX_CONNECTING;
        int ms = px->loc->connect_timeout_ms;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        sock_set_timeouts_lazy(pc->sk, NULL, ms > 0 ? &tv : NULL);
    }
    struct evbuffer *out = sock_output(pc->sk);
    evbuffer_add(out, px->req.data, px->req.len);
    /* the body bytes earlier tries consumed, then the rest as it comes */
    if (px->replay && evbuffer_get_length(px->replay) > 0) {
        struct evbuffer_iovec v[16];
        int k = evbuffer_peek(px->replay, -1, NULL, v, 16);
        if (k > 16) {
            /* copy through a linear pull-up */
            size_t n = evbuffer_get_length(px->replay);
            evbuffer_add(out, evbuffer_pullup(px->replay, -1), n);
        } else {
            for (int i = 0; i < k; i++)
                evbuffer_add(out, v[i].iov_base, v[i].iov_len);
        }
    }
    /* a pooled connection's writing is off (pool_put): the request goes
     * out at once, and the write event is armed only if some is left or
     * a body follows */
    if (!spool_start(px))
        return -1;
    int all_out = pc->reused || pc->ready ? px_body_write_now(q, pc->sk, PX_HIGH) : 0;
    if (all_out < 0) {
        spool_failed(px);
        return -1;
    }
    if (!all_out || !q->body_done)
        sock_enable(pc->sk, EV_READ | EV_WRITE);
    else if (!(sock_enabled(pc->sk) & EV_READ))
        sock_enable(pc->sk, EV_READ);
    request_send_continue(q);
    if (!q->body_done)
        request_body_attach(q, out, r->chunked && !px->uwsgi, on_body, px);
    return 1;
}

/* connect() to the try's peer failed at once: a failed try, then another
 * one if proxy_next_upstream allows, else 502. */
static void connect_failed(struct proxy *px)
{
    end_try(px, UP_FAIL, 502, false);
    px->fail_status = 502;
    if (can_retry(px, CF_NEXT_ERROR, true))
        px_try(px);
    else
        request_fail(px->q, 502);
}

/* Starts one try on a peer chosen by the balancer. */
static void px_try(struct proxy *px)
{
    struct request *q = px->q;
    if (px->tries.ntries > 0 && px->loc->next_upstream_timeout_ms > 0 &&
        (timing_now() - px->t_first) * 1000.0 >= px->loc->next_upstream_timeout_ms) {
        request_fail(q, px->fail_status);
        return;
    }
    int peer = up_pick(px->g, &q->r, &px->tries);
    if (peer < 0) {
        if (px->tries.ntries == 0)
            log_error("no live upstreams while connecting to upstream \"%s\"",
                      px->loc->upstream->name);
        request_fail(q, px->fail_status);
        return;
    }
    if (try_peer(px, peer, false) == 0)
        connect_failed(px);
}

static const struct h_ops proxy_ops, uwsgi_ops;

/* Starts proxying q (uwsgi = uwsgi_pass).  May close. */
static void px_start(struct request *q, bool uwsgi)
{
    /* one context for both directives: a connection that alternates
     * between them keeps its buffers */
    struct proxy *px = request_ctx(q, &proxy_ops);
    if (!px) {
        px = calloc(1, sizeof(*px));
        if (!px) {
            request_fail(q, 500);
            return;
        }
        http_resp_init(&px->rp);
        px->peer = -1;
        request_set_ctx(q, &proxy_ops, px);
    }
    const struct cf_loc *loc = q->r.loc;
    px->q = q;
    px->uwsgi = uwsgi;
    px->loc = loc;
    px->g = loc->upstream ? loc->upstream->rt : NULL;
    px->peer = -1;
    px->phase = PX_IDLE;
    px->fail_status = 502;
    px->paused = false;
    if (!px->g) {
        log_error("upstream of %s:%d is not initialised", loc->where.file, loc->where.line);
        request_fail(q, 500);
        return;
    }
    if (px_body_buffered(q, loc, uwsgi)) {
        request_read_body(q, on_body_read, px); /* the tries begin once it is in */
        return;
    }
    px_begin(px);
}

/* Builds the upstream request and starts the first try. */
static void px_begin(struct proxy *px)
{
    struct request *q = px->q;
    const struct cf_loc *loc = px->loc;
    bool uwsgi = px->uwsgi;
    px->t_first = timing_now();
    if (uwsgi && q->r.chunked) {
        /* the uwsgi protocol needs CONTENT_LENGTH, and a body with transfer
         * codings is not buffered (px_body_buffered) */
        request_fail(q, 411);
        return;
    }
    int rc = uwsgi ? uwsgi_build_request(loc, &q->r, &px->req, &px->tmp)
                   : px_build_http_request(&q->r, &q->hp.te_codings, loc, &px->req, &px->tmp);
    if (rc < 0) {
        log_error("cannot build the upstream request (too large or out of memory)");
        request_fail(q, 500);
        return;
    }
    /* the previous request's body copy must never reach this one's upstream */
    if (px->replay)
        evbuffer_drain(px->replay, evbuffer_get_length(px->replay));
    if (!q->body_done) {
        if (!px->replay)
            px->replay = evbuffer_new();
        request_body_tee(q, px->replay, PX_REPLAY_MAX);
        request_body_pause(q); /* hold the body until a connection exists */
    }
    if (px->tries_live)
        up_try_free(&px->tries);
    up_try_init(&px->tries, px->g);
    px->tries_live = true;
    px_try(px);
}

static void proxy_start(struct request *q)
{
    px_start(q, false);
}

static void uwsgi_start(struct request *q)
{
    px_start(q, true);
}

/* The client connection is closing: abandons the upstream try (not counted
 * as a failure) and frees the upstream connection; px stays allocated. */
static void proxy_abort(struct request *q)
{
    struct proxy *px = request_ctx(q, &proxy_ops);
    if (!px)
        return;
    if (px->peer >= 0 || px->pc)
        end_try(px, UP_DISCARD, 0, false);
    pxbuf_reset(&px->buf);
    px->phase = PX_IDLE;
    if (px->tries_live) {
        up_try_free(&px->tries);
        px->tries_live = false;
    }
}

static void proxy_trim(void *ctx, size_t keep)
{
    struct proxy *px = ctx;
    if (px->req.cap > keep)
        buf_free(&px->req);
    if (px->tmp.cap > keep)
        buf_free(&px->tmp);
    if (px->rp.head.cap > keep)
        http_resp_free(&px->rp);
}

static void proxy_free(void *ctx)
{
    struct proxy *px = ctx;
    if (px->pc)
        pool_free(px->pc);
    if (px->tries_live)
        up_try_free(&px->tries);
    http_resp_free(&px->rp);
    buf_free(&px->req);
    buf_free(&px->tmp);
    if (px->replay)
        evbuffer_free(px->replay);
    pxbuf_free(&px->buf);
    free(px);
}

static const struct h_ops proxy_ops = {
    .name = "proxy_pass",
    .start = proxy_start,
    .abort = proxy_abort,
    .free = proxy_free,
    .trim = proxy_trim,
};

/* uwsgi_pass: the same handler with the uwsgi packet; its context is kept
 * under proxy_ops (request_set_ctx above), so abort/free/trim are that
 * table's. */
static const struct h_ops uwsgi_ops = {
    .name = "uwsgi_pass",
    .start = uwsgi_start,
    .abort = proxy_abort,
    .free = proxy_free,
    .trim = proxy_trim,
};

int h_proxy_init(void)
{
    if (h_register(&proxy_ops) < 0 || h_register(&uwsgi_ops) < 0)
        return -1;
    return 0;
}
