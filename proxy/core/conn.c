/* conn: the client connection state machine (see conn.h).
 *
 * One libevent bufferevent per connection.  The read callback dispatches on
 * the state (head parsing, body pumping, lingering); the write callback ends
 * a response when the output has drained or tells a handler it may feed more;
 * a timer carries the deadlines that are not per-read (header, keep-alive,
 * linger).  conn_set_state() is the only place the state changes and sets up
 * what each state needs. */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accesslog.h"
#include "bevio.h"
#include "httpmethod.h"
#include "log.h"
#include "h_proxy.h"
#include "route.h"
#include "h_static.h"
#include "h_status.h"
#include "vars.h"
#include "worker.h"

#define CONN_HIGH      (256 * 1024) /* client output / body sink: stop feeding above */
#define CONN_LOW       (64 * 1024)  /* ... resume below */
#define CONN_READ_WM   (256 * 1024) /* client input: stop reading above */
#define LINGER_MS      2000         /* lingering close: how long to drop unread bytes */
#define SERVER_NAME    "proxy"
#define SERVER_VERSION "proxy/0.1"

static void conn_set_state(struct conn *c, enum conn_state st);
static void st_head(struct conn *c);
static void try_flush(struct conn *c);
static void finish_request(struct conn *c);
static void conn_free(struct conn *c);

const char *conn_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Moved Temporarily";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Not Allowed";
    case 408:
        return "Request Time-out";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request-URI Too Large";
    case 416:
        return "Requested Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Temporarily Unavailable";
    case 504:
        return "Gateway Time-out";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 300   ? "OK"
               : status < 400 ? "Redirect"
               : status < 500 ? "Client Error"
                              : "Server Error";
    }
}

/* The location whose settings apply now: the routed one, else the default
 * server's. */
static const struct cf_loc *cur_loc(const struct conn *c)
{
    return c->q && c->q->r.loc ? c->q->r.loc : c->defsrv->def_loc;
}

struct evbuffer *conn_output(struct conn *c)
{
    return bufferevent_get_output(c->bev);
}

bool conn_output_full(struct conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev)) >= CONN_HIGH;
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

/* The bufferevent's read and write timeouts; set only when they change
 * (each call re-adds both events: the same values in every state of a
 * keep-alive request would cost four timer-heap operations per request). */
static void set_read_timeout(struct conn *c, int ms)
{
    int sm = cur_loc(c)->send_timeout_ms;
    ms = ms > 0 ? ms : 0;
    sm = sm > 0 ? sm : 0;
    if (ms == c->rt_ms && sm == c->wt_ms)
        return;
    c->rt_ms = ms;
    c->wt_ms = sm;
    struct timeval rt = {ms / 1000, (ms % 1000) * 1000};
    struct timeval wt = {sm / 1000, (sm % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, ms > 0 ? &rt : NULL, sm > 0 ? &wt : NULL);
}

/* The only place the state changes.  Each state arms its own deadline and
 * read interest; see enum conn_state for where each may go next. */
static void conn_set_state(struct conn *c, enum conn_state st)
{
    c->st = st;
    switch (st) {
    case CONN_ST_IDLE:
        set_read_timeout(c, 0);
        set_timer(c, cur_loc(c)->keepalive_timeout_ms);
        bufferevent_setwatermark(c->bev, EV_WRITE, CONN_LOW, 0);
        break;
    case CONN_ST_HEAD:
        set_read_timeout(c, 0);
        /* client_header_timeout is armed by st_head() once it has to wait
         * for more of the head: a head that came whole, the usual keep-alive
         * request, costs no timer operation (the keep-alive one left armed
         * until then cannot fire before st_head() runs) */
        c->head_timer = false;
        break;
    case CONN_ST_ACTIVE:
        evtimer_del(c->timer);
        bufferevent_setwatermark(c->bev, EV_WRITE, CONN_LOW, 0);
        /* reading stays on (pipelined bytes wait in the input, bounded by the
         * read watermark): toggling it would cost two epoll_ctl per request */
        set_read_timeout(c, c->q->body_done ? 0 : cur_loc(c)->client_body_timeout_ms);
        break;
    case CONN_ST_FLUSH:
        set_read_timeout(c, 0);
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
        break;
    case CONN_ST_LINGER: {
        set_read_timeout(c, 0);
        set_timer(c, LINGER_MS);
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        if (fd >= 0 && shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN)
            log_debug("shutdown: %s", strerror(errno));
        evbuffer_drain(bufferevent_get_input(c->bev),
                       evbuffer_get_length(bufferevent_get_input(c->bev)));
        bufferevent_enable(c->bev, EV_READ);
        break;
    }
    }
}

/* --- closing ------------------------------------------------------------- */

/* --- the request state cache --------------------------------------------- */

#define CREQ_CACHE_MAX  256         /* released creqs kept for reuse (per process) */
#define CREQ_KEEP_BYTES (16 * 1024) /* a head buffer larger than this is not kept */

static struct creq *creq_cache;
static int creq_ncache;

static void creq_free(struct creq *q)
{
    if (q->px)
        proxy_free(q->px);
    http_reqp_free(&q->hp);
    req_free(&q->r);
    buf_free(&q->head);
    free(q);
}

/* A request state for a new request: cached (buffers kept) or new; NULL
 * when memory runs out.  The caller resets it (reset_request). */
static struct creq *creq_get(void)
{
    struct creq *q = creq_cache;
    if (q) {
        creq_cache = q->next_free;
        creq_ncache--;
        q->next_free = NULL;
        return q;
    }
    q = calloc(1, sizeof(*q));
    if (q)
        http_reqp_init(&q->hp);
    return q;
}

/* Takes q back once its request is over and nothing refers to it. */
static void creq_put(struct creq *q)
{
    if (creq_ncache >= CREQ_CACHE_MAX) {
        creq_free(q);
        return;
    }
    if (q->hp.head.cap > CREQ_KEEP_BYTES) /* a rare huge head: give it back */
        http_reqp_free(&q->hp);
    if (q->head.cap > CREQ_KEEP_BYTES)
        buf_free(&q->head);
    if (q->px)
        proxy_trim(q->px, CREQ_KEEP_BYTES);
    q->next_free = creq_cache;
    creq_cache = q;
    creq_ncache++;
}

void conn_cache_free(void)
{
    while (creq_cache) {
        struct creq *q = creq_cache;
        creq_cache = q->next_free;
        creq_free(q);
    }
    creq_ncache = 0;
}

static void conn_free(struct conn *c)
{
    if (c->q)
        creq_put(c->q); /* conn_close() ended its upstream try: nothing refers to it */
    c->q = NULL;
    if (c->timer)
        event_free(c->timer);
    if (c->bev)
        bufferevent_free(c->bev);
    worker_conn_gone(c->w, c);
    free(c);
}

void conn_close(struct conn *c)
{
    if (c->dead)
        return;
    if (c->st == CONN_ST_ACTIVE && c->q->r.request_line.p) {
        /* the client left (or we gave up) in the middle: log it as nginx does */
        if (!c->q->head_sent)
            c->q->r.status = 499;
        accesslog_write(cur_loc(c), &c->q->r);
    }
    if (c->q && c->q->px)
        proxy_abort(c);
    c->dead = true;
    if (c->timer)
        evtimer_del(c->timer);
    if (c->bev)
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    if (c->busy == 0)
        conn_free(c);
}

/* The client's writing is enabled only while output waits for the socket
 * (else queuing output would arm the write event per response). */
static bool writing(const struct conn *c)
{
    return bufferevent_get_enabled(c->bev) & EV_WRITE;
}

/* Output waits for the socket: the write event's writer (bevio) takes it
 * from here and reports the drain to on_write(). */
static void want_write(struct conn *c)
{
    if (!writing(c))
        bevio_enable(c->bev, EV_WRITE);
}

/* The output is out: the next one is written directly again. */
static void write_off(struct conn *c)
{
    if (writing(c))
        bufferevent_disable(c->bev, EV_WRITE);
}

bool conn_release(struct conn *c)
{
    if (--c->busy > 0)
        return !c->dead;
    if (c->dead) {
        conn_free(c);
        return false;
    }
    /* the last callback of ours on the stack: whatever a handler queued and
     * nothing wrote yet (a body relayed in parts, 100 Continue) goes out on
     * the next loop turn, as it would with writing always enabled */
    if (evbuffer_get_length(conn_output(c)) > 0)
        want_write(c);
    if (c->st == CONN_ST_IDLE && c->q) {
        /* an idle keep-alive connection keeps only its bufferevent: the
         * request state goes back to the cache (as nginx frees its request
         * pool), which matters at 10,000 idle ones.  Done here, when no
         * callback of ours is on the stack any more. */
        creq_put(c->q);
        c->q = NULL;
    }
    return true;
}

void conn_close_if_idle(struct conn *c)
{
    /* between requests only, as nginx: a connection that has not sent its
     * first request yet may have it on the way (a client that connected
     * before the stop); it is served, client_header_timeout bounds the wait */
    if (c->st == CONN_ST_IDLE)
        conn_close(c);
}

/* --- response heads ------------------------------------------------------ */

/* The head is built in q->head and goes to the output in one piece at
 * conn_head_end(): one evbuffer_add, no printf. */
void conn_head_begin(struct conn *c, int status, const char *reason, size_t reason_len)
{
    struct buf *h = &c->q->head;
    if (!reason) {
        reason = conn_status_text(status);
        reason_len = strlen(reason);
    }
    c->q->status = status;
    c->q->r.status = status;
    buf_reset(h);
    const char *srv = cur_loc(c)->server_tokens ? SERVER_VERSION : SERVER_NAME;
    buf_append(h, "HTTP/1.1 ", 9);
    buf_append_u64(h, (uint64_t)status);
    buf_append(h, " ", 1);
    buf_append(h, reason, reason_len);
    buf_append(h, "\r\nServer: ", 10);
    buf_puts(h, srv);
    buf_append(h, "\r\nDate: ", 8);
    buf_puts(h, worker_date(c->w));
    buf_append(h, "\r\n", 2);
}

void conn_head_add(struct conn *c, const char *name, size_t nl, const char *value, size_t vl)
{
    struct buf *h = &c->q->head;
    buf_append(h, name, nl);
    buf_append(h, ": ", 2);
    buf_append(h, value, vl);
    buf_append(h, "\r\n", 2);
}

static bool add_header_applies(int status)
{
    switch (status) {
    case 200:
    case 201:
    case 204:
    case 206:
    case 301:
    case 302:
    case 303:
    case 304:
    case 307:
    case 308:
        return true;
    default:
        return false;
    }
}

bool conn_sets_expires(const struct cf_loc *loc, int status)
{
    return loc->expires != CF_EXP_OFF && add_header_applies(status);
}

/* expires: Expires and Cache-Control, as nginx's headers filter writes them. */
static void add_expires(struct conn *c, const struct cf_loc *loc)
{
    const char *exp = NULL, *cc = NULL;
    char date[40], age[32];
    if (loc->expires == CF_EXP_EPOCH) {
        exp = "Thu, 01 Jan 1970 00:00:01 GMT";
        cc = "no-cache";
    } else if (loc->expires == CF_EXP_MAX) {
        exp = "Thu, 31 Dec 2037 23:55:55 GMT";
        cc = "max-age=315360000";
    } else {
        struct timespec now;
        timing_wall(&now);
        time_t t = now.tv_sec + (time_t)loc->expires_s;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        exp = date;
        if (loc->expires_s < 0) {
            cc = "no-cache";
        } else {
            snprintf(age, sizeof(age), "max-age=%lld", (long long)loc->expires_s);
            cc = age;
        }
    }
    conn_head_add(c, "Expires", 7, exp, strlen(exp));
    conn_head_add(c, "Cache-Control", 13, cc, strlen(cc));
}

void conn_head_end(struct conn *c, int64_t content_length, bool has_body)
{
    struct buf *out = &c->q->head;
    const struct cf_loc *loc = cur_loc(c);
    c->q->chunked_out = false;
    if (content_length >= 0) {
        buf_append(out, "Content-Length: ", 16);
        buf_append_u64(out, (uint64_t)content_length);
        buf_append(out, "\r\n", 2);
    } else if (has_body) {
        if (c->q->r.http_minor >= 1) {
            buf_append(out, "Transfer-Encoding: chunked\r\n", 28);
            c->q->chunked_out = true;
        } else {
            c->q->keepalive = false; /* the end of the body is the end of the connection */
        }
    }
    if (c->w->quitting)
        c->q->keepalive = false;
    if (c->q->keepalive)
        buf_append(out, "Connection: keep-alive\r\n", 24);
    else
        buf_append(out, "Connection: close\r\n", 19);
    if (conn_sets_expires(loc, c->q->status))
        add_expires(c, loc);
    if (loc->nadd_headers) {
        struct buf v = BUF_INIT;
        for (int i = 0; i < loc->nadd_headers; i++) {
            const struct cf_header *h = &loc->add_headers[i];
            if (!h->always && !add_header_applies(c->q->status))
                continue;
            buf_reset(&v);
            if (tmpl_eval(h->value, &c->q->r, &v, CF_ESC_NONE) < 0 || v.len == 0)
                continue;
            conn_head_add(c, h->name, strlen(h->name), v.data, v.len);
        }
        buf_free(&v);
    }
    if (loc->server_timing) {
        char st[256];
        size_t n = timing_format(&c->q->tm, timing_now(), st, sizeof(st));
        conn_head_add(c, "Server-Timing", 13, st, n);
    }
    buf_append(out, "\r\n", 2);
    evbuffer_add(conn_output(c), out->data, out->len);
    c->q->r.bytes_sent += out->len;
    c->q->head_sent = true;
}

/* The chunk-size line of a chunk of n bytes. */
static void add_chunk_size(struct evbuffer *out, size_t n)
{
    char t[FMT_U64_MAX + 2];
    size_t k = fmt_hex(t, n);
    t[k++] = '\r';
    t[k++] = '\n';
    evbuffer_add(out, t, k);
}

/* Body pieces up to this size are copied into the output, not moved. */
#define BODY_COPY_MAX 512

void conn_body_out(struct conn *c, struct evbuffer *from, int64_t n)
{
    size_t len = evbuffer_get_length(from);
    size_t k = n < 0 || (size_t)n > len ? len : (size_t)n;
    if (k == 0)
        return;
    struct evbuffer *out = conn_output(c);
    if (c->q->chunked_out)
        add_chunk_size(out, k);
    struct evbuffer_iovec v;
    if (k <= BODY_COPY_MAX && evbuffer_peek(from, (ev_ssize_t)k, NULL, &v, 1) == 1 &&
        v.iov_len >= k) {
        /* a small piece is copied (into the room the head's extent has
         * left, mostly) rather than its chain moved: a short response then
         * leaves in one extent, one send() (bevio_write_now) */
        evbuffer_add(out, v.iov_base, k);
        evbuffer_drain(from, k);
    } else {
        evbuffer_remove_buffer(from, out, k);
    }
    if (c->q->chunked_out)
        evbuffer_add(out, "\r\n", 2);
    c->q->r.body_bytes_sent += k;
    c->q->r.bytes_sent += k;
}

void conn_body_add(struct conn *c, const void *p, size_t n)
{
    if (n == 0)
        return;
    struct evbuffer *out = conn_output(c);
    if (c->q->chunked_out)
        add_chunk_size(out, n);
    evbuffer_add(out, p, n);
    if (c->q->chunked_out)
        evbuffer_add(out, "\r\n", 2);
    c->q->r.body_bytes_sent += n;
    c->q->r.bytes_sent += n;
}

void conn_response_done(struct conn *c)
{
    if (c->q->chunked_out) {
        evbuffer_add(conn_output(c), "0\r\n\r\n", 5);
        c->q->r.bytes_sent += 5;
        c->q->chunked_out = false;
    }
    c->q->resp_done = true;
    c->q->on_drain = NULL;
    try_flush(c);
}

static bool is_head_method(const struct conn *c)
{
    return http_method_is(c->q->r.method.p, c->q->r.method.len, "HEAD");
}

void conn_send_simple(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                      const char *location)
{
    conn_head_begin(c, status, NULL, 0);
    if (ctype && len)
        conn_head_add(c, "Content-Type", 12, ctype, strlen(ctype));
    if (location)
        conn_head_add(c, "Location", 8, location, strlen(location));
    bool nobody = status == 204 || status == 304 || status < 200;
    conn_head_end(c, nobody ? -1 : (int64_t)len, false);
    if (!is_head_method(c) && !nobody && len) {
        evbuffer_add(conn_output(c), body, len);
        c->q->r.body_bytes_sent += len;
        c->q->r.bytes_sent += len;
    }
    conn_response_done(c);
}

/* nginx's small error page, signed with our name. */
static void send_error_page(struct conn *c, int status)
{
    char page[512];
    const char *t = conn_status_text(status);
    int n =
        snprintf(page, sizeof(page),
                 "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d "
                 "%s</h1></center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
                 status, t, status, t, cur_loc(c)->server_tokens ? SERVER_VERSION : SERVER_NAME);
    conn_send_simple(c, status, "text/html", page, (size_t)n, NULL);
}

void conn_fail(struct conn *c, int status)
{
    if (c->q->head_sent) {
        /* the response is half out: the client can only see it broken */
        conn_close(c);
        return;
    }
    /* errors that leave the request's framing unknown close the connection */
    if (status == 400 || status == 408 || status == 413 || status == 414 || status == 431 ||
        status == 501 || status == 505 || status == 411 || !c->q->body_done)
        c->q->keepalive = false;
    if (!c->q->body_done)
        c->q->lingering_close = true;
    c->q->sink = NULL; /* whatever body still comes is dropped */
    c->q->sink_wait = false;
    c->q->tee = NULL;
    send_error_page(c, status);
}

/* --- request body -------------------------------------------------------- */

void conn_send_continue(struct conn *c)
{
    if (!c->q->want_continue)
        return;
    c->q->want_continue = false;
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 && !c->q->head_sent)
        evbuffer_add(conn_output(c), "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

/* Keeps a copy of n bytes at the start of `in` (plus chunk framing) in the
 * tee, while it stays under tee_max. */
static void tee_copy(struct conn *c, struct evbuffer *in, size_t n)
{
    if (!c->q->tee || c->q->tee_overflow)
        return;
    if (evbuffer_get_length(c->q->tee) + n + 32 > c->q->tee_max) {
        c->q->tee_overflow = true;
        evbuffer_drain(c->q->tee, evbuffer_get_length(c->q->tee));
        return;
    }
    if (c->q->sink_chunked)
        add_chunk_size(c->q->tee, n);
    struct evbuffer_ptr pos;
    evbuffer_ptr_set(in, &pos, 0, EVBUFFER_PTR_SET);
    struct evbuffer_iovec v[8];
    size_t left = n;
    while (left > 0) {
        int k = evbuffer_peek(in, (ev_ssize_t)left, &pos, v, 8);
        if (k <= 0)
            break;
        for (int i = 0; i < k && i < 8 && left > 0; i++) {
            size_t m = v[i].iov_len < left ? v[i].iov_len : left;
            evbuffer_add(c->q->tee, v[i].iov_base, m);
            left -= m;
            evbuffer_ptr_set(in, &pos, m, EVBUFFER_PTR_ADD);
        }
    }
    if (c->q->sink_chunked)
        evbuffer_add(c->q->tee, "\r\n", 2);
}

void conn_body_pause(struct conn *c)
{
    c->q->sink_wait = true;
    c->q->sink = NULL;
    c->q->on_body = NULL;
}

static void body_move(struct conn *c, struct evbuffer *in, size_t n)
{
    if (c->q->sink) {
        tee_copy(c, in, n);
        if (c->q->sink_chunked)
            add_chunk_size(c->q->sink, n);
        evbuffer_remove_buffer(in, c->q->sink, n);
        if (c->q->sink_chunked)
            evbuffer_add(c->q->sink, "\r\n", 2);
    } else {
        evbuffer_drain(in, n);
    }
    c->q->body_read += n;
    c->q->r.request_length += n;
}

bool conn_body_pump(struct conn *c)
{
    if (c->q->body_done || c->dead || c->q->sink_wait)
        return !c->dead;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    int64_t max = cur_loc(c)->client_max_body_size;
    bool moved = false;
    while (!c->q->body_done) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            break;
        if (c->q->sink && evbuffer_get_length(c->q->sink) >= CONN_HIGH)
            break;
        if (c->q->body_kind == CONN_BODY_LENGTH) {
            size_t n = (int64_t)avail < c->q->body_left ? avail : (size_t)c->q->body_left;
            body_move(c, in, n);
            c->q->body_left -= (int64_t)n;
            moved = true;
            if (c->q->body_left == 0)
                c->q->body_done = true;
        } else if (http_chunked_in_data(&c->q->ck)) {
            size_t n = avail < c->q->ck.remaining ? avail : (size_t)c->q->ck.remaining;
            if (max > 0 && (int64_t)(c->q->body_read + n) > max) {
                conn_fail(c, 413);
                return !c->dead;
            }
            body_move(c, in, n);
            http_chunked_consumed(&c->q->ck, n);
            moved = true;
        } else {
            struct evbuffer_iovec v;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                break;
            long k = http_chunked_frame(&c->q->ck, v.iov_base, v.iov_len);
            if (k < 0) {
                c->q->hp.why = "invalid chunked body";
                log_info("client %s: invalid chunked body",
                         c->q->r.request_line.p ? "request" : "");
                conn_fail(c, 400);
                return !c->dead;
            }
            evbuffer_drain(in, (size_t)k);
            c->q->r.request_length += (uint64_t)k;
            if (http_chunked_done(&c->q->ck)) {
                if (c->q->sink && c->q->sink_chunked) {
                    evbuffer_add(c->q->sink, "0\r\n\r\n", 5);
                    if (c->q->tee && !c->q->tee_overflow)
                        evbuffer_add(c->q->tee, "0\r\n\r\n", 5);
                }
                c->q->body_done = true;
                moved = true;
            }
        }
    }
    if (moved)
        c->q->want_continue = false;
    if (c->q->body_done && c->st == CONN_ST_ACTIVE)
        set_read_timeout(c, 0);
    bool done = c->q->body_done;
    if (moved && c->q->on_body) {
        conn_hold(c);
        c->q->on_body(c->q->body_ud, done);
        /* the release may take an IDLE connection's creq: not c->q after it */
        if (!conn_release(c))
            return false;
    }
    if (done)
        try_flush(c);
    return !c->dead;
}

void conn_body_attach(struct conn *c, struct evbuffer *sink, bool chunked,
                      void (*on_body)(void *ud, bool done), void *ud)
{
    c->q->sink = sink;
    c->q->sink_wait = false;
    c->q->sink_chunked = chunked;
    c->q->on_body = on_body;
    c->q->body_ud = ud;
    conn_body_pump(c);
}

/* --- the request cycle --------------------------------------------------- */

/* The clocks of a request's first byte ($request_time, Server-Timing). */
static void stamp_start(struct creq *q)
{
    q->tm.t[TM_START] = timing_now();
    timing_wall(&q->r.start);
}

static void reset_request(struct conn *c)
{
    struct creq *q = c->q;
    req_reset(&q->r);
    memcpy(&q->client.ss, &c->peer_sa, c->peer_len);
    q->client.len = c->peer_len;
    if (c->local_len) {
        memcpy(&q->local.ss, &c->local_sa, c->local_len);
        q->local.len = c->local_len;
    } else {
        q->local = c->ls->addr;
    }
    q->r.client = &q->client;
    q->r.local = &q->local;
    q->r.server = c->defsrv;
    timing_reset(&q->tm);
    q->body_kind = CONN_BODY_NONE;
    q->body_left = 0;
    q->body_read = 0;
    q->body_done = true;
    q->sink = NULL;
    q->sink_wait = false;
    q->sink_chunked = false;
    q->tee = NULL;
    q->tee_overflow = false;
    q->want_continue = false;
    q->on_body = NULL;
    q->body_ud = NULL;
    q->status = 0;
    q->head_sent = false;
    q->chunked_out = false;
    q->resp_done = false;
    q->keepalive = false;
    q->lingering_close = false;
    q->on_drain = NULL;
    q->drain_ud = NULL;
}

/* A request begins on an idle (or new) connection: its state, reset, and
 * the clocks of its first byte.  False when memory ran out. */
static bool begin_creq(struct conn *c)
{
    if (!c->q && !(c->q = creq_get()))
        return false;
    reset_request(c);
    stamp_start(c->q);
    return true;
}

/* Everything is queued and the body read: wait for the output to drain. */
static void try_flush(struct conn *c)
{
    if (c->dead || c->st != CONN_ST_ACTIVE || !c->q->resp_done)
        return;
    if (!c->q->body_done && c->q->keepalive)
        return; /* keep reading (dropping) the body first */
    conn_set_state(c, CONN_ST_FLUSH);
    if (bevio_write_now(c->bev, !c->file_out)) {
        write_off(c); /* left on by an earlier stream: the event is gone already */
        finish_request(c);
    } else {
        want_write(c); /* on_write() finishes the request (or libevent reports the error) */
    }
}

static void finish_request(struct conn *c)
{
    const struct cf_loc *loc = cur_loc(c);
    if (c->q->r.request_line.p || c->q->r.status)
        accesslog_write(loc, &c->q->r);
    if (!c->q->keepalive || c->w->quitting) {
        if (c->q->lingering_close || !c->q->body_done ||
            evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
            conn_set_state(c, CONN_ST_LINGER);
        else
            conn_close(c);
        return;
    }
    reset_request(c);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
        /* a pipelined request is already here */
        stamp_start(c->q);
        conn_set_state(c, CONN_ST_HEAD);
        conn_hold(c);
        st_head(c);
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
static void head_error(struct conn *c, int status)
{
    c->q->r.server = c->defsrv;
    c->q->keepalive = false;
    c->q->body_done = true;
    c->q->lingering_close = true;
    conn_set_state(c, CONN_ST_ACTIVE);
    send_error_page(c, status);
}

static void make_request_id(struct conn *c)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t a = worker_rand(c->w), b = worker_rand(c->w);
    for (int i = 0; i < 16; i++) {
        c->q->r.request_id[i] = hex[(a >> (i * 4)) & 15];
        c->q->r.request_id[16 + i] = hex[(b >> (i * 4)) & 15];
    }
    c->q->r.request_id[32] = '\0';
}

static void do_return(struct conn *c)
{
    const struct cf_loc *loc = c->q->r.loc;
    int code = loc->return_code;
    if (code == 444) {
        c->q->r.status = 444;
        c->q->keepalive = false;
        c->q->resp_done = true;
        c->q->body_done = true;
        accesslog_write(loc, &c->q->r);
        c->q->r.request_line.p = NULL; /* logged */
        conn_close(c);
        return;
    }
    struct buf text = BUF_INIT;
    if (loc->return_text && tmpl_eval(loc->return_text, &c->q->r, &text, CF_ESC_NONE) < 0) {
        buf_free(&text);
        conn_fail(c, 500);
        return;
    }
    if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) {
        char page[512];
        const char *t = conn_status_text(code);
        int n = snprintf(page, sizeof(page),
                         "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d "
                         "%s</h1></center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
                         code, t, code, t, loc->server_tokens ? SERVER_VERSION : SERVER_NAME);
        conn_send_simple(c, code, "text/html", page, (size_t)n, text.len ? buf_cstr(&text) : NULL);
    } else if (loc->return_text) {
        conn_send_simple(c, code, "text/plain", text.data ? text.data : "", text.len, NULL);
    } else if (code >= 400) {
        send_error_page(c, code);
    } else {
        conn_send_simple(c, code, NULL, "", 0, NULL);
    }
    buf_free(&text);
}

/* A head was parsed into c->q->r: route it and hand it to its handler. */
static void begin_request(struct conn *c)
{
    struct req *r = &c->q->r;
    r->server = route_server(c->w->cf, c->ls, r->host.p ? r->host.p : "", r->host.len);
    /* "OPTIONS *" concerns the server as a whole: the location of "/" */
    bool star = r->uri.len == 1 && r->uri.p[0] == '*';
    r->loc = route_location(r->server, star ? "/" : r->uri.p, star ? 1 : r->uri.len);
    const struct cf_loc *loc = r->loc;
    make_request_id(c);
    timing_mark(&c->q->tm, TM_HEAD);
    c->nreq++;
    c->q->keepalive = r->keepalive && loc->keepalive_timeout_ms > 0 && !c->w->quitting &&
                      (loc->keepalive_requests <= 0 || c->nreq < (unsigned)loc->keepalive_requests);
    if (r->chunked) {
        c->q->body_kind = CONN_BODY_CHUNKED;
        http_chunked_init(&c->q->ck);
        c->q->body_done = false;
    } else if (r->content_length > 0) {
        c->q->body_kind = CONN_BODY_LENGTH;
        c->q->body_left = r->content_length;
        c->q->body_done = false;
    }
    conn_set_state(c, CONN_ST_ACTIVE);
    if (loc->client_max_body_size > 0 && r->content_length > loc->client_max_body_size) {
        conn_fail(c, 413);
        return;
    }
    c->q->want_continue = c->q->hp.expect_continue && r->http_minor >= 1 && !c->q->body_done;
    switch (loc->handler) {
    case CF_H_PROXY:
    case CF_H_UWSGI:
        proxy_start(c, loc->handler == CF_H_UWSGI);
        return;
    default:
        break;
    }
    /* local answers: the body is read and dropped (after "100 Continue"
     * when the client waits for it, as nginx does when discarding) */
    conn_send_continue(c);
    conn_body_attach(c, NULL, false, NULL, NULL);
    if (c->dead || c->q->resp_done)
        return;
    switch (loc->handler) {
    case CF_H_RETURN:
        do_return(c);
        break;
    case CF_H_STATIC:
        static_handle(c);
        break;
    case CF_H_STATUS: {
        struct buf doc = BUF_INIT;
        if (status_render(c->w->cf, &doc) < 0)
            conn_fail(c, 500);
        else
            conn_send_simple(c, 200, "application/json", doc.data, doc.len, NULL);
        buf_free(&doc);
        break;
    }
    default:
        send_error_page(c, 404);
        break;
    }
}

/* HEAD waits for more bytes: client_header_timeout runs from the first
 * wait on. */
static void head_wait(struct conn *c)
{
    if (c->head_timer)
        return;
    c->head_timer = true;
    set_timer(c, c->defsrv->client_header_timeout_ms);
}

/* HEAD: look for a whole head in the input, parse it, begin the request.
 * Every entry to HEAD is followed by a call or by head_wait(). */
static void st_head(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    const struct cf_server *ds = c->defsrv;
    size_t bufsz = ds->large_header_buffer_size > 0 ? (size_t)ds->large_header_buffer_size : 8192;
    int nbuf = ds->large_header_buffers > 0 ? ds->large_header_buffers : 4;
    struct http_limits lim = {bufsz, bufsz * (size_t)nbuf};
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len == 0) {
            head_wait(c);
            return;
        }
        size_t want = len < lim.head_max + 64 ? len : lim.head_max + 64;
        const char *p = (const char *)evbuffer_pullup(in, (ssize_t)want);
        if (!p) {
            conn_close(c);
            return;
        }
        size_t skip = 0, hl = 0;
        int rc = http_find_head(p, want, &lim, &skip, &hl);
        if (rc == 0) {
            if (skip) {
                evbuffer_drain(in, skip);
                continue;
            }
            head_wait(c);
            return;
        }
        if (rc != 1) {
            log_info("client sent an invalid request head (%d)", rc);
            head_error(c, rc);
            return;
        }
        int st = http_parse_request(&c->q->hp, p + skip, hl, &c->q->r);
        evbuffer_drain(in, skip + hl);
        c->q->r.request_length = hl;
        if (st) {
            log_info("client sent an invalid request: %s", c->q->hp.why ? c->q->hp.why : "?");
            head_error(c, st);
            return;
        }
        begin_request(c);
        return;
    }
}

/* --- libevent callbacks -------------------------------------------------- */

static void on_read(struct bufferevent *bev, void *ud)
{
    struct conn *c = ud;
    (void)bev;
    conn_hold(c);
    switch (c->st) {
    case CONN_ST_IDLE:
        if (!begin_creq(c)) {
            conn_close(c);
            break;
        }
        conn_set_state(c, CONN_ST_HEAD);
        st_head(c);
        break;
    case CONN_ST_HEAD:
        st_head(c);
        break;
    case CONN_ST_ACTIVE:
        conn_body_pump(c);
        break;
    case CONN_ST_FLUSH:
        break;
    case CONN_ST_LINGER: {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        break;
    }
    }
    conn_release(c);
}

static void on_write(struct bufferevent *bev, void *ud)
{
    struct conn *c = ud;
    (void)bev;
    conn_hold(c);
    if (c->st == CONN_ST_FLUSH) {
        if (evbuffer_get_length(conn_output(c)) == 0)
            finish_request(c);
    } else if (c->st == CONN_ST_ACTIVE && c->q->on_drain) {
        c->q->on_drain(c->q->drain_ud);
    }
    if (!c->dead && evbuffer_get_length(conn_output(c)) == 0)
        write_off(c); /* drained (libevent has stopped the write event) */
    conn_release(c);
}

static void on_event(struct bufferevent *bev, short what, void *ud)
{
    struct conn *c = ud;
    (void)bev;
    conn_hold(c);
    if (what & BEV_EVENT_TIMEOUT) {
        if ((what & BEV_EVENT_READING) && c->st == CONN_ST_ACTIVE && !c->q->head_sent) {
            log_info("client timed out sending the request body");
            conn_fail(c, 408);
        } else {
            log_info("client timed out (%s)", (what & BEV_EVENT_READING) ? "reading" : "writing");
            conn_close(c);
        }
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if ((c->st == CONN_ST_ACTIVE || c->st == CONN_ST_FLUSH) && (what & BEV_EVENT_EOF) &&
            c->q->body_done && !(what & BEV_EVENT_WRITING)) {
            /* half-close after a complete request: finish the response,
             * and the pipelined requests already read, then close */
            bufferevent_disable(c->bev, EV_READ);
            c->peer_eof = true;
            c->q->lingering_close = false;
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
    if (c->st == CONN_ST_HEAD && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
        log_info("client timed out sending the request head");
        head_error(c, 408);
    } else {
        conn_close(c);
    }
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

void conn_accept(struct worker *w, const struct cf_listen *ls, int fd, const struct sockaddr *sa,
                 socklen_t salen)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        log_error("accept: out of memory");
        close(fd);
        return;
    }
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
    } else {
        c->peer_len = sizeof(sa_family_t); /* "unix:", as nginx says */
        c->peer_sa.sin6_family = sa->sa_family;
        c->local_len = 0;
    }
    if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
            log_debug("TCP_NODELAY: %s", strerror(errno));
    }
    c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(w->base, on_timer, c);
    c->rt_ms = c->wt_ms = -1; /* nothing set yet */
    if (!c->bev || !c->timer) {
        log_error("accept: out of memory");
        if (!c->bev)
            close(fd);
        if (c->bev)
            bufferevent_free(c->bev);
        if (c->timer)
            event_free(c->timer);
        free(c);
        return;
    }
    c->defsrv = route_server(w->cf, ls, "", 0);
    worker_conn_opened(w, c);
    if (!begin_creq(c)) {
        log_error("accept: out of memory");
        conn_close(c);
        return;
    }
    bevio_own(c->bev, true);
    /* writing is on in a new bufferevent: off until output waits (want_write) */
    bufferevent_disable(c->bev, EV_WRITE);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bevio_set_read_high(c->bev, CONN_READ_WM);
    bufferevent_enable(c->bev, EV_READ);
    /* a new connection waits for its first request under client_header_timeout */
    conn_set_state(c, CONN_ST_HEAD);
    head_wait(c);
}
