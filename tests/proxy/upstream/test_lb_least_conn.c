/* Unit tests of lb_least_conn.c through the lb_ops table: fewest active
 * connections per weight, ties by weighted round robin (nginx's order),
 * shares when nothing is held, failures. */
#include "lbt.h"

START_TEST(lc_prefers_fewest_per_weight)
{
    struct lbt t;
    lbt_init(&t, "least_conn", (int[]){1, 1, 1}, 3, NULL, 0);
    /* hold one request on each pick: each round of ties is settled by the
     * round robin counters, which only move on ties (nginx: a b c c b a) */
    char got[7] = {0};
    for (int k = 0; k < 6; k++) {
        lbt_new_request(&t);
        got[k] = (char)('a' + lbt_next(&t));
    }
    ck_assert_str_eq(got, "abccba");
    /* b finishes both: it is the least loaded */
    lbt_release(&t, 1, LB_OK, -1, -1);
    lbt_release(&t, 1, LB_OK, -1, -1);
    ck_assert_int_eq(lbt_pick(&t), 1);
    lbt_free(&t);
    /* weights: 2 connections on a weight-2 server equal 1 on a weight-1 one */
    lbt_init(&t, "least_conn", (int[]){2, 1}, 2, NULL, 0);
    t.p[0].active = 3;
    t.p[1].active = 1;
    ck_assert_int_eq(lbt_pick(&t), 1);
    t.p[0].active = 1;
    ck_assert_int_eq(lbt_pick(&t), 0);
    lbt_free(&t);
}
END_TEST

START_TEST(lc_ties_weighted_rr)
{
    struct lbt t;
    lbt_init(&t, "least_conn", (int[]){5, 1, 1}, 3, NULL, 0);
    char got[8] = {0};
    for (int k = 0; k < 7; k++)
        got[k] = (char)('a' + lbt_pick(&t));
    ck_assert_str_eq(got, "aabacaa");
    long c[3];
    lbt_count(&t, 100000, c);
    lbt_assert_shares(&t, c, 100000);
    lbt_free(&t);
}
END_TEST

START_TEST(lc_unusable)
{
    struct lbt t;
    lbt_init(&t, "least_conn", (int[]){1, 1}, 2, NULL, 0);
    t.down[0] = true;
    t.p[1].active = 10;
    ck_assert_int_eq(lbt_pick(&t), 1);
    t.max_conns[1] = 10;
    ck_assert_int_eq(lbt_pick(&t), -1);
    lbt_free(&t);
    ck_assert(lbt_init_args(&t, "least_conn", (int[]){1}, 1, (char *[]){"x"}, 1) != NULL);
}
END_TEST

Suite *lb_least_conn_suite(void)
{
    Suite *s = suite_create("lb_least_conn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, lc_prefers_fewest_per_weight);
    tcase_add_test(tc, lc_ties_weighted_rr);
    tcase_add_test(tc, lc_unusable);
    suite_add_tcase(s, tc);
    return s;
}
