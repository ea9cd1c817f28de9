/* request_body: reading a whole request body before the handler goes on
 * (nginx's ngx_http_read_client_request_body), into a spool (spool.h):
 * client_body_buffer_size bytes in memory, then a temp file under
 * client_body_temp_path, client_body_in_file_only as nginx.
 *
 * The session decodes the body (Content-Length or chunked) into
 * request_body_push(), which hands the bytes to request_spool_push() while
 * q->spooling; client_body_timeout and client_max_body_size apply as for a
 * streamed body.  Once the last byte is in, a chunked body becomes one of
 * known length ($content_length, the upstream's Content-Length), the
 * variables $request_body and $request_body_file are set, and the
 * handler's callback runs. */
#define _GNU_SOURCE
#include "request.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "spool.h"

/* The spool settings of q's location. */
static void spool_conf_of(const struct request *q, struct spool_conf *c)
{
    const struct cf_loc *loc = request_loc(q);
    c->mem_max = (size_t)loc->client_body_buffer_size;
    c->dir = loc->client_body_temp ? loc->client_body_temp->path : NULL;
    c->levels = loc->client_body_temp ? loc->client_body_temp->levels : NULL;
    c->nlevels = loc->client_body_temp ? loc->client_body_temp->nlevels : 0;
    c->mode = loc->client_body_in_file_only == CF_BODY_FILE_ON      ? SPOOL_FILE_ON
              : loc->client_body_in_file_only == CF_BODY_FILE_CLEAN ? SPOOL_FILE_CLEAN
                                                                    : SPOOL_FILE_OFF;
}

static void log_spool_error(const struct request *q, const char *what)
{
    const struct cf_loc *loc = request_loc(q);
    log_error("%s a client request body buffer under \"%s\" failed (%d: %s), client request "
              "\"%.*s\"",
              what, loc->client_body_temp ? loc->client_body_temp->path : "?", errno,
              strerror(errno), (int)q->r.request_line.len,
              q->r.request_line.p ? q->r.request_line.p : "");
}

/* The whole body is in: its length is known now, the variables see it,
 * and the handler goes on. */
static void read_done(struct request *q)
{
    struct spool *sp = q->spool;
    q->spooling = false;
    q->spooled = true;
    q->on_body = NULL;
    q->body_ud = NULL;
    /* nginx: a de-chunked body has a length ($content_length, and the
     * upstream gets Content-Length) */
    q->r.content_length = (int64_t)spool_length(sp);
    q->r.chunked = false;
    const char *p;
    size_t n;
    if (spool_mem(sp, &p, &n) == 0) {
        q->r.body.p = p;
        q->r.body.len = n;
    }
    q->r.body_file = spool_path(sp);
    spool_rewind(sp);
    void (*fn)(struct request *, void *) = q->on_read;
    void *ud = q->read_ud;
    q->on_read = NULL;
    q->read_ud = NULL;
    fn(q, ud);
}

/* The session moved body bytes (request_body_attach's callback). */
static void on_spooled(void *ud, bool done)
{
    struct request *q = ud;
    if (!q->spooling)
        return;
    if (q->spool_failed) {
        q->spooling = false;
        request_fail(q, 500);
        return;
    }
    if (done)
        read_done(q);
}

void request_spool_push(struct request *q, struct evbuffer *in, size_t n)
{
    if (!q->spool_failed && spool_append(q->spool, in, n) < 0) {
        log_spool_error(q, "writing");
        q->spool_failed = true; /* answered (500) once the session is out of its loop */
    }
    if (q->spool_failed)
        evbuffer_drain(in, n);
}

void request_read_body(struct request *q, void (*done)(struct request *q, void *ud), void *ud)
{
    if (q->body_done && q->body_read == 0) {
        done(q, ud); /* no body: nothing to keep */
        return;
    }
    if (!q->spool) {
        q->spool = malloc(sizeof(*q->spool));
        if (!q->spool) {
            request_fail(q, 500);
            return;
        }
        spool_init(q->spool);
    }
    struct spool_conf c;
    spool_conf_of(q, &c);
    if (spool_open(q->spool, &c) < 0) {
        log_spool_error(q, "creating");
        request_fail(q, 500);
        return;
    }
    q->spooling = true;
    q->spool_failed = false;
    q->on_read = done;
    q->read_ud = ud;
    /* as nginx when reading: "100 Continue" first if the client waits */
    request_send_continue(q);
    request_body_attach(q, NULL, false, on_spooled, q);
}

struct spool *request_body_spool(struct request *q)
{
    return q->spool && q->spooled ? q->spool : NULL;
}

void request_body_spool_end(struct request *q, bool free_it)
{
    q->spooling = false;
    q->spooled = false;
    q->spool_failed = false;
    q->on_read = NULL;
    q->read_ud = NULL;
    if (!q->spool)
        return;
    if (free_it) {
        spool_free(q->spool);
        free(q->spool);
        q->spool = NULL;
    } else {
        spool_reset(q->spool);
    }
}
