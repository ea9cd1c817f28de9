/* timing: where one request's time went, for the Server-Timing header.
 *
 * The connection marks instants (monotonic clock) as the request moves along
 * the chain; timing_format() turns them into the header value
 *   read;dur=R, queue;dur=Q, connect;dur=C, header;dur=H, app;dur=A, total;dur=T
 * (milliseconds; stages that did not happen are left out, the order is
 * fixed).  `app` is the application's own time as the gateway measured it,
 * received in the X-Chain-App-Us response header (which the proxy never
 * forwards). */
#ifndef PROXY_TIMING_H
#define PROXY_TIMING_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum timing_mark {
    TM_START,     /* first byte of the request */
    TM_HEAD,      /* request head parsed and routed */
    TM_UPSTREAM,  /* an upstream connection was asked for (peer picked) */
    TM_CONNECTED, /* the upstream connection is usable (pooled: at once) */
    TM_RESP_HEAD, /* the upstream response head arrived */
    TM_COUNT
};

struct event_base;

struct timing {
    double t[TM_COUNT]; /* seconds, timing_now(); 0 = not reached */
    long long app_us;   /* X-Chain-App-Us, -1 when absent */
};

/* The clocks requests are timed with.  Once a worker has given its loop
 * (timing_use_base), time is read at most once per loop turn, as nginx's
 * cached time: timing a request costs no clock read of its own, and every
 * stamp taken in one batch of events is the same (a stage within one turn
 * lasts 0).  timing_now() is CLOCK_MONOTONIC, read by the turn's first call:
 * what a turn saw (bytes that arrived) is stamped no earlier than it happened
 * and what it did after stamping (a send) no later, so the time from a send
 * to its reply (`header`) is never under the peer's and the time from a
 * request's arrival to its response (`total`) never over what the client
 * saw.  timing_wall() is libevent's cached time of day (its precise clock
 * when the loop has EVENT_BASE_FLAG_PRECISE_TIMER, as the worker's has;
 * libevent's default clock ticks every 1-4 ms, and the turn would then be
 * told apart only that finely).  Without a loop both read their clock each
 * time. */
void timing_use_base(struct event_base *base);
/* Monotonic seconds, as above. */
double timing_now(void);
/* The time of day, as above ($time_local, $msec, $request_time). */
void timing_wall(struct timespec *ts);
void timing_reset(struct timing *tm);
static inline void timing_mark(struct timing *tm, enum timing_mark m)
{
    tm->t[m] = timing_now();
}
/* Parses an X-Chain-App-Us value (decimal microseconds); false if invalid. */
bool timing_parse_app(struct timing *tm, const char *v, size_t len);
/* Writes the header value for a response head sent at `now` into out
 * (NUL-terminated, truncated to outlen).  Returns the length. */
size_t timing_format(const struct timing *tm, double now, char *out, size_t outlen);

#endif
