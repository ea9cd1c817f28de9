/* timing: Server-Timing stages of one request (see timing.h). */
#include "timing.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

static struct event_base *loop_base; /* the worker's loop, NULL before it */
/* the monotonic time read in the current loop turn, and libevent's cached
 * time that told which turn it was read in */
static double turn_now;
static struct timeval turn_seen;

void timing_use_base(struct event_base *base)
{
    loop_base = base;
    turn_seen = (struct timeval){0, 0};
}

static double monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double timing_now(void)
{
    struct timeval tv;
    /* libevent's cached time is set once per turn (outside a turn it is the
     * time of day, new on every call): the first call in a turn reads the
     * clock, the others get the same value */
    if (!loop_base || event_base_gettimeofday_cached(loop_base, &tv) < 0)
        return monotonic();
    if (tv.tv_sec != turn_seen.tv_sec || tv.tv_usec != turn_seen.tv_usec) {
        turn_seen = tv;
        turn_now = monotonic();
    }
    return turn_now;
}

void timing_wall(struct timespec *ts)
{
    struct timeval tv;
    if (loop_base && event_base_gettimeofday_cached(loop_base, &tv) == 0) {
        ts->tv_sec = tv.tv_sec;
        ts->tv_nsec = (long)tv.tv_usec * 1000;
        return;
    }
    clock_gettime(CLOCK_REALTIME, ts);
}

void timing_reset(struct timing *tm)
{
    memset(tm, 0, sizeof(*tm));
    tm->app_us = -1;
}

bool timing_parse_app(struct timing *tm, const char *v, size_t len)
{
    long long n = 0;
    if (len == 0 || len > 15)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        n = n * 10 + (v[i] - '0');
    }
    tm->app_us = n;
    return true;
}

static double ms(double a, double b)
{
    double d = (b - a) * 1000.0;
    return d < 0 ? 0 : d;
}

size_t timing_format(const struct timing *tm, double now, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(out + o, outlen - o, __VA_ARGS__);                                       \
        if (k_ > 0)                                                                                \
            o = o + (size_t)k_ < outlen ? o + (size_t)k_ : outlen - 1;                             \
    } while (0)
    const double *t = tm->t;
    if (t[TM_HEAD] > 0)
        PUT("read;dur=%.3f, ", ms(t[TM_START], t[TM_HEAD]));
    if (t[TM_UPSTREAM] > 0)
        PUT("queue;dur=%.3f, ", ms(t[TM_HEAD], t[TM_UPSTREAM]));
    if (t[TM_CONNECTED] > 0)
        PUT("connect;dur=%.3f, ", ms(t[TM_UPSTREAM], t[TM_CONNECTED]));
    if (t[TM_RESP_HEAD] > 0)
        PUT("header;dur=%.3f, ",
            ms(t[TM_CONNECTED] > 0 ? t[TM_CONNECTED] : t[TM_UPSTREAM], t[TM_RESP_HEAD]));
    if (tm->app_us >= 0)
        PUT("app;dur=%.3f, ", (double)tm->app_us / 1000.0);
    PUT("total;dur=%.3f", ms(t[TM_START], now));
#undef PUT
    return o;
}
