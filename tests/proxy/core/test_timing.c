/* Unit tests of proxy/core/timing.c's clocks: without a loop they are read each
 * time; with a loop, timing_now() is read once per turn (the same for every
 * read in one turn, new in the next one, taken in that turn and not left over
 * from an earlier one) and timing_wall() is the loop's time of day. */
#include <check.h>
#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "timing.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double real_now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static double wall_s(void)
{
    struct timespec ts;
    timing_wall(&ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spin(double secs)
{
    double until = real_now() + secs;
    while (real_now() < until)
        ;
}

START_TEST(test_no_loop)
{
    timing_use_base(NULL);
    double a = timing_now();
    spin(0.002);
    double b = timing_now();
    ck_assert(b - a >= 0.0019);
    ck_assert(fabs(b - real_now()) < 0.001);
    ck_assert(fabs(wall_s() - clock_s(CLOCK_REALTIME)) < 0.001);
}
END_TEST

#define TURNS 21

struct turns {
    struct event *ev;
    int n;
    double first[TURNS], last[TURNS], woke[TURNS], wall[TURNS];
};

static void on_turn(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct turns *t = arg;
    t->first[t->n] = timing_now();
    t->woke[t->n] = real_now();
    t->wall[t->n] = wall_s();
    spin(0.001); /* work done within the turn does not move the clock */
    t->last[t->n] = timing_now();
    ck_assert(wall_s() == t->wall[t->n]);
    if (++t->n < TURNS) {
        struct timeval tv = {0, 2000};
        evtimer_add(t->ev, &tv);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_loop_turns)
{
    struct event_config *ecf = event_config_new();
    event_config_set_flag(ecf, EVENT_BASE_FLAG_PRECISE_TIMER);
    struct event_base *base = event_base_new_with_config(ecf);
    event_config_free(ecf);
    ck_assert_ptr_nonnull(base);
    timing_use_base(base);
    struct turns t = {0};
    t.ev = evtimer_new(base, on_turn, &t);
    struct timeval tv = {0, 1000};
    evtimer_add(t.ev, &tv);
    ck_assert_int_eq(event_base_dispatch(base), 1); /* no events left */
    ck_assert_int_eq(t.n, TURNS);
    double lag[TURNS];
    for (int i = 0; i < TURNS; i++) {
        ck_assert(t.first[i] == t.last[i]);
        /* read in this turn: not after the callback's own reading of the
         * clock (and, below, usually just before it) */
        lag[i] = t.woke[i] - t.first[i];
        ck_assert_msg(lag[i] >= 0, "turn %d: %.6f after %.6f", i, t.first[i], t.woke[i]);
        /* a turn comes when the loop's time is >= the last one's + 2 ms */
        if (i > 0) {
            ck_assert_msg(t.first[i] - t.first[i - 1] >= 0.002 - 20e-6, "turn %d: %.6f s", i,
                          t.first[i] - t.first[i - 1]);
            ck_assert_msg(t.wall[i] - t.wall[i - 1] >= 0.002 - 20e-6, "turn %d: %.6f s", i,
                          t.wall[i] - t.wall[i - 1]);
        }
    }
    /* not a value from an earlier turn: a preempted turn may lag, the median not */
    qsort(lag, TURNS, sizeof(lag[0]), cmp_double);
    ck_assert_msg(lag[TURNS / 2] < 0.0003, "median lag %.6f s", lag[TURNS / 2]);
    event_free(t.ev);
    timing_use_base(NULL);
    event_base_free(base);
    /* outside the loop: read each time again */
    double a = timing_now();
    spin(0.001);
    ck_assert(timing_now() - a >= 0.001);
}
END_TEST

Suite *timing_suite(void)
{
    Suite *s = suite_create("timing");
    TCase *tc = tcase_create("clock");
    tcase_add_test(tc, test_no_loop);
    tcase_add_test(tc, test_loop_turns);
    suite_add_tcase(s, tc);
    return s;
}
