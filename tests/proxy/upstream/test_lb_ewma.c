/* Unit tests of lb_ewma.c (`peak_ewma`) through the lb_ops table: a slow
 * server gets little traffic, a latency spike counts at once (peak), the
 * estimate decays back, failures look slow, arguments. */
#include "lbt.h"

static long run(struct lbt *t, int n, const double *lat, long *c)
{
    for (int k = 0; k < n; k++) {
        lbt_new_request(t);
        int i = lbt_next(t);
        ck_assert_int_ge(i, 0);
        c[i]++;
        t->now += 0.01;
        lbt_release(t, i, LB_OK, lat[i], lat[i]);
    }
    return 0;
}

START_TEST(ewma_avoids_slow)
{
    struct lbt t;
    lbt_init(&t, "peak_ewma", (int[]){1, 1, 1, 1}, 4, NULL, 0);
    t.now = 1000;
    double lat[] = {0.010, 0.010, 0.500, 0.010};
    long c[4] = {0, 0, 0, 0};
    run(&t, 4000, lat, c);
    ck_assert_msg(c[2] < 4000 / 20, "slow server got %ld of 4000", c[2]);
    lbt_free(&t);
}
END_TEST

START_TEST(ewma_peak_then_decay)
{
    struct lbt t;
    lbt_init(&t, "peak_ewma", (int[]){1, 1}, 2, (char *[]){"decay=1s"}, 1);
    t.now = 50;
    double lat[] = {0.010, 0.010};
    long c[2] = {0, 0};
    run(&t, 200, lat, c);
    ck_assert_int_gt(c[0], 50);
    ck_assert_int_gt(c[1], 50);
    /* one 2 s answer from server 0 makes it the worse of any pair at once */
    lbt_new_request(&t);
    int i = lbt_next(&t);
    lbt_release(&t, i, LB_OK, 2.0, 2.0);
    for (int k = 0; k < 50; k++)
        ck_assert_int_eq(lbt_pick(&t), 1 - i);
    /* failures count as slow */
    t.now += 100; /* both estimates decay */
    c[0] = c[1] = 0;
    run(&t, 200, lat, c);
    ck_assert_int_gt(c[i], 20);
    lbt_free(&t);
}
END_TEST

START_TEST(ewma_failure_is_slow)
{
    struct lbt t;
    lbt_init(&t, "peak_ewma", (int[]){1, 1}, 2, NULL, 0);
    t.now = 10;
    lbt_new_request(&t);
    int i = lbt_next(&t);
    lbt_release(&t, i, LB_FAIL, -1, -1);
    for (int k = 0; k < 20; k++)
        ck_assert_int_eq(lbt_pick(&t), 1 - i);
    lbt_free(&t);
    ck_assert(lbt_init_args(&t, "peak_ewma", (int[]){1}, 1, (char *[]){"decay=0"}, 1) != NULL);
    ck_assert(lbt_init_args(&t, "peak_ewma", (int[]){1}, 1, (char *[]){"fast"}, 1) != NULL);
    ck_assert(lbt_init_args(&t, "peak_ewma", (int[]){1}, 1, (char *[]){"decay=500ms"}, 1) == NULL);
    lbt_free(&t);
}
END_TEST

Suite *lb_ewma_suite(void)
{
    Suite *s = suite_create("lb_ewma");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ewma_avoids_slow);
    tcase_add_test(tc, ewma_peak_then_decay);
    tcase_add_test(tc, ewma_failure_is_slow);
    suite_add_tcase(s, tc);
    return s;
}
