/* Unit tests of lb_least_time.c through the lb_ops table: the faster
 * server wins once measured, the moving average follows a slowdown (and is
 * exactly the one lb_least_time.c documents), `header` and `last_byte`
 * measure different times, `inflight` counts requests still running, down
 * peers and failed tries, arguments. */
#include <math.h>

#include "lbt.h"

static char *HDR[] = {"header"};
static char *LAST[] = {"last_byte"};

/* One whole request to peer `want` (the others down meanwhile), answered
 * with these header and last-byte times. */
static void measure(struct lbt *t, int want, enum lb_result r, double hs, double s)
{
    bool down[LBT_MAX];
    memcpy(down, t->down, sizeof(down));
    for (int i = 0; i < t->n; i++)
        t->down[i] = i != want;
    lbt_new_request(t);
    ck_assert_int_eq(lbt_next(t), want);
    lbt_release(t, want, r, hs, s);
    memcpy(t->down, down, sizeof(down));
}

START_TEST(lt_prefers_fast)
{
    struct lbt t;
    lbt_init(&t, "least_time", (int[]){1, 1}, 2, HDR, 1);
    /* measure both: a answers in 10 ms, b in 50 ms */
    for (int k = 0; k < 10; k++) {
        lbt_new_request(&t);
        int i = lbt_next(&t);
        double secs = i == 0 ? 0.010 : 0.050;
        lbt_release(&t, i, LB_OK, secs, secs);
    }
    long c[2] = {0, 0};
    for (int k = 0; k < 100; k++) {
        lbt_new_request(&t);
        int i = lbt_next(&t);
        ck_assert_int_ge(i, 0);
        c[i]++;
        double secs = i == 0 ? 0.010 : 0.050;
        lbt_release(&t, i, LB_OK, secs, secs);
    }
    ck_assert_int_eq(c[0], 100);
    /* a slows down to 100 ms: the average follows and b takes over */
    for (int k = 0; k < 60; k++) {
        lbt_new_request(&t);
        int i = lbt_next(&t);
        double secs = i == 0 ? 0.100 : 0.050;
        lbt_release(&t, i, LB_OK, secs, secs);
    }
    ck_assert_int_eq(lbt_pick(&t), 1);
    lbt_free(&t);
}
END_TEST

START_TEST(lt_load_counts)
{
    struct lbt t;
    lbt_init(&t, "least_time", (int[]){1, 1}, 2, HDR, 1);
    for (int k = 0; k < 4; k++) {
        lbt_new_request(&t);
        int i = lbt_next(&t);
        lbt_release(&t, i, LB_OK, 0.010, 0.010);
    }
    /* equal times: the one with fewer active connections */
    t.p[0].active = 3;
    ck_assert_int_eq(lbt_pick(&t), 1);
    lbt_free(&t);
}
END_TEST

/* a: head after 10 ms, last byte after 500 ms (a slow body); b: head after
 * 100 ms, last byte after 120 ms.  `header` sends the next requests to a,
 * `last_byte` to b.  Then only the measured time moves the choice: the
 * loser's other time (or an unknown, -1, measured one) changes nothing,
 * its measured time falling to 1 ms makes it win. */
START_TEST(lt_header_vs_last_byte)
{
    char **modes[] = {HDR, LAST};
    for (int m = 0; m < 2; m++) {
        struct lbt t;
        lbt_init(&t, "least_time", (int[]){1, 1}, 2, modes[m], 1);
        for (int k = 0; k < 5; k++) {
            measure(&t, 0, LB_OK, 0.010, 0.500);
            measure(&t, 1, LB_OK, 0.100, 0.120);
        }
        int win = m == 0 ? 0 : 1, lose = 1 - win;
        for (int k = 0; k < 20; k++)
            ck_assert_msg(lbt_pick(&t) == win, "%s: pick %d", modes[m][0], k);
        for (int k = 0; k < 30; k++) /* measured time unknown, the other one fast */
            measure(&t, lose, LB_OK, m == 0 ? -1 : 0.001, m == 0 ? 0.001 : -1);
        ck_assert_msg(lbt_pick(&t) == win, "%s: an unknown or the other time was read",
                      modes[m][0]);
        for (int k = 0; k < 30; k++) /* measured time 1 ms, the other one 9 s */
            measure(&t, lose, LB_OK, m == 0 ? 0.001 : 9.0, m == 0 ? 9.0 : 0.001);
        ck_assert_msg(lbt_pick(&t) == lose, "%s: the measured time was not read", modes[m][0]);
        lbt_free(&t);
    }
}
END_TEST

/* The moving average, to the bit: the first sample as is, then
 * avg += (sample - avg) * 0.1 (lb_least_time.c).  Peer b gets a single
 * sample (taken as is) one ulp above, then one ulp below, the average a
 * must have: a wins the first race and loses the second. */
START_TEST(lt_moving_average_exact)
{
    static const double samples[] = {0.100, 0.300, 0.050, 0.200, 0.020, 0.700};
    int ns = (int)(sizeof(samples) / sizeof(samples[0]));
    char **modes[] = {HDR, LAST};
    for (int m = 0; m < 2; m++) {
        double avg = samples[0];
        for (int k = 1; k < ns; k++)
            avg += (samples[k] - avg) * 0.1;
        ck_assert(fabs(avg - 0.170377) < 1e-9); /* the same formula by hand */
        for (int side = 0; side < 2; side++) {
            struct lbt t;
            lbt_init(&t, "least_time", (int[]){1, 1}, 2, modes[m], 1);
            for (int k = 0; k < ns; k++) /* the other time is far off: never read */
                measure(&t, 0, LB_OK, m == 0 ? samples[k] : 9.0, m == 0 ? 9.0 : samples[k]);
            double b = nextafter(avg, side == 0 ? INFINITY : -INFINITY);
            measure(&t, 1, LB_OK, b, b);
            int got = lbt_pick(&t);
            ck_assert_msg(got == side, "%s: b one ulp %s a's average: picked %d", modes[m][0],
                          side == 0 ? "above" : "below", got);
            lbt_free(&t);
        }
    }
}
END_TEST

/* A down peer is never picked however fast; failed and discarded tries
 * feed no sample (a 5 s failure does not make the fast peer look slow);
 * none usable gives -1. */
START_TEST(lt_down_and_failed)
{
    struct lbt t;
    lbt_init(&t, "least_time", (int[]){1, 1, 1}, 3, LAST, 1);
    measure(&t, 0, LB_OK, 0.001, 0.010);
    measure(&t, 1, LB_OK, 0.001, 0.050);
    measure(&t, 2, LB_OK, 0.001, 0.080);
    ck_assert_int_eq(lbt_pick(&t), 0);
    t.down[0] = true;
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(lbt_pick(&t), 1);
    t.down[0] = false;
    measure(&t, 0, LB_FAIL, 5.0, 5.0);
    measure(&t, 0, LB_DISCARD, 5.0, 5.0);
    ck_assert_int_eq(lbt_pick(&t), 0);
    /* a try that failed on a peer moves the request on to the next best */
    lbt_new_request(&t);
    ck_assert_int_eq(lbt_next(&t), 0);
    lbt_release(&t, 0, LB_FAIL, -1, -1);
    ck_assert_int_eq(lbt_next(&t), 1);
    lbt_release(&t, 1, LB_OK, 0.001, 0.050);
    ck_assert_int_eq(lbt_next(&t), 2);
    lbt_release(&t, 2, LB_OK, 0.001, 0.080);
    ck_assert_int_eq(lbt_next(&t), -1);
    /* a peer that only ever failed has no sample: it counts as 0 and is
     * offered next, to be measured */
    struct lbt u;
    lbt_init(&u, "least_time", (int[]){1, 1}, 2, LAST, 1);
    measure(&u, 1, LB_OK, 0.001, 0.050);
    measure(&u, 0, LB_FAIL, 3.0, 3.0);
    ck_assert_int_eq(lbt_pick(&u), 0);
    u.down[0] = u.down[1] = true;
    ck_assert_int_eq(lbt_pick(&u), -1);
    lbt_free(&u);
    lbt_free(&t);
}
END_TEST

START_TEST(lt_inflight)
{
    struct lbt t;
    char *args[] = {"last_byte", "inflight"};
    lbt_init(&t, "least_time", (int[]){1, 1}, 2, args, 2);
    t.now = 100;
    for (int k = 0; k < 4; k++) {
        lbt_new_request(&t);
        int i = lbt_next(&t);
        double secs = i == 0 ? 0.010 : 0.020;
        lbt_release(&t, i, LB_OK, secs, secs);
    }
    /* a hangs on a request: after 5 s, its time is the request's age */
    lbt_new_request(&t);
    ck_assert_int_eq(lbt_next(&t), 0);
    t.now = 105;
    ck_assert_int_eq(lbt_pick(&t), 1);
    lbt_free(&t);
}
END_TEST

START_TEST(lt_args)
{
    struct lbt t;
    int w[] = {1, 1};
    ck_assert(lbt_init_args(&t, "least_time", w, 2, NULL, 0) != NULL);
    ck_assert(lbt_init_args(&t, "least_time", w, 2, (char *[]){"first_byte"}, 1) != NULL);
    ck_assert(lbt_init_args(&t, "least_time", w, 2, (char *[]){"header", "x"}, 2) != NULL);
    ck_assert(lbt_init_args(&t, "least_time", w, 2, (char *[]){"header", "inflight"}, 2) == NULL);
    lbt_free(&t);
}
END_TEST

Suite *lb_least_time_suite(void)
{
    Suite *s = suite_create("lb_least_time");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, lt_prefers_fast);
    tcase_add_test(tc, lt_load_counts);
    tcase_add_test(tc, lt_header_vs_last_byte);
    tcase_add_test(tc, lt_moving_average_exact);
    tcase_add_test(tc, lt_down_and_failed);
    tcase_add_test(tc, lt_inflight);
    tcase_add_test(tc, lt_args);
    suite_add_tcase(s, tc);
    return s;
}
