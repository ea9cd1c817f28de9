/* Unit tests of lb_random.c through the lb_ops table: `random` follows the
 * weights, `random two` prefers the less loaded of two, unusable peers.  The
 * draws are seeded (lb_fix_seed), so every run makes the same ones. */
#include "lbt.h"

static void seeded(void)
{
    lb_fix_seed(0x9e3779b97f4a7c15ull);
}

static void unseeded(void)
{
    lb_fix_seed(0);
}

/* max - min of the peers' loads after `n` held picks. */
static int load_gap(struct lbt *t, int n)
{
    for (int k = 0; k < n; k++) {
        lbt_new_request(t);
        lbt_next(t);
    }
    int mn = t->p[0].active, mx = mn;
    for (int i = 1; i < t->n; i++) {
        mn = t->p[i].active < mn ? t->p[i].active : mn;
        mx = t->p[i].active > mx ? t->p[i].active : mx;
    }
    return mx - mn;
}

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
        if (lbt_pick(&t) == 2)
            ck_abort_msg("pick %d: the down peer", k);
    lbt_free(&t);
    /* holding every pick keeps the loads close: after 4000 picks on 4 peers
     * the gap was at most 4 for 300 seeds out of 300 (plain random: 6 to over
     * 60); here 20 seeds, fixed, so the test makes the same draws each run */
    for (uint64_t seed = 1; seed <= 20; seed++) {
        lb_fix_seed(seed * 0x9e3779b97f4a7c15ull);
        lbt_init(&t, "random", (int[]){1, 1, 1, 1}, 4, args, 2);
        int two = load_gap(&t, 4000);
        lbt_free(&t);
        lbt_init(&t, "random", (int[]){1, 1, 1, 1}, 4, NULL, 0);
        int plain = load_gap(&t, 4000);
        lbt_free(&t);
        ck_assert_msg(two <= 4 && two < plain, "seed %d: gap %d (plain random: %d)", (int)seed, two,
                      plain);
    }
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
    tcase_add_checked_fixture(tc, seeded, unseeded);
    tcase_add_test(tc, random_shares);
    tcase_add_test(tc, random_two_least_conn);
    tcase_add_test(tc, random_unusable);
    suite_add_tcase(s, tc);
    return s;
}
