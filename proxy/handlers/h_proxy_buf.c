/* h_proxy_buf: response buffering for proxy_pass / uwsgi_pass (see h_proxy_buf.h). */
#include "h_proxy_buf.h"

#include <event2/buffer.h>
#include <strings.h>

#include "log.h"
#include "request.h"

void pxbuf_begin(struct pxbuf *b, const struct cf_loc *loc)
{
    b->on = loc->buffering;
    b->c.mem_max = (size_t)loc->buffers_num * (size_t)loc->buffers_size;
    b->c.file_max = loc->max_temp_file_size;
    b->c.write_size = (size_t)loc->temp_file_write_size;
    b->c.dir = loc->temp_path;
    b->c.levels = loc->temp_levels;
    if (b->tb)
        tmpbuf_reset(b->tb, &b->c);
}

void pxbuf_accel(struct pxbuf *b, const struct cf_loc *loc, const char *v, size_t n)
{
    if (loc->ignore_headers & CF_IGN_X_ACCEL_BUFFERING)
        return;
    if (n == 3 && strncasecmp(v, "yes", 3) == 0)
        b->on = true;
    else if (n == 2 && strncasecmp(v, "no", 2) == 0)
        b->on = false;
}

size_t pxbuf_len(const struct pxbuf *b)
{
    return b->tb ? tmpbuf_len(b->tb) : 0;
}

size_t pxbuf_limit(struct pxbuf *b, struct request *q, size_t avail, bool *to_queue)
{
    *to_queue = false;
    if (pxbuf_len(b) == 0 && !request_output_full(q))
        return avail; /* straight to the client */
    if (!b->on)
        return 0;
    if (!b->tb && !(b->tb = tmpbuf_new(&b->c))) {
        log_error("out of memory for a response buffer");
        return 0; /* backpressure, as without buffering */
    }
    *to_queue = true;
    size_t room = tmpbuf_room(b->tb);
    return avail < room ? avail : room;
}

int pxbuf_move(struct pxbuf *b, struct request *q, struct evbuffer *in, int64_t n, bool to_queue)
{
    if (!to_queue)
        return request_body_out(q, in, n);
    size_t k = n < 0 ? evbuffer_get_length(in) : (size_t)n;
    return tmpbuf_add(b->tb, in, k);
}

int pxbuf_flush(struct pxbuf *b, struct request *q)
{
    if (!b->tb)
        return 1;
    if (!b->chunk && !(b->chunk = evbuffer_new()))
        return -1;
    while (tmpbuf_len(b->tb) > 0) {
        if (request_output_full(q))
            return 0;
        long k = tmpbuf_out(b->tb, b->chunk, 64 * 1024);
        if (k < 0) {
            log_error("cannot read a temporary file of a buffered response");
            return -1;
        }
        if (request_body_out(q, b->chunk, -1) < 0)
            return -1;
    }
    return 1;
}

void pxbuf_reset(struct pxbuf *b)
{
    if (b->tb)
        tmpbuf_reset(b->tb, NULL);
}

void pxbuf_free(struct pxbuf *b)
{
    tmpbuf_free(b->tb);
    b->tb = NULL;
    if (b->chunk)
        evbuffer_free(b->chunk);
    b->chunk = NULL;
}
