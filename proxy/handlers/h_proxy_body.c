/* h_proxy_body: a buffered request body to the upstream (see
 * h_proxy_body.h). */
#include "h_proxy_body.h"

#include <errno.h>
#include <event2/buffer.h>
#include <string.h>

#include "log.h"
#include "sock.h"
#include "spool.h"

bool px_body_buffered(const struct request *q, const struct cf_loc *loc, bool uwsgi)
{
    bool on = uwsgi
                  ? loc->uwsgi_request_buffering || q->r.chunked
                  : loc->proxy_request_buffering || (q->r.chunked && loc->proxy_http_version < 11);
    return on && !q->body_done && !(q->r.chunked && q->hp.te_codings.len > 0);
}

bool px_body_pending(struct request *q)
{
    struct spool *sp = request_body_spool(q);
    return sp && spool_left(sp) > 0;
}

void px_body_rewind(struct request *q)
{
    struct spool *sp = request_body_spool(q);
    if (sp)
        spool_rewind(sp);
}

bool px_body_fill(struct request *q, struct evbuffer *out, size_t high)
{
    struct spool *sp = request_body_spool(q);
    if (!sp)
        return true;
    while (spool_left(sp) > 0 && evbuffer_get_length(out) < high) {
        if (spool_send(sp, out, high - evbuffer_get_length(out)) <= 0) {
            log_error("reading the buffered request body from \"%s\" failed (%d: %s)",
                      spool_path(sp) ? spool_path(sp) : "memory", errno, strerror(errno));
            return false;
        }
    }
    return true;
}

int px_body_write_now(struct request *q, struct sock *sk, size_t high)
{
    for (;;) {
        if (!sock_write_now(sk, true))
            return 0;
        if (!px_body_pending(q))
            return 1;
        if (!px_body_fill(q, sock_output(sk), high))
            return -1;
    }
}
