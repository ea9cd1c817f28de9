/* Unit tests of lb_random.c through the lb_ops table: `random` follows the
 * weights, `random two` prefers the less loaded of two, unusable peers. */
#include "lbt.h"

START_TEST(random_shares)
{
    struct lbt t;
    lbt_init(&t, "random", (int[]){1, 2, 3, 4}, 4, NULL, 0);
    long c[4];
    lbt_count(&t, 100000, c);
    lbt_assert_shares(&t, c, 100000);
    lbt_free(&t);
}
END_TEST

START_TEST(random_two_least_conn)
{
    struct lbt t;
    char *args[] = {"two", "least_conn"};
    lbt_init(&t, "random", (int[]){1, 1, 1, 1}, 4, args, 2);
    /* equal load: shares follow weights */
    long c[4];
    lbt_count(&t, 100000, c);
    lbt_assert_shares(&t, c, 100000);
    /* one loaded peer is chosen only when drawn with itself: never */
    t.p[2].active = 50;
    for (int k = 0; k < 1000; k++)
        ck_assert_int_ne(lbt_pick(&t), 2);
    /* holding every pick keeps loads within one of each other */
    t.p[2].active = 0;
    for (int k = 0; k < 4000; k++) {
        lbt_new_request(&t);
        lbt_next(&t);
    }
    int mn = t.p[0].active, mx = mn;
    for (int i = 1; i < 4; i++) {
        mn = t.p[i].active < mn ? t.p[i].active : mn;
        mx = t.p[i].active > mx ? t.p[i].active : mx;
    }
    ck_assert_msg(mx - mn <= 3, "loads %d..%d", mn, mx);
    lbt_free(&t);
}
END_TEST

START_TEST(random_unusable)
{
    struct lbt t;
    lbt_init(&t, "random", (int[]){1, 1, 1}, 3, NULL, 0);
    t.down[0] = t.down[1] = true;
    for (int k = 0; k < 100; k++)
        ck_assert_int_eq(lbt_pick(&t), 2);
    t.down[2] = true;
    ck_assert_int_eq(lbt_pick(&t), -1);
    lbt_free(&t);
    ck_assert(lbt_init_args(&t, "random", (int[]){1}, 1, (char *[]){"three"}, 1) != NULL);
    ck_assert(lbt_init_args(&t, "random", (int[]){1}, 1, (char *[]){"two", "x"}, 2) != NULL);
}
END_TEST

Suite *lb_random_suite(void)
{
    Suite *s = suite_create("lb_random");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, random_shares);
    tcase_add_test(tc, random_two_least_conn);
    tcase_add_test(tc, random_unusable);
    suite_add_tcase(s, tc);
    return s;
}
