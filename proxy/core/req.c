/* req: helpers on the per-request record (see req.h). */
#include "req.h"

#include <string.h>
#include <strings.h>

const struct req_header *req_find_header(const struct req *r, const char *name, size_t len)
{
    for (int i = 0; i < r->nheaders; i++) {
        const struct req_header *h = &r->headers[i];
        if (h->name_len == len && strncasecmp(h->name, name, len) == 0)
            return h;
    }
    return NULL;
}

void req_reset(struct req *r)
{
    struct buf keep[5] = {r->upstream_addr, r->upstream_status, r->upstream_connect_time,
                          r->upstream_header_time, r->upstream_response_time};
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    r->upstream_addr = keep[0];
    r->upstream_status = keep[1];
    r->upstream_connect_time = keep[2];
    r->upstream_header_time = keep[3];
    r->upstream_response_time = keep[4];
    buf_reset(&r->upstream_addr);
    buf_reset(&r->upstream_status);
    buf_reset(&r->upstream_connect_time);
    buf_reset(&r->upstream_header_time);
    buf_reset(&r->upstream_response_time);
}

void req_free(struct req *r)
{
    buf_free(&r->upstream_addr);
    buf_free(&r->upstream_status);
    buf_free(&r->upstream_connect_time);
    buf_free(&r->upstream_header_time);
    buf_free(&r->upstream_response_time);
}
