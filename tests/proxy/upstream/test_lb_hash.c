/* Unit tests of lb_hash.c through the lb_ops table: `hash KEY` and `hash
 * KEY consistent` give the servers nginx 1.22.1 gave for the same keys
 * (recorded from real nginx, servers 127.0.0.1:8001.., $upstream_addr),
 * removing a server remaps only its keys, shares follow weights, and
 * bounded loads keep every server at most F times the mean. */
#include "lbt.h"

static const char NGINX_HASH_W11213[] =
    "deaeeaccccaaaeceeceaecabcaaebacbcacbbeeeaeaeceeecebcbeceeecd";
static const char NGINX_CHASH_W11211[] =
    "cbabacdccabedeaadccadddcacebcbdceeeaedddedbdaeacdcbccdceceab";
static const char NGINX_CHASH_W1121[] =
    "cbabacdccabdddaadccadddcacbbcbdccccaddddcdbdacacdcbccdccccab";

static char *ARGS_PLAIN[] = {"$request_uri"};
static char *ARGS_CONS[] = {"$request_uri", "consistent"};

static void uris(struct lbt *t, char *got)
{
    for (int i = 0; i < 60; i++) {
        char key[64];
        snprintf(key, sizeof(key), "/item/%d?x=%d", i * 7919 % 1000, i);
        t->key = key;
        got[i] = (char)('a' + lbt_pick(t));
    }
    got[60] = 0;
    t->key = NULL;
}

START_TEST(hash_matches_nginx)
{
    struct lbt t;
    char got[64];
    lbt_init(&t, "hash", (int[]){1, 1, 2, 1, 3}, 5, ARGS_PLAIN, 1);
    uris(&t, got);
    ck_assert_str_eq(got, NGINX_HASH_W11213);
    lbt_free(&t);
    lbt_init(&t, "hash", (int[]){1, 1, 2, 1, 1}, 5, ARGS_CONS, 2);
    uris(&t, got);
    ck_assert_str_eq(got, NGINX_CHASH_W11211);
    lbt_free(&t);
    lbt_init(&t, "hash", (int[]){1, 1, 2, 1}, 4, ARGS_CONS, 2);
    uris(&t, got);
    ck_assert_str_eq(got, NGINX_CHASH_W1121);
    lbt_free(&t);
}
END_TEST

START_TEST(chash_removal_moves_only_its_keys)
{
    struct lbt a, b;
    int w[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    lbt_init(&a, "hash", w, 10, ARGS_CONS, 2);
    lbt_init(&b, "hash", w, 9, ARGS_CONS, 2); /* the same minus the last server */
    int moved = 0;
    for (int i = 0; i < 20000; i++) {
        char key[32];
        snprintf(key, sizeof(key), "user-%d", i);
        a.key = b.key = key;
        int x = lbt_pick(&a), y = lbt_pick(&b);
        if (x != 9 && x != y)
            ck_abort_msg("%s: %d with all servers, %d without the last", key, x, y);
        else if (x == 9)
            moved++;
    }
    ck_assert_int_gt(moved, 20000 / 10 / 2); /* the removed server had its share */
    a.key = b.key = NULL;
    lbt_free(&a);
    lbt_free(&b);
}
END_TEST

START_TEST(hash_shares_and_failover)
{
    struct lbt t;
    int w[] = {1, 2, 3};
    lbt_init(&t, "hash", w, 3, ARGS_PLAIN, 1);
    long c[3] = {0, 0, 0};
    char key[32];
    t.key = key;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        c[lbt_pick(&t)]++;
    }
    lbt_assert_shares(&t, c, 100000);
    /* a down server's keys go elsewhere, the others stay */
    snprintf(key, sizeof(key), "k1");
    int home = lbt_pick(&t);
    t.down[home] = true;
    int other = lbt_pick(&t);
    ck_assert_int_ne(other, home);
    ck_assert_int_ge(other, 0);
    t.down[home] = false;
    ck_assert_int_eq(lbt_pick(&t), home);
    /* an empty key: round robin */
    t.key = "";
    ck_assert_int_ge(lbt_pick(&t), 0);
    t.key = NULL;
    lbt_free(&t);
}
END_TEST

START_TEST(chash_shares)
{
    struct lbt t;
    int w[] = {1, 1, 1, 1};
    lbt_init(&t, "hash", w, 4, ARGS_CONS, 2);
    long c[4] = {0, 0, 0, 0};
    char key[32];
    t.key = key;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        c[lbt_pick(&t)]++;
    }
    /* ketama with 160 points per server: within 5% of the share */
    for (int i = 0; i < 4; i++)
        ck_assert_msg(c[i] > 20000 && c[i] < 30000, "server %d got %ld", i, c[i]);
    t.key = NULL;
    lbt_free(&t);
}
END_TEST

START_TEST(chash_bounded_loads)
{
    struct lbt t;
    int w[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    char *args[] = {"$arg_user", "consistent", "bounded=1.25"};
    lbt_init(&t, "hash", w, 8, args, 3);
    /* a skewed key set: a tenth of the keys are one hot key; nothing released */
    char key[32];
    t.key = key;
    int total = 8000;
    for (int i = 0; i < total; i++) {
        snprintf(key, sizeof(key), "u%d", i % 10 == 0 ? 1 : i);
        lbt_new_request(&t);
        if (lbt_next(&t) < 0)
            ck_abort_msg("no peer for %s", key);
    }
    int max = 0;
    for (int i = 0; i < 8; i++)
        max = t.p[i].active > max ? t.p[i].active : max;
    ck_assert_msg(max <= 1.25 * total / 8, "max %d, mean %d", max, total / 8);
    /* without the bound the hot key's server is overloaded */
    struct lbt u;
    lbt_init(&u, "hash", w, 8, args, 2);
    u.key = key;
    for (int i = 0; i < total; i++) {
        snprintf(key, sizeof(key), "u%d", i % 10 == 0 ? 1 : i);
        lbt_new_request(&u);
        lbt_next(&u);
    }
    max = 0;
    for (int i = 0; i < 8; i++)
        max = u.p[i].active > max ? u.p[i].active : max;
    ck_assert_int_gt(max, 1.25 * total / 8);
    t.key = u.key = NULL;
    lbt_free(&t);
    lbt_free(&u);
}
END_TEST

START_TEST(hash_bad_args)
{
    struct lbt t;
    int w[] = {1, 1};
    ck_assert(lbt_init_args(&t, "hash", w, 2, (char *[]){"$x", "consistant"}, 2) != NULL);
    ck_assert(lbt_init_args(&t, "hash", w, 2, (char *[]){"$x", "bounded=2"}, 2) != NULL);
    ck_assert(lbt_init_args(&t, "hash", w, 2, (char *[]){"$x", "consistent", "bounded=x"}, 3) !=
              NULL);
    ck_assert(lbt_init_args(&t, "hash", w, 2, NULL, 0) != NULL);
    ck_assert(lb_find("hash")->keyed);
}
END_TEST

Suite *lb_hash_suite(void)
{
    Suite *s = suite_create("lb_hash");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hash_matches_nginx);
    tcase_add_test(tc, chash_removal_moves_only_its_keys);
    tcase_add_test(tc, hash_shares_and_failover);
    tcase_add_test(tc, chash_shares);
    tcase_add_test(tc, chash_bounded_loads);
    tcase_add_test(tc, hash_bad_args);
    suite_add_tcase(s, tc);
    return s;
}
