/* h_proxy_buf: the response body's way to the client under proxy_buffering
 * (uwsgi_buffering), for h_proxy.c.
 *
 * With buffering on, the body goes straight to the client while nothing
 * waits and the client's output has room (the fast path, no copy), else
 * into a tmpbuf (proxy_buffers in memory, then a temporary file up to
 * proxy_max_temp_file_size under proxy_temp_path); the upstream is read
 * only while that has room.  pxbuf_flush() moves what waits to the client
 * as its output drains.  With buffering off, the body only ever goes
 * straight to the client (the caller stops reading the upstream while the
 * client's output is full).  `X-Accel-Buffering: yes|no` from the upstream
 * turns it on or off for one response unless proxy_ignore_headers lists it. */
#ifndef PROXY_H_PROXY_BUF_H
#define PROXY_H_PROXY_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tmpbuf.h"

struct evbuffer;
struct request;

struct pxbuf {
    bool on;                /* buffering this response */
    struct tmpbuf_conf c;   /* from the location (borrowed strings) */
    struct tmpbuf *tb;      /* NULL until first needed; owned */
    struct evbuffer *chunk; /* what pxbuf_flush() hands to the client; owned */
};

/* A new response of location `loc`: buffering as the location says, the
 * queue emptied.  Nothing is allocated. */
void pxbuf_begin(struct pxbuf *b, const struct cf_loc *loc);
/* The upstream's X-Accel-Buffering value. */
void pxbuf_accel(struct pxbuf *b, const struct cf_loc *loc, const char *v, size_t n);
/* How many of `avail` body bytes may move now, and where (*to_queue):
 * 0 when none may (the caller stops reading the upstream and waits for the
 * client's output to drain). */
size_t pxbuf_limit(struct pxbuf *b, struct request *q, size_t avail, bool *to_queue);
/* Moves n bytes of `in` (-1: all) to the client or into the queue, as
 * pxbuf_limit() said.  0, or -1 (the temporary file failed; logged). */
int pxbuf_move(struct pxbuf *b, struct request *q, struct evbuffer *in, int64_t n, bool to_queue);
/* Bytes waiting in the queue. */
size_t pxbuf_len(const struct pxbuf *b);
/* Moves waiting bytes to the client while its output has room.  1 when the
 * queue is empty, 0 when bytes still wait, -1 when the file failed. */
int pxbuf_flush(struct pxbuf *b, struct request *q);
/* Drops what waits and closes the file (the request ends early). */
void pxbuf_reset(struct pxbuf *b);
void pxbuf_free(struct pxbuf *b);

#endif
