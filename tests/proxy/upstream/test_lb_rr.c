/* Unit tests of lb_rr.c (through the lb_ops table): nginx's smooth weighted
 * round robin sequences, shares, down peers and effective weights. */
#include "lbt.h"

static void seq(const int *w, int n, const char *want)
{
    struct lbt t;
    lbt_init(&t, "round_robin", w, n, NULL, 0);
    char got[64] = {0};
    size_t len = strlen(want);
    for (size_t k = 0; k < len; k++)
        got[k] = (char)('a' + lbt_pick(&t));
    ck_assert_str_eq(got, want);
    lbt_free(&t);
}

START_TEST(rr_nginx_sequences)
{
    seq((int[]){5, 1, 1}, 3, "aabacaaaabacaa");
    seq((int[]){3, 2, 1}, 3, "abacbaabacba");
    seq((int[]){1, 1, 1}, 3, "abcabcabc");
    seq((int[]){1}, 1, "aaa");
}
END_TEST

START_TEST(rr_shares)
{
    struct lbt t;
    int w[] = {5, 3, 2, 1, 9};
    lbt_init(&t, "round_robin", w, 5, NULL, 0);
    long c[5];
    lbt_count(&t, 100000, c);
    lbt_assert_shares(&t, c, 100000);
    lbt_free(&t);
}
END_TEST

START_TEST(rr_down_and_tried)
{
    struct lbt t;
    int w[] = {1, 1, 1};
    lbt_init(&t, "round_robin", w, 3, NULL, 0);
    t.down[1] = true;
    for (int k = 0; k < 10; k++)
        ck_assert_int_ne(lbt_pick(&t), 1);
    /* one request tries every usable peer once, then gets -1 */
    lbt_new_request(&t);
    int a = lbt_next(&t), b = lbt_next(&t);
    ck_assert_int_ne(a, b);
    ck_assert_int_eq(lbt_next(&t), -1);
    t.down[0] = t.down[2] = true;
    ck_assert_int_eq(lbt_pick(&t), -1);
    lbt_free(&t);
    ck_assert(lbt_init_args(&t, "round_robin", w, 3, (char *[]){"x"}, 1) != NULL);
}
END_TEST

START_TEST(rr_effective_weight_recovers)
{
    /* after a failure upstream.c lowers eff_weight; each pick raises it */
    struct lbt t;
    int w[] = {4, 4};
    lbt_init(&t, "round_robin", w, 2, NULL, 0);
    t.p[0].eff_weight = 0;
    long c[2] = {0, 0};
    for (int k = 0; k < 4; k++)
        c[lbt_pick(&t)]++;
    ck_assert_int_eq(t.p[0].eff_weight, 4);
    ck_assert_int_gt(c[1], c[0]);
    lbt_free(&t);
}
END_TEST

START_TEST(lb_table)
{
    const char *const *names = lb_names();
    int n = 0;
    for (; names[n]; n++)
        ck_assert_ptr_eq(lb_find(names[n])->name, names[n]);
    ck_assert_int_ge(n, 7);
    ck_assert_ptr_null(lb_find("nope"));
    ck_assert_ptr_null(lb_find(NULL));
}
END_TEST

Suite *lb_rr_suite(void)
{
    Suite *s = suite_create("lb_rr");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rr_nginx_sequences);
    tcase_add_test(tc, rr_shares);
    tcase_add_test(tc, rr_down_and_tried);
    tcase_add_test(tc, rr_effective_weight_recovers);
    tcase_add_test(tc, lb_table);
    suite_add_tcase(s, tc);
    return s;
}
