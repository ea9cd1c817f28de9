/* request: the request API (see request.h).  The session-specific work
 * (bytes in, bytes out) goes through q->sess->ops; everything that is the
 * same for any protocol is here. */
#define _GNU_SOURCE
#include "request.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "handler.h"
#include "httpmethod.h"
#include "http1.h"
#include "log.h"
#include "wstate.h"

#define BODY_HIGH      (256 * 1024) /* body sink: stop feeding above */
#define SERVER_NAME    "proxy"
#define SERVER_VERSION "proxy/0.1"

const struct cf_loc *request_loc(const struct request *q)
{
    return q->r.loc ? q->r.loc : q->defsrv->def_loc;
}

const char *request_server_name(const struct request *q)
{
    return request_loc(q)->server_tokens ? SERVER_VERSION : SERVER_NAME;
}

/* --- the cache --------------------------------------------------------------- */

#define CACHE_MAX  256         /* released requests kept for reuse (per process) */
#define KEEP_BYTES (16 * 1024) /* a buffer larger than this is not kept */

static struct request *cache;
static int ncache;

static void ctx_free(struct request *q)
{
    if (q->ctx && q->ctx_ops && q->ctx_ops->free)
        q->ctx_ops->free(q->ctx);
    q->ctx = NULL;
    q->ctx_ops = NULL;
}

static void request_free(struct request *q)
{
    ctx_free(q);
    request_body_spool_end(q, true);
    http_reqp_free(&q->hp);
    req_free(&q->r);
    buf_free(&q->head);
    buf_free(&q->head_more);
    free(q);
}

struct request *request_get(void)
{
    struct request *q = cache;
    if (q) {
        cache = q->next_free;
        ncache--;
        q->next_free = NULL;
        return q;
    }
    q = calloc(1, sizeof(*q));
    if (q)
        http_reqp_init(&q->hp);
    return q;
}

void request_put(struct request *q)
{
    request_body_spool_end(q, false); /* no temp file outlives its request */
    if (ncache >= CACHE_MAX) {
        request_free(q);
        return;
    }
    if (q->hp.head.cap > KEEP_BYTES) /* a rare huge head: give it back */
        http_reqp_free(&q->hp);
    if (q->head.cap > KEEP_BYTES)
        buf_free(&q->head);
    if (q->head_more.cap > KEEP_BYTES)
        buf_free(&q->head_more);
    if (q->ctx && q->ctx_ops && q->ctx_ops->trim)
        q->ctx_ops->trim(q->ctx, KEEP_BYTES);
    q->next_free = cache;
    cache = q;
    ncache++;
}

void request_cache_free(void)
{
    while (cache) {
        struct request *q = cache;
        cache = q->next_free;
        request_free(q);
    }
    ncache = 0;
}

void request_reset(struct request *q, struct session *s, const struct cf_listen *ls,
                   const struct cf_server *defsrv, const struct sockaddr *peer, socklen_t peer_len,
                   const struct sockaddr *local, socklen_t local_len)
{
    req_reset(&q->r);
    memcpy(&q->client.ss, peer, peer_len);
    q->client.len = peer_len;
    if (local_len) {
        memcpy(&q->local.ss, local, local_len);
        q->local.len = local_len;
    } else {
        q->local = ls->addr;
    }
    q->r.client = &q->client;
    q->r.local = &q->local;
    q->r.server = defsrv;
    q->sess = s;
    q->ls = ls;
    q->defsrv = defsrv;
    timing_reset(&q->tm);
    q->ph.ph = 0;
    q->ph.i = 0;
    q->body_read = 0;
    q->body_done = true;
    q->want_continue = false;
    q->sink = NULL;
    q->sink_wait = false;
    q->sink_chunked = false;
    q->tee = NULL;
    q->tee_overflow = false;
    q->on_body = NULL;
    q->body_ud = NULL;
    q->content_length = -1;
    q->has_body = false;
    q->head_sent = false;
    q->chunked_out = false;
    q->resp_done = false;
    q->keepalive = false;
    q->lingering_close = false;
    q->on_drain = NULL;
    q->drain_ud = NULL;
    request_body_spool_end(q, false);
}

static int write_piece(struct request *q, const struct f_piece *pc);

/* --- phases ------------------------------------------------------------------ */

/* The content phase: the location's handler, chosen when the config was read. */
static enum phase_rc content_phase(void *r)
{
    struct request *q = r;
    const struct h_ops *h = q->r.loc ? q->r.loc->content : NULL;
    if (!h)
        return PHASE_NEXT;
    h->start(q);
    return PHASE_DONE;
}

void request_init(void)
{
    phase_add(PH_CONTENT, content_phase);
    filter_set_sink(write_piece);
}

void request_run(struct request *q)
{
    if (phase_run(&q->ph, q) == PHASE_NEXT)
        request_page(q, 404, NULL); /* no handler answered */
}

void request_resume(struct request *q)
{
    if (phase_resume(&q->ph, q) == PHASE_NEXT)
        request_page(q, 404, NULL);
}

void request_routed(struct request *q)
{
    static const char hex[] = "0123456789abcdef";
    struct worker *w = q->sess->w;
    uint64_t a = worker_rand(w), b = worker_rand(w);
    for (int i = 0; i < 16; i++) {
        q->r.request_id[i] = hex[(a >> (i * 4)) & 15];
        q->r.request_id[16 + i] = hex[(b >> (i * 4)) & 15];
    }
    q->r.request_id[32] = '\0';
    timing_mark(&q->tm, TM_HEAD);
    q->sess->ops->routed(q->sess, q);
}

void request_log(struct request *q)
{
    phase_log(q);
}

void request_abort(struct request *q)
{
    if (q->ctx && q->ctx_ops && q->ctx_ops->abort)
        q->ctx_ops->abort(q);
}

/* --- for handlers ------------------------------------------------------------ */

void *request_ctx(const struct request *q, const struct h_ops *ops)
{
    return q->ctx_ops == ops ? q->ctx : NULL;
}

void request_set_ctx(struct request *q, const struct h_ops *ops, void *ctx)
{
    if (q->ctx && q->ctx != ctx)
        ctx_free(q);
    q->ctx_ops = ops;
    q->ctx = ctx;
}

struct event_base *request_base(const struct request *q)
{
    return q->sess->w->base;
}

const struct cf_main *request_conf(const struct request *q)
{
    return q->sess->w->cf;
}

void request_hold(struct request *q)
{
    q->sess->ops->hold(q->sess);
}

bool request_release(struct request *q)
{
    return q->sess->ops->release(q->sess);
}

void request_close_unanswered(struct request *q, int status)
{
    q->r.status = status;
    q->keepalive = false;
    q->resp_done = true;
    q->body_done = true;
    request_log(q);
    q->r.request_line.p = NULL; /* logged: the close must not log it again */
    request_close(q);
}

bool request_output_full(const struct request *q)
{
    return q->sess->ops->output_full(q->sess);
}

void request_on_drain(struct request *q, void (*fn)(void *ud), void *ud)
{
    q->on_drain = fn;
    q->drain_ud = ud;
}

bool request_is_head(const struct request *q)
{
    return http_method_is(q->r.method.p, q->r.method.len, "HEAD");
}

void request_close(struct request *q)
{
    q->sess->ops->close(q->sess);
}

/* --- response ---------------------------------------------------------------- */

void request_head_begin(struct request *q, int status, const char *reason, size_t reason_len)
{
    q->r.status = status;
    buf_reset(&q->head);
    buf_reset(&q->head_more);
    if (!reason) {
        reason = http1_reason(status);
        reason_len = strlen(reason);
    }
    q->sess->ops->head_begin(q->sess, q, reason, reason_len);
}

static void head_line(struct buf *h, const char *name, size_t nl, const char *value, size_t vl)
{
    buf_append(h, name, nl);
    buf_append(h, ": ", 2);
    buf_append(h, value, vl);
    buf_append(h, "\r\n", 2);
}

void request_head_add(struct request *q, const char *name, size_t nl, const char *value, size_t vl)
{
    head_line(&q->head, name, nl, value, vl);
}

void request_filter_head_add(struct request *q, const char *name, size_t nl, const char *value,
                             size_t vl)
{
    head_line(&q->head_more, name, nl, value, vl);
}

void request_head_end(struct request *q, int64_t content_length, bool has_body)
{
    q->content_length = content_length;
    q->has_body = has_body;
    q->chunked_out = false;
    (void)filter_header_run(q); /* a failure is logged; the response goes on */
    q->sess->ops->head_end(q->sess, q);
    q->head_sent = true;
}

/* Body pieces up to this size are copied into the output, not moved. */
#define BODY_COPY_MAX 512

/* The end of the filter chain: the piece goes into the session's output. */
static int write_piece(struct request *q, const struct f_piece *pc)
{
    struct evbuffer *out = q->sess->ops->output(q->sess);
    size_t k = pc->n;
    if (pc->from) {
        struct evbuffer_iovec v;
        if (k <= BODY_COPY_MAX && evbuffer_peek(pc->from, (ev_ssize_t)k, NULL, &v, 1) == 1 &&
            v.iov_len >= k) {
            /* a small piece is copied (into the room the head's extent has
             * left, mostly) rather than its chain moved: a short response
             * then leaves in one extent, one send() */
            if (evbuffer_add(out, v.iov_base, k) < 0)
                return -1;
            evbuffer_drain(pc->from, k);
        } else if (evbuffer_remove_buffer(pc->from, out, k) != (int)k) {
            return -1;
        }
    } else if (pc->fd >= 0) {
        q->sess->ops->file_out(q->sess);
        /* evbuffer_add_file closes fd on failure in libevent 2.1 */
        if (evbuffer_add_file(out, pc->fd, pc->off, (ev_off_t)k) < 0)
            return -1;
    } else if (k && evbuffer_add(out, pc->p, k) < 0) {
        return -1;
    }
    if (!pc->framing) {
        q->r.body_bytes_sent += k;
        q->r.bytes_sent += k;
    }
    return 0;
}

int request_body_out(struct request *q, struct evbuffer *from, int64_t n)
{
    size_t len = evbuffer_get_length(from);
    size_t k = n < 0 || (size_t)n > len ? len : (size_t)n;
    if (k == 0)
        return 0;
    struct f_piece pc = F_PIECE_INIT;
    pc.from = from;
    pc.n = k;
    return filter_body_pass(q, &pc, 0);
}

int request_body_add(struct request *q, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    struct f_piece pc = F_PIECE_INIT;
    pc.p = p;
    pc.n = n;
    return filter_body_pass(q, &pc, 0);
}

int request_body_file(struct request *q, int fd, int64_t off, int64_t len)
{
    struct f_piece pc = F_PIECE_INIT;
    pc.fd = fd;
    pc.off = off;
    pc.n = (size_t)len;
    return filter_body_pass(q, &pc, 0);
}

void request_done(struct request *q)
{
    if (q->head_sent && filter_end_pass(q, 0) < 0) {
        request_close(q);
        return;
    }
    q->resp_done = true;
    q->on_drain = NULL;
    q->sess->ops->done(q->sess, q);
}

void request_send_simple(struct request *q, int status, const char *ctype, const char *body,
                         size_t len, const char *location)
{
    request_head_begin(q, status, NULL, 0);
    if (ctype && len)
        request_head_add(q, "Content-Type", 12, ctype, strlen(ctype));
    if (location)
        request_head_add(q, "Location", 8, location, strlen(location));
    bool nobody = status == 204 || status == 304 || status < 200;
    request_head_end(q, nobody ? -1 : (int64_t)len, false);
    if (!request_is_head(q) && !nobody && len)
        (void)request_body_add(q, body, len);
    request_done(q);
}

void request_page(struct request *q, int status, const char *location)
{
    char page[512];
    const char *t = http1_reason(status);
    int n = snprintf(page, sizeof(page),
                     "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d "
                     "%s</h1></center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
                     status, t, status, t, request_server_name(q));
    request_send_simple(q, status, "text/html", page, (size_t)n, location);
}

void request_fail(struct request *q, int status)
{
    if (q->head_sent) {
        /* the response is half out: the client can only see it broken */
        request_close(q);
        return;
    }
    /* errors that leave the request's framing unknown close the connection */
    if (status == 400 || status == 408 || status == 413 || status == 414 || status == 431 ||
        status == 501 || status == 505 || status == 411 || !q->body_done)
        q->keepalive = false;
    if (!q->body_done)
        q->lingering_close = true;
    q->sink = NULL; /* whatever body still comes is dropped */
    q->sink_wait = false;
    q->spooling = false;
    q->tee = NULL;
    request_page(q, status, NULL);
}

/* --- request body ------------------------------------------------------------ */

void request_send_continue(struct request *q)
{
    if (!q->want_continue)
        return;
    q->want_continue = false;
    q->sess->ops->send_continue(q->sess, q);
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

/* Keeps a copy of n bytes at the start of `in` (plus chunk framing) in the
 * tee, while it stays under tee_max. */
static void tee_copy(struct request *q, struct evbuffer *in, size_t n)
{
    if (!q->tee || q->tee_overflow)
        return;
    if (evbuffer_get_length(q->tee) + n + 32 > q->tee_max) {
        q->tee_overflow = true;
        evbuffer_drain(q->tee, evbuffer_get_length(q->tee));
        return;
    }
    if (q->sink_chunked)
        add_chunk_size(q->tee, n);
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
            evbuffer_add(q->tee, v[i].iov_base, m);
            left -= m;
            evbuffer_ptr_set(in, &pos, m, EVBUFFER_PTR_ADD);
        }
    }
    if (q->sink_chunked)
        evbuffer_add(q->tee, "\r\n", 2);
}

void request_body_push(struct request *q, struct evbuffer *in, size_t n)
{
    if (q->spooling) {
        request_spool_push(q, in, n);
    } else if (q->sink) {
        tee_copy(q, in, n);
        if (q->sink_chunked)
            add_chunk_size(q->sink, n);
        evbuffer_remove_buffer(in, q->sink, n);
        if (q->sink_chunked)
            evbuffer_add(q->sink, "\r\n", 2);
    } else {
        evbuffer_drain(in, n);
    }
    q->body_read += n;
    q->r.request_length += n;
}

bool request_body_room(const struct request *q)
{
    return !q->sink || evbuffer_get_length(q->sink) < BODY_HIGH;
}

void request_body_end(struct request *q)
{
    if (q->sink && q->sink_chunked) {
        evbuffer_add(q->sink, "0\r\n\r\n", 5);
        if (q->tee && !q->tee_overflow)
            evbuffer_add(q->tee, "0\r\n\r\n", 5);
    }
    q->body_done = true;
}

void request_body_attach(struct request *q, struct evbuffer *sink, bool chunked,
                         void (*on_body)(void *ud, bool done), void *ud)
{
    q->sink = sink;
    q->sink_wait = false;
    q->sink_chunked = chunked;
    q->on_body = on_body;
    q->body_ud = ud;
    request_body_pump(q);
}

bool request_body_discard(struct request *q)
{
    /* as nginx when discarding: "100 Continue" first if the client waits */
    request_send_continue(q);
    request_hold(q);
    request_body_attach(q, NULL, false, NULL, NULL);
    return request_release(q) && !q->resp_done;
}

void request_body_pause(struct request *q)
{
    q->sink_wait = true;
    q->sink = NULL;
    q->on_body = NULL;
}

void request_body_drop(struct request *q)
{
    if (!q->body_done) {
        q->sink = NULL;
        q->sink_wait = false;
        q->on_body = NULL;
    }
    q->tee = NULL;
}

bool request_body_pump(struct request *q)
{
    return q->sess->ops->body_pump(q->sess, q);
}

void request_body_tee(struct request *q, struct evbuffer *tee, size_t max)
{
    q->tee = tee;
    q->tee_max = max;
    q->tee_overflow = tee == NULL;
}

bool request_body_lost(const struct request *q)
{
    return q->body_read > 0 && q->tee_overflow;
}
