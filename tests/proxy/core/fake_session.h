/* A session for unit tests of the request layer: no socket, no loop.  The
 * response goes into an evbuffer; the head is written as "STATUS REASON",
 * the handler's fields, "TE: chunked" when chunked, the filters' fields and
 * an empty line.  Include once per test file (static definitions). */
#ifndef TESTS_FAKE_SESSION_H
#define TESTS_FAKE_SESSION_H

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "request.h"

struct fake {
    struct session s;
    struct evbuffer *out;
    size_t full_at; /* output_full at this many bytes (0: never) */
    int done;       /* request_done() reached the session */
    int closed;
};

static struct fake F;
static struct request Q;

static struct fake *fk(struct session *s)
{
    return (struct fake *)s;
}

static struct evbuffer *f_output(struct session *s)
{
    return fk(s)->out;
}
static bool f_output_full(struct session *s)
{
    return fk(s)->full_at && evbuffer_get_length(fk(s)->out) >= fk(s)->full_at;
}
static void f_file_out(struct session *s)
{
    (void)s;
}
static void f_head_begin(struct session *s, struct request *q, const char *reason, size_t len)
{
    (void)s;
    buf_printf(&q->head, "%d %.*s\r\n", q->r.status, (int)len, reason);
}
static void f_head_end(struct session *s, struct request *q)
{
    buf_append(&q->head, q->chunked_out ? "TE: chunked\r\n" : "", q->chunked_out ? 13 : 0);
    buf_append(&q->head, q->head_more.data ? q->head_more.data : "", q->head_more.len);
    buf_append(&q->head, "\r\n", 2);
    evbuffer_add(fk(s)->out, q->head.data, q->head.len);
}
static void f_done(struct session *s, struct request *q)
{
    (void)q;
    fk(s)->done++;
}
static void f_close(struct session *s)
{
    fk(s)->closed++;
}
static bool f_body_pump(struct session *s, struct request *q)
{
    (void)s;
    (void)q;
    return true;
}
static void f_send_continue(struct session *s, struct request *q)
{
    (void)s;
    (void)q;
}
static void f_routed(struct session *s, struct request *q)
{
    (void)s;
    (void)q;
}
static void f_hold(struct session *s)
{
    (void)s;
}
static bool f_release(struct session *s)
{
    (void)s;
    return true;
}

static const struct sess_ops fake_ops = {
    .name = "fake",
    .output = f_output,
    .output_full = f_output_full,
    .file_out = f_file_out,
    .head_begin = f_head_begin,
    .head_end = f_head_end,
    .done = f_done,
    .close = f_close,
    .body_pump = f_body_pump,
    .send_continue = f_send_continue,
    .routed = f_routed,
    .hold = f_hold,
    .release = f_release,
};

/* An empty filter chain ending in the fake session, an HTTP/1.1 request on
 * it (F and Q). */
static void fake_setup(void)
{
    filter_reset();
    request_init(); /* the chain's sink: the session's output */
    memset(&F, 0, sizeof(F));
    F.s.ops = &fake_ops;
    F.out = evbuffer_new();
    memset(&Q, 0, sizeof(Q));
    Q.sess = &F.s;
    Q.r.http_major = 1;
    Q.r.http_minor = 1;
}

static void fake_teardown(void)
{
    evbuffer_free(F.out);
    buf_free(&Q.head);
    buf_free(&Q.head_more);
    filter_reset();
}

/* Everything the session got, as a string (drained; the caller frees). */
static char *take(void)
{
    size_t n = evbuffer_get_length(F.out);
    char *s = malloc(n + 1);
    evbuffer_remove(F.out, s, n);
    s[n] = '\0';
    return s;
}

#endif
