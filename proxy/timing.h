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

/* The clock requests are timed with.  Once a worker has given its loop
 * (timing_use_base) it is the loop's cached time, as nginx's: read once when
 * epoll_wait returns, so timing a request costs no clock read and every stamp
 * taken in one batch of events is the same (a stage within one turn lasts 0).
 * What was seen in a batch (bytes that arrived) is stamped no earlier than it
 * happened, what was done (a send) no later: the time from a send to a reply
 * (`header`) is never under the peer's, the time from a request's arrival to
 * its response (`total`) never over what the client saw.  It is libevent's
 * precise monotonic clock (the worker asks for EVENT_BASE_FLAG_PRECISE_TIMER)
 * mapped to real time, the mapping re-synchronised every 5 s: a step of the
 * system clock can make one duration wrong; durations are clamped at 0, as
 * nginx's $request_time.  Without a loop: CLOCK_REALTIME, read each time. */
void timing_use_base(struct event_base *base);
/* Seconds since the epoch, as above. */
double timing_now(void);
/* The same instant as a timespec (for $time_local, $msec, $request_time). */
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
