/* proxy_http: proxy_pass / uwsgi_pass (see proxy_http.h).
 *
 * One struct proxy per client connection, reused by its requests.  A request
 * goes through tries: pick a peer (upstream.h), take a pooled connection or
 * connect, write the request head (or uwsgi packet) and stream the body, read
 * the response head, then relay the body to the client.  A try that fails
 * before anything reached the client may be followed by another, as
 * proxy_next_upstream says; the request body is then replayed from a copy kept
 * while it is small (nginx buffers it; we stream, so a large body that already
 * left cannot be sent twice and the client gets the error). */
#define _GNU_SOURCE
#include "h_proxy.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bevio.h"
#include "conn.h"
#include "http.h"
#include "httpmethod.h"
#include "log.h"
#include "pool.h"
#include "h_uwsgi.h"
#include "timing.h"
#include "upstream.h"
#include "vars.h"
#include "worker.h"

#define PX_HIGH       (256 * 1024) /* upstream input: stop reading above */
#define PX_LOW        (64 * 1024)  /* upstream output: ask for more body below */
#define PX_REPLAY_MAX (64 * 1024)  /* request bodies up to this size can be retried */

enum px_phase {
    PX_IDLE,       /* no try in progress */
    PX_CONNECTING, /* connect() in progress */
    PX_WAIT_HEAD,  /* connected: request going out, response head awaited */
    PX_BODY,       /* response head sent to the client, body relayed */
};

enum px_framing { RF_NONE, RF_LENGTH, RF_CHUNKED, RF_EOF };

enum px_fail { PF_ERROR, PF_TIMEOUT, PF_INVALID };

struct proxy {
    struct conn *c;
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
    double t_first, t_try, t_conn, t_head;
    int fail_status; /* what to answer when no try is left: 502 or 504 */
    enum px_framing rf;
    int64_t left;
    struct http_chunked ck;
    bool reusable;
    bool paused; /* upstream reading stopped: the client output is full */
};

static void px_try(struct proxy *px);
static void relay(struct proxy *px);

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

/* Ends the current try: fills $upstream_status and the times, tells
 * upstream.c, and releases or frees the connection. */
static void end_try(struct proxy *px, enum up_result res, int status, bool keep_conn)
{
    struct req *r = &px->c->q->r;
    double now = timing_now();
    if (status > 0) {
        char st[FMT_U64_MAX];
        append_list(&r->upstream_status, st, fmt_u64(st, (uint64_t)status));
    } else {
        append_list(&r->upstream_status, "-", 1);
    }
    append_secs(&r->upstream_connect_time, px->t_try, px->t_conn);
    append_secs(&r->upstream_header_time, px->t_try, px->t_head);
    append_secs(&r->upstream_response_time, px->t_try, now);
    struct up_timing tm = {
        px->t_conn > 0 ? px->t_conn - px->t_try : -1,
        px->t_head > 0 ? px->t_head - px->t_try : -1,
        now - px->t_try,
    };
    if (px->peer >= 0)
        up_done(px->g, px->peer, res, &tm);
    px->peer = -1;
    if (px->pc && px->c->q->sink == bufferevent_get_output(px->pc->bev))
        conn_body_pause(px->c); /* the sink goes away with the connection */
    if (px->pc) {
        if (keep_conn)
            pool_put(px->pc);
        else
            pool_free(px->pc);
        px->pc = NULL;
    }
    px->phase = PX_IDLE;
    px->paused = false;
}

static bool flag_for_status(const struct cf_loc *loc, int status)
{
    int f = loc->next_upstream;
    switch (status) {
    case 500:
        return f & CF_NEXT_HTTP_500;
    case 502:
        return f & CF_NEXT_HTTP_502;
    case 503:
        return f & CF_NEXT_HTTP_503;
    case 504:
        return f & CF_NEXT_HTTP_504;
    case 429:
        return f & CF_NEXT_HTTP_429;
    case 403:
        return f & CF_NEXT_HTTP_403;
    case 404:
        return f & CF_NEXT_HTTP_404;
    default:
        return false;
    }
}

/* May another try follow a failure of kind `flag`? */
static bool can_retry(struct proxy *px, int flag)
{
    const struct cf_loc *loc = px->loc;
    struct conn *c = px->c;
    if ((loc->next_upstream & CF_NEXT_OFF) || !(loc->next_upstream & flag))
        return false;
    if (c->q->head_sent)
        return false;
    if (loc->next_upstream_tries > 0 && px->tries.ntries >= loc->next_upstream_tries)
        return false;
    if (loc->next_upstream_timeout_ms > 0 &&
        (timing_now() - px->t_first) * 1000.0 >= loc->next_upstream_timeout_ms)
        return false;
    bool idempotent = !(method_is(&c->q->r, "POST") || method_is(&c->q->r, "PATCH") ||
                        method_is(&c->q->r, "LOCK"));
    if (px->sent && !idempotent && !(loc->next_upstream & CF_NEXT_NON_IDEMPOTENT))
        return false;
    if (c->q->body_read > 0 && c->q->tee_overflow)
        return false; /* part of the body is gone and cannot be sent again */
    return true;
}

/* The try failed before a response reached the client. */
static void fail_try(struct proxy *px, enum px_fail kind, const char *why)
{
    struct conn *c = px->c;
    int status = kind == PF_TIMEOUT ? 504 : 502;
    int flag = kind == PF_TIMEOUT   ? CF_NEXT_TIMEOUT
               : kind == PF_INVALID ? CF_NEXT_INVALID_HEADER
                                    : CF_NEXT_ERROR;
    log_error("upstream %s %s while %s, client request \"%.*s\"",
              px->peer >= 0 ? up_peer_name(px->g, px->peer) : "?", why,
              px->phase == PX_CONNECTING  ? "connecting"
              : px->phase == PX_WAIT_HEAD ? "reading the response header"
                                          : "reading the response",
              (int)c->q->r.request_line.len, c->q->r.request_line.p);
    bool in_body = px->phase == PX_BODY;
    end_try(px, UP_FAIL, status, false);
    if (in_body || c->q->head_sent) {
        conn_close(c); /* the client has part of a response: it can only see it cut */
        return;
    }
    px->fail_status = status;
    if (can_retry(px, flag)) {
        px_try(px);
        return;
    }
    conn_fail(c, status);
}

/* Writes the URI the upstream gets: the original one, or with the location
 * prefix replaced by proxy_pass's URI part (nginx semantics). */
static int build_uri(struct proxy *px, struct buf *b)
{
    const struct req *r = &px->c->q->r;
    const struct cf_loc *loc = px->loc;
    if (!loc->pass_uri)
        return buf_append(b, r->request_uri.p, r->request_uri.len);
    static const char hex[] = "0123456789ABCDEF";
    size_t skip = loc->path_len < r->uri.len ? loc->path_len : r->uri.len;
    if (buf_puts(b, loc->pass_uri) < 0)
        return -1;
    for (size_t i = skip; i < r->uri.len; i++) {
        unsigned char ch = (unsigned char)r->uri.p[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '?' || ch == '#' || ch == '"') {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            if (buf_append(b, e, 3) < 0)
                return -1;
        } else if (buf_append(b, &r->uri.p[i], 1) < 0) {
            return -1;
        }
    }
    if (r->args.p && (buf_append(b, "?", 1) < 0 || buf_append(b, r->args.p, r->args.len) < 0))
        return -1;
    return 0;
}

static bool in_set_headers(const struct cf_loc *loc, const char *name, size_t len)
{
    for (int i = 0; i < loc->nproxy_headers; i++) {
        const char *n = loc->proxy_headers[i].name;
        if (strlen(n) == len && strncasecmp(n, name, len) == 0)
            return true;
    }
    return false;
}

/* The HTTP/1.x request head for the upstream, nginx's way: proxy_set_header
 * first (empty values dropped), then the client's fields minus hop-by-hop
 * ones, the ones proxy_set_header replaced and the framing we redo. */
static int build_http_request(struct proxy *px)
{
    const struct req *r = &px->c->q->r;
    const struct cf_loc *loc = px->loc;
    struct buf *b = &px->req;
    const struct cf_upstream *up = loc->upstream;
    int minor = (loc->proxy_http_version >= 11 || r->chunked) ? 1 : 0;
    bool pooled = up->keepalive > 0 && minor == 1;
    buf_reset(b);
    if (buf_append(b, r->method.p, r->method.len) < 0 || buf_append(b, " ", 1) < 0 ||
        build_uri(px, b) < 0 || buf_puts(b, minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n") < 0)
        return -1;
    bool host_set = false;
    for (int i = 0; i < loc->nproxy_headers; i++) {
        const struct cf_header *h = &loc->proxy_headers[i];
        buf_reset(&px->tmp);
        if (tmpl_eval(h->value, r, &px->tmp, CF_ESC_NONE) < 0)
            return -1;
        if (strcasecmp(h->name, "Host") == 0)
            host_set = true;
        if (px->tmp.len == 0)
            continue;
        if (pooled && strcasecmp(h->name, "Connection") == 0 && px->tmp.len == 5 &&
            strncasecmp(px->tmp.data, "close", 5) == 0)
            continue; /* a pooled HTTP/1.1 connection stays open by default */
        if (buf_puts(b, h->name) < 0 || buf_append(b, ": ", 2) < 0 ||
            buf_append(b, px->tmp.data, px->tmp.len) < 0 || buf_append(b, "\r\n", 2) < 0)
            return -1;
    }
    if (!host_set && loc->proxy_host && buf_printf(b, "Host: %s\r\n", loc->proxy_host) < 0)
        return -1;
    if (!pooled && !in_set_headers(loc, "Connection", 10) &&
        buf_puts(b, "Connection: close\r\n") < 0)
        return -1;
    const struct req_header *connh = req_find_header(r, "Connection", 10);
    struct req_str conn = {connh ? connh->value : NULL, connh ? connh->value_len : 0};
    for (int i = 0; i < r->nheaders; i++) {
        const struct req_header *h = &r->headers[i];
        if (http_hop_by_hop(h->name, h->name_len, &conn) ||
            in_set_headers(loc, h->name, h->name_len))
            continue;
        if (HTTP_IEQ(h->name, h->name_len, "content-length") ||
            HTTP_IEQ(h->name, h->name_len, "expect") || HTTP_IEQ(h->name, h->name_len, "host"))
            continue;
        if (buf_append(b, h->name, h->name_len) < 0 || buf_append(b, ": ", 2) < 0 ||
            buf_append(b, h->value, h->value_len) < 0 || buf_append(b, "\r\n", 2) < 0)
            return -1;
    }
    if (r->chunked) {
        const struct req_str *te = &px->c->q->hp.te_codings;
        if (te->len ? buf_printf(b, "Transfer-Encoding: %.*s, chunked\r\n", (int)te->len, te->p) < 0
                    : buf_puts(b, "Transfer-Encoding: chunked\r\n") < 0)
            return -1;
    } else if (r->content_length >= 0) {
        if (buf_puts(b, "Content-Length: ") < 0 ||
            buf_append_u64(b, (uint64_t)r->content_length) < 0 || buf_append(b, "\r\n", 2) < 0)
            return -1;
    }
    return buf_append(b, "\r\n", 2);
}

/* --- upstream callbacks ---------------------------------------------------- */

static void on_body(void *ud, bool done)
{
    struct proxy *px = ud;
    if (done && px->pc && px->phase == PX_WAIT_HEAD && px->loc->read_timeout_ms > 0) {
        /* proxy_read_timeout counts from the end of the request */
        int ms = px->loc->read_timeout_ms, sm = px->loc->proxy_send_timeout_ms;
        struct timeval rt = {ms / 1000, (ms % 1000) * 1000};
        struct timeval wt = {sm / 1000, (sm % 1000) * 1000};
        bevio_set_timeouts(px->pc->bev, &rt, sm > 0 ? &wt : NULL);
    }
}

static void set_connected_timeouts(struct proxy *px)
{
    int ms = px->loc->read_timeout_ms, sm = px->loc->proxy_send_timeout_ms;
    struct timeval rt = {ms / 1000, (ms % 1000) * 1000};
    struct timeval wt = {sm / 1000, (sm % 1000) * 1000};
    bool reading = px->c->q->body_done;
    bevio_set_timeouts(px->pc->bev, reading && ms > 0 ? &rt : NULL, sm > 0 ? &wt : NULL);
}

static void complete(struct proxy *px)
{
    struct conn *c = px->c;
    bool sent_all =
        c->q->body_done && px->pc && evbuffer_get_length(bufferevent_get_output(px->pc->bev)) == 0;
    bool keep = px->reusable && sent_all && !px->uwsgi;
    end_try(px, UP_OK, px->rp.status, keep);
    if (!c->q->body_done) {
        /* the upstream answered before the whole body came: drop the rest */
        c->q->sink = NULL;
        c->q->sink_wait = false;
        c->q->on_body = NULL;
    }
    c->q->tee = NULL;
    conn_response_done(c);
}

static void on_client_drain(void *ud)
{
    struct proxy *px = ud;
    if (px->phase != PX_BODY || !px->pc)
        return;
    if (px->paused) {
        px->paused = false;
        bufferevent_enable(px->pc->bev, EV_READ);
    }
    relay(px);
}

/* Moves response body bytes to the client while its output has room. */
static void relay(struct proxy *px)
{
    struct conn *c = px->c;
    struct evbuffer *in = bufferevent_get_input(px->pc->bev);
    for (;;) {
        if (px->rf == RF_NONE || (px->rf == RF_LENGTH && px->left == 0) ||
            (px->rf == RF_CHUNKED && http_chunked_done(&px->ck))) {
            complete(px);
            return;
        }
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            break;
        if (conn_output_full(c)) {
            px->paused = true;
            bufferevent_disable(px->pc->bev, EV_READ);
            c->q->on_drain = on_client_drain;
            c->q->drain_ud = px;
            return;
        }
        if (px->rf == RF_LENGTH) {
            size_t n = (int64_t)avail < px->left ? avail : (size_t)px->left;
            conn_body_out(c, in, (int64_t)n);
            px->left -= (int64_t)n;
        } else if (px->rf == RF_EOF) {
            conn_body_out(c, in, -1);
        } else if (http_chunked_in_data(&px->ck)) {
            size_t n = avail < px->ck.remaining ? avail : (size_t)px->ck.remaining;
            conn_body_out(c, in, (int64_t)n);
            http_chunked_consumed(&px->ck, n);
        } else {
            struct evbuffer_iovec v;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                break;
            long k = http_chunked_frame(&px->ck, v.iov_base, v.iov_len);
            if (k < 0) {
                fail_try(px, PF_INVALID, "sent an invalid chunked body");
                return;
            }
            evbuffer_drain(in, (size_t)k);
        }
    }
    c->q->on_drain = on_client_drain;
    c->q->drain_ud = px;
}

/* CGI style heads ("Status: 404 Not Found" instead of a status line), as
 * uWSGI and nginx's uwsgi module accept them: rewritten into a status line. */
static int cgi_head(struct proxy *px, const char *p, size_t hl, struct buf *out)
{
    int status = 200;
    const char *s = p, *end = p + hl;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e)
            break;
        if ((size_t)(e - s) > 7 && strncasecmp(s, "Status:", 7) == 0) {
            const char *v = s + 7;
            while (v < e && *v == ' ')
                v++;
            if (e - v >= 3 && v[0] >= '1' && v[0] <= '5')
                status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
        }
        s = e + 1;
    }
    (void)px;
    buf_reset(out);
    if (buf_printf(out, "HTTP/1.0 %d %s\r\n", status, conn_status_text(status)) < 0 ||
        buf_append(out, p, hl) < 0)
        return -1;
    return 0;
}

/* The response head arrived: judge it, then start the client's response. */
static void on_head(struct proxy *px)
{
    struct conn *c = px->c;
    struct http_resp *rp = &px->rp;
    px->t_head = timing_now();
    c->q->tm.t[TM_RESP_HEAD] = px->t_head;
    int status = rp->status;
    /* A status proxy_next_upstream lists is a failure only when we move on
     * to another peer; the response passed on to the client is an ordinary
     * one, as nginx's (ngx_http_upstream_test_next, then the state 0 of
     * ngx_http_upstream_finalize_request): the peer is not marked failed
     * for the answer the client gets. */
    if (flag_for_status(px->loc, status)) {
        /* nginx retries only while another peer is left to try */
        bool more = px->tries.ntries < up_npeers(px->g);
        if (more && can_retry(px, status == 500   ? CF_NEXT_HTTP_500
                                  : status == 502 ? CF_NEXT_HTTP_502
                                  : status == 503 ? CF_NEXT_HTTP_503
                                  : status == 504 ? CF_NEXT_HTTP_504
                                  : status == 429 ? CF_NEXT_HTTP_429
                                  : status == 403 ? CF_NEXT_HTTP_403
                                                  : CF_NEXT_HTTP_404)) {
            /* 403 and 404 move on without counting a failure (nginx's
             * NGX_PEER_NEXT in ngx_http_upstream_next) */
            end_try(px, status == 403 || status == 404 ? UP_OK : UP_FAIL, status, false);
            px->fail_status = 502;
            px_try(px);
            return;
        }
    }
    c->q->tm.app_us = -1;
    conn_head_begin(c, status, NULL, 0);
    bool expires = conn_sets_expires(px->loc, status);
    for (int i = 0; i < rp->nhdrs; i++) {
        const struct req_header *h = &rp->hdrs[i];
        const char *n = h->name;
        size_t l = h->name_len;
        if (HTTP_IEQ(n, l, "x-chain-app-us")) {
            timing_parse_app(&c->q->tm, h->value, h->value_len);
            continue;
        }
        if (expires && (HTTP_IEQ(n, l, "expires") || HTTP_IEQ(n, l, "cache-control")))
            continue; /* expires replaces them, as nginx's */
        if (http_hop_by_hop(n, l, &rp->connection) || HTTP_IEQ(n, l, "content-length") ||
            HTTP_IEQ(n, l, "date") || HTTP_IEQ(n, l, "server") || HTTP_IEQ(n, l, "x-pad") ||
            (l >= 8 && HTTP_IEQ(n, 8, "x-accel-")))
            continue;
        conn_head_add(c, n, l, h->value, h->value_len);
    }
    bool has_body = http_resp_has_body(rp, &c->q->r.method);
    int64_t cl = -1;
    if (!has_body) {
        px->rf = RF_NONE;
        if (method_is(&c->q->r, "HEAD"))
            cl = rp->content_length;
    } else if (rp->content_length >= 0) {
        px->rf = RF_LENGTH;
        px->left = rp->content_length;
        cl = rp->content_length;
    } else if (rp->chunked) {
        px->rf = RF_CHUNKED;
        http_chunked_init(&px->ck);
    } else {
        px->rf = RF_EOF;
    }
    px->reusable = !rp->conn_close && px->rf != RF_EOF;
    conn_head_end(c, cl, has_body && px->rf != RF_LENGTH);
    px->phase = PX_BODY;
    relay(px);
}

static void on_up_read(struct bufferevent *bev, void *ud)
{
    struct proxy *px = ud;
    struct conn *c = px->c;
    conn_hold(c);
    struct evbuffer *in = bufferevent_get_input(bev);
    while (px->phase == PX_WAIT_HEAD) {
        size_t len = evbuffer_get_length(in);
        if (len == 0)
            break;
        /* past the limit, so that http_find_head() can tell "too long"
         * from "not complete yet" (as conn.c's st_head) */
        size_t max = (size_t)px->loc->buffer_size; /* proxy_buffer_size */
        size_t want = len < max + 64 ? len : max + 64;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
        struct http_limits lim = {max, max};
        size_t skip = 0, hl = 0;
        int rc = http_find_head(p, want, &lim, &skip, &hl);
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
            if (cgi_head(px, p + skip, hl, &px->tmp) < 0) {
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
    if (px->phase == PX_BODY && px->pc && px->pc->bev == bev && !px->paused)
        relay(px);
    conn_release(c);
}

static void on_up_write(struct bufferevent *bev, void *ud)
{
    struct proxy *px = ud;
    (void)bev;
    struct conn *c = px->c;
    conn_hold(c);
    if (!c->q->body_done && c->q->sink)
        conn_body_pump(c);
    conn_release(c);
}

static void on_up_event(struct bufferevent *bev, short what, void *ud)
{
    struct proxy *px = ud;
    struct conn *c = px->c;
    (void)bev;
    conn_hold(c);
    if (what & BEV_EVENT_CONNECTED) {
        px->t_conn = timing_now();
        c->q->tm.t[TM_CONNECTED] = px->t_conn;
        px->phase = PX_WAIT_HEAD;
        px->sent = true;
        set_connected_timeouts(px);
    } else if (what & BEV_EVENT_TIMEOUT) {
        fail_try(px, PF_TIMEOUT, "timed out");
    } else if (what & BEV_EVENT_EOF) {
        if (px->phase == PX_BODY && px->rf == RF_EOF) {
            /* the end of a close-delimited body: what is left is bounded by
             * the read watermark */
            conn_body_out(c, bufferevent_get_input(bev), -1);
            complete(px);
        } else {
            fail_try(px, PF_ERROR, "prematurely closed the connection");
        }
    } else if (what & BEV_EVENT_ERROR) {
        int e = EVUTIL_SOCKET_ERROR();
        char why[128];
        snprintf(why, sizeof(why), "failed (%d: %s)", e, evutil_socket_error_to_string(e));
        fail_try(px, PF_ERROR, why);
    }
    conn_release(c);
}

/* Starts one try on a peer chosen by the balancer. */
static void px_try(struct proxy *px)
{
    struct conn *c = px->c;
    struct req *r = &c->q->r;
    for (;;) {
        if (px->tries.ntries > 0 && px->loc->next_upstream_timeout_ms > 0 &&
            (timing_now() - px->t_first) * 1000.0 >= px->loc->next_upstream_timeout_ms) {
            conn_fail(c, px->fail_status);
            return;
        }
        int peer = up_pick(px->g, r, &px->tries);
        if (peer < 0) {
            if (px->tries.ntries == 0)
                log_error("no live upstreams while connecting to upstream \"%s\"",
                          px->loc->upstream->name);
            conn_fail(c, px->fail_status);
            return;
        }
        px->peer = peer;
        px->sent = false;
        px->t_try = timing_now();
        px->t_conn = px->t_head = 0;
        c->q->tm.t[TM_UPSTREAM] = px->t_try;
        c->q->tm.t[TM_CONNECTED] = 0;
        const char *name = up_peer_name(px->g, peer);
        append_list(&r->upstream_addr, name, strlen(name));

        struct pconn *pc = pool_take(px->loc->upstream, peer);
        if (!pc) {
            pc = pool_connect(c->w->base, px->loc->upstream, peer, up_peer_addr(px->g, peer));
            if (!pc) {
                log_error("connect() to %s failed (%d: %s)", name, errno, strerror(errno));
                end_try(px, UP_FAIL, 502, false);
                px->fail_status = 502;
                if (!can_retry(px, CF_NEXT_ERROR)) {
                    conn_fail(c, 502);
                    return;
                }
                continue;
            }
        }
        px->pc = pc;
        bufferevent_setcb(pc->bev, on_up_read, on_up_write, on_up_event, px);
        if (!pc->reused) { /* a pooled one keeps what its first owner set */
            bevio_set_read_high(pc->bev, PX_HIGH);
            bufferevent_setwatermark(pc->bev, EV_WRITE, PX_LOW, 0);
        }
        if (pc->reused || pc->ready) {
            px->t_conn = pc->reused ? px->t_try : timing_now();
            c->q->tm.t[TM_CONNECTED] = px->t_conn;
            px->phase = PX_WAIT_HEAD;
            px->sent = true;
            set_connected_timeouts(px);
        } else {
            px->phase = PX_CONNECTING;
            int ms = px->loc->connect_timeout_ms;
            struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
            bevio_set_timeouts(pc->bev, NULL, ms > 0 ? &tv : NULL);
        }
        struct evbuffer *out = bufferevent_get_output(pc->bev);
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
        if (!(pc->reused || pc->ready) || !bevio_write_now(pc->bev, true) || !c->q->body_done)
            bufferevent_enable(pc->bev, EV_READ | EV_WRITE);
        else if (!(bufferevent_get_enabled(pc->bev) & EV_READ))
            bufferevent_enable(pc->bev, EV_READ);
        conn_send_continue(c);
        if (!c->q->body_done)
            conn_body_attach(c, out, r->chunked && !px->uwsgi, on_body, px);
        return;
    }
}

void proxy_start(struct conn *c, bool uwsgi)
{
    struct proxy *px = c->q->px;
    if (!px) {
        px = calloc(1, sizeof(*px));
        if (!px) {
            conn_fail(c, 500);
            return;
        }
        http_resp_init(&px->rp);
        px->peer = -1;
        c->q->px = px;
    }
    const struct cf_loc *loc = c->q->r.loc;
    px->c = c;
    px->uwsgi = uwsgi;
    px->loc = loc;
    px->g = loc->upstream ? loc->upstream->rt : NULL;
    px->peer = -1;
    px->phase = PX_IDLE;
    px->fail_status = 502;
    px->paused = false;
    px->t_first = timing_now();
    if (!px->g) {
        log_error("upstream of %s:%d is not initialised", loc->where.file, loc->where.line);
        conn_fail(c, 500);
        return;
    }
    if (uwsgi && c->q->r.chunked) {
        /* the uwsgi protocol needs CONTENT_LENGTH; nginx would buffer the body */
        conn_fail(c, 411);
        return;
    }
    int rc =
        uwsgi ? uwsgi_build_request(loc, &c->q->r, &px->req, &px->tmp) : build_http_request(px);
    if (rc < 0) {
        log_error("cannot build the upstream request (too large or out of memory)");
        conn_fail(c, 500);
        return;
    }
    /* the previous request's body copy must never reach this one's upstream */
    if (px->replay)
        evbuffer_drain(px->replay, evbuffer_get_length(px->replay));
    if (!c->q->body_done) {
        if (!px->replay)
            px->replay = evbuffer_new();
        if (px->replay) {
            c->q->tee = px->replay;
            c->q->tee_max = PX_REPLAY_MAX;
            c->q->tee_overflow = false;
        } else {
            c->q->tee_overflow = true;
        }
        c->q->sink_wait = true; /* hold the body until a connection exists */
    }
    if (px->tries_live)
        up_try_free(&px->tries);
    up_try_init(&px->tries, px->g);
    px->tries_live = true;
    px_try(px);
}

void proxy_abort(struct conn *c)
{
    struct proxy *px = c->q->px;
    if (!px)
        return;
    if (px->peer >= 0 || px->pc)
        end_try(px, UP_DISCARD, 0, false);
    if (px->tries_live) {
        up_try_free(&px->tries);
        px->tries_live = false;
    }
}

void proxy_trim(struct proxy *px, size_t keep)
{
    if (px->req.cap > keep)
        buf_free(&px->req);
    if (px->tmp.cap > keep)
        buf_free(&px->tmp);
    if (px->rp.head.cap > keep)
        http_resp_free(&px->rp);
}

void proxy_free(struct proxy *px)
{
    if (px->pc)
        pool_free(px->pc);
    if (px->tries_live)
        up_try_free(&px->tries);
    http_resp_free(&px->rp);
    buf_free(&px->req);
    buf_free(&px->tmp);
    if (px->replay)
        evbuffer_free(px->replay);
    free(px);
}
