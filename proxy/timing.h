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

enum timing_mark {
    TM_START,     /* first byte of the request */
    TM_HEAD,      /* request head parsed and routed */
    TM_UPSTREAM,  /* an upstream connection was asked for (peer picked) */
    TM_CONNECTED, /* the upstream connection is usable (pooled: at once) */
    TM_RESP_HEAD, /* the upstream response head arrived */
    TM_COUNT
};

struct timing {
    double t[TM_COUNT]; /* seconds, monotonic; 0 = not reached */
    long long app_us;   /* X-Chain-App-Us, -1 when absent */
};

/* Monotonic seconds. */
double timing_now(void);
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
