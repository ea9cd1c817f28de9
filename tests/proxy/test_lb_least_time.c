/* Unit tests of lb_least_time.c through the lb_ops table: the faster
 * server wins once measured, the moving average follows a slowdown,
 * `inflight` counts requests still running, arguments. */
#include "lbt.h"

static char *HDR[] = {"header"};

START_TEST(lt_prefers_fast)
{
    struct lbt t;
    lbt_init(&t, "least_time", (int[]){1, 1}, 2, HDR, 1);
    /* measure both: a answers in 10 ms, b in 50 ms */
    for (int k = 0; k < 10; k++) {
        lbt_new_request(&t);
        int i = lbt_next(&t);
        lbt_release(&t, i, LB_OK, i == 0 ? 0.010 : 0.050);
    }
    long c[2] = {0, 0};
    for (int k = 0; k < 100; k++) {
        lbt_new_request(&t);
        int i = lbt_next(&t);
        ck_assert_int_ge(i, 0);
        c[i]++;
        lbt_release(&t, i, LB_OK, i == 0 ? 0.010 : 0.050);
    }
    ck_assert_int_eq(c[0], 100);
    /* a slows down to 100 ms: the average follows and b takes over */
    for (int k = 0; k < 60; k++) {
        lbt_new_request(&t);
        int i = lbt_next(&t);
        lbt_release(&t, i, LB_OK, i == 0 ? 0.100 : 0.050);
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
        lbt_release(&t, i, LB_OK, 0.010);
    }
    /* equal times: the one with fewer active connections */
    t.p[0].active = 3;
    ck_assert_int_eq(lbt_pick(&t), 1);
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
        lbt_release(&t, i, LB_OK, i == 0 ? 0.010 : 0.020);
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
    tcase_add_test(tc, lt_inflight);
    tcase_add_test(tc, lt_args);
    suite_add_tcase(s, tc);
    return s;
}
