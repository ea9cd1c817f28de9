/* filter: the response filter chain between a content handler and the
 * session (nginx's header and body filters).
 *
 * Header filters run once per response, in registration order, when the
 * handler ends the head (request_head_end): each may change the response
 * (framing, its own header lines through request_filter_head_add).  Then the
 * session writes the head.
 *
 * Body filters see the body as pieces, in registration order.  Filter i gets
 * each piece and hands what it makes of it to filter_body_pass(q, piece,
 * i + 1): unchanged when it has nothing to do, or as several pieces (chunk
 * framing around the data).  The end of the chain is the sink the request
 * module sets (filter_set_sink): the session's output.  A filter keeps no
 * piece after it returns and never gathers a whole body; backpressure is the
 * producer's (request_output_full before producing more), so a filter that
 * holds nothing needs no flow control of its own.
 *
 * The order is fixed at init (filters register before workers fork).  The
 * engine does not know struct request; filters (filters/f_*.c) do. */
#ifndef PROXY_FILTER_H
#define PROXY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct request;
struct evbuffer;

/* One piece of response body: exactly one source is set. */
struct f_piece {
    struct evbuffer *from; /* n bytes taken (moved) from the start of this, or */
    const void *p;         /* n bytes copied from here, or */
    int fd;                /* a file segment (fd >= 0): n bytes at off; the sink takes fd */
    int64_t off;
    size_t n;
    bool framing; /* protocol framing, not body: not counted in $body_bytes_sent */
};

#define F_PIECE_INIT                                                                               \
    {                                                                                              \
        NULL, NULL, -1, 0, 0, false                                                                \
    }

/* A header filter: 0, or -1 when it failed: the filters after it do not
 * run, and the response goes on without their fields (request_head_end
 * logs it). */
typedef int (*f_header_fn)(struct request *q);
/* A body filter at position `self` of the chain: passes the piece (or what
 * it made of it) to filter_body_pass(q, ..., self + 1).  0, or -1 (the
 * response is broken: the connection closes). */
typedef int (*f_body_fn)(struct request *q, const struct f_piece *pc, int self);
/* The end of the chain: writes the piece to the session.  0 or -1. */
typedef int (*f_sink_fn)(struct request *q, const struct f_piece *pc);
/* Called by request_done() before the response ends: a filter that frames
 * the body (chunked) writes its end through filter_body_pass(q, .., self + 1),
 * then lets the rest end theirs with filter_end_pass(q, self + 1).
 * May be NULL for a filter. */
typedef int (*f_end_fn)(struct request *q, int self);

#define FILTER_MAX 8

/* Appends a filter (start-up, before the configuration is read); any of the
 * functions may be NULL.  The same functions again are a no-op.  0, or -1
 * when the chain is full. */
int filter_add(const char *name, f_header_fn header, f_body_fn body, f_end_fn end);
/* Sets the end of the chain. */
void filter_set_sink(f_sink_fn sink);
/* Empties the chain (tests). */
void filter_reset(void);
/* How many filters there are. */
int filter_count(void);

/* Runs the header filters in order.  0, or -1 when one failed (logged with
 * its name; the rest did not run). */
int filter_header_run(struct request *q);
/* Passes pc (borrowed) to the body filters from position `from` on (0 = the
 * whole chain), then to the sink.  0 or -1. */
int filter_body_pass(struct request *q, const struct f_piece *pc, int from);
/* Lets every filter from `from` on end its framing of the body. */
int filter_end_pass(struct request *q, int from);

#endif
