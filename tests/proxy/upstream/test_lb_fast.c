/* Unit tests of the fast modes (proxy/upstream/lb_sets.h) of round_robin, least_conn
 * and least_time, through the lb_ops table: with lb_ctx.gen set they must
 * choose exactly what the walk chooses (the same policy with gen 0) under
 * random holds, releases, failures, down flags, max_conns and retries, and
 * leave the same counters; and once nothing changes they must stop asking
 * about every peer. */
#include "lbt.h"

struct twin {
    struct lbt a; /* the walk: gen 0 */
    struct lbt b; /* fast modes allowed */
    int held[24];
    int nheld;
    uint64_t rs;
};

static uint64_t rnd(struct twin *w)
{
    w->rs ^= w->rs >> 12;
    w->rs ^= w->rs << 25;
    w->rs ^= w->rs >> 27;
    return w->rs * 0x2545f4914f6cdd1dull;
}

static void twin_init(struct twin *w, const char *name, char **args, int nargs, const int *wt,
                      int n, uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    lbt_init(&w->a, name, wt, n, args, nargs);
    lbt_init(&w->b, name, wt, n, args, nargs);
    w->b.gen = 1;
    w->rs = seed;
}

static void twin_free(struct twin *w)
{
    lbt_free(&w->a);
    lbt_free(&w->b);
}

static void same_counters(struct twin *w, const char *when, int step)
{
    for (int i = 0; i < w->a.n; i++) {
        if (w->a.p[i].cur_weight != w->b.p[i].cur_weight)
            ck_abort_msg("%s step %d: peer %d cur_weight %d (walk) vs %d (fast)", when, step, i,
                         w->a.p[i].cur_weight, w->b.p[i].cur_weight);
        if (w->a.p[i].eff_weight != w->b.p[i].eff_weight)
            ck_abort_msg("%s step %d: peer %d eff_weight %d (walk) vs %d (fast)", when, step, i,
                         w->a.p[i].eff_weight, w->b.p[i].eff_weight);
        if (w->a.p[i].active != w->b.p[i].active)
            ck_abort_msg("%s step %d: peer %d active %d (walk) vs %d (fast)", when, step, i,
                         w->a.p[i].active, w->b.p[i].active);
    }
}

static void release(struct twin *w, int k, enum lb_result r)
{
    static const double secs[] = {0.001, 0.002, 0.004};
    double hs = secs[rnd(w) % 3];
    int i = w->held[k];
    w->held[k] = w->held[--w->nheld];
    lbt_release(&w->a, i, r, hs, hs * 2);
    lbt_release(&w->b, i, r, hs, hs * 2);
    if (r == LB_FAIL) /* what upstream.c does to a failed peer (max_fails=2) */
        for (int s = 0; s < 2; s++) {
            struct lbt *t = s ? &w->b : &w->a;
            t->p[i].eff_weight -= t->p[i].weight / 2;
            if (t->p[i].eff_weight < 0)
                t->p[i].eff_weight = 0;
        }
    if (r == LB_FAIL)
        w->b.gen++;
}

/* A pick on both; the fast one must agree. */
static int pick(struct twin *w, bool retry, int step)
{
    if (!retry) {
        lbt_new_request(&w->a);
        lbt_new_request(&w->b);
    }
    int x = lbt_next(&w->a), y = lbt_next(&w->b);
    if (x != y)
        ck_abort_msg("step %d: walk picked %d, fast %d", step, x, y);
    if (x >= 0) {
        if (w->nheld == (int)(sizeof(w->held) / sizeof(w->held[0])))
            release(w, 0, LB_OK);
        w->held[w->nheld++] = x;
    }
    return x;
}

/* Phases of calm (events one in 500 steps: long steady runs, the round
 * robin's schedule replays) and of churn (one in 8). */
static void run(struct twin *w, int steps)
{
    int n = w->a.n;
    for (int step = 0; step < steps; step++) {
        w->a.now = w->b.now = step * 0.001;
        bool calm = (step / 3000) % 2 == 0;
        uint64_t r = rnd(w) % (calm ? 4000 : 64);
        if (r == 0) { /* down flips */
            int i = (int)(rnd(w) % (uint64_t)n);
            w->a.down[i] = w->b.down[i] = !w->a.down[i];
            w->b.gen++;
        } else if (r == 1) { /* max_conns changes */
            int i = (int)(rnd(w) % (uint64_t)n), m = (int)(rnd(w) % 4);
            w->a.max_conns[i] = w->b.max_conns[i] = m;
            w->b.gen++;
        } else if (r == 2 && w->nheld > 0) { /* a failure */
            release(w, (int)(rnd(w) % (uint64_t)w->nheld), LB_FAIL);
        } else if (r == 3) { /* a retry of the last request */
            pick(w, true, step);
        } else if (r == 4) { /* compare the counters: the fast side writes back */
            w->b.gen++;
            pick(w, false, step);
            same_counters(w, "after a change", step);
        } else if (r < 16 && w->nheld > 0) {
            release(w, (int)(rnd(w) % (uint64_t)w->nheld), LB_OK);
        } else {
            pick(w, false, step);
            /* most requests end before the next one starts */
            if (w->nheld > 0 && rnd(w) % 4 != 0)
                release(w, w->nheld - 1, LB_OK);
        }
    }
    w->b.gen++;
    pick(w, false, steps);
    same_counters(w, "at the end", steps);
}

static const int W_UNIT[40] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                               1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const int W_MIXED[40] = {5, 1, 1, 3, 2, 1, 4, 1, 2, 2, 1, 3, 1, 1, 6, 1, 2, 1, 1, 1,
                                2, 3, 1, 1, 1, 2, 1, 5, 1, 1, 3, 1, 1, 2, 1, 1, 1, 4, 1, 2};

static void run_policy(const char *name, char **args, int nargs)
{
    static const int sizes[] = {2, 7, 16, 40};
    for (int wi = 0; wi < 2; wi++)
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
            for (uint64_t seed = 1; seed <= 3; seed++) {
                struct twin w;
                twin_init(&w, name, args, nargs, wi ? W_MIXED : W_UNIT, sizes[k],
                          seed * 0x9e3779b97f4a7c15ull + k);
                run(&w, 24000);
                twin_free(&w);
            }
}

START_TEST(fast_rr_same_as_walk)
{
    run_policy("round_robin", NULL, 0);
}
END_TEST

START_TEST(fast_least_conn_same_as_walk)
{
    run_policy("least_conn", NULL, 0);
}
END_TEST

START_TEST(fast_least_time_same_as_walk)
{
    run_policy("least_time", (char *[]){"header"}, 1);
    run_policy("least_time", (char *[]){"last_byte"}, 1);
}
END_TEST

/* Steady state: after the warm-up, picks stop asking usable() for every
 * peer (round robin, least_conn and least_time each hold some requests). */
static void assert_goes_fast(const char *name, char **args, int nargs, bool want_fast)
{
    struct lbt t;
    lbt_init(&t, name, W_MIXED, 40, args, nargs);
    t.gen = 7;
    int held[4], nh = 0;
    for (int k = 0; k < 5000; k++) {
        if (k == 4000)
            t.usable_calls = 0;
        lbt_new_request(&t);
        int i = lbt_next(&t);
        if (i < 0)
            ck_abort_msg("%s: no peer at pick %d", name, k);
        if (nh == 4) {
            lbt_release(&t, held[0], LB_OK, 0.001 * (k % 3), 0.002);
            memmove(held, held + 1, sizeof(int) * 3);
            nh--;
        }
        held[nh++] = i;
    }
    if (want_fast)
        ck_assert_msg(t.usable_calls == 0, "%s: %ld usable() calls in 1000 steady picks", name,
                      t.usable_calls);
    else
        ck_assert_int_ge(t.usable_calls, 1000 * 40);
    lbt_free(&t);
}

START_TEST(fast_modes_engage)
{
    assert_goes_fast("round_robin", NULL, 0, true);
    assert_goes_fast("least_conn", NULL, 0, true);
    assert_goes_fast("least_time", (char *[]){"header"}, 1, true);
    /* inflight scores move with the clock: every pick walks */
    assert_goes_fast("least_time", (char *[]){"header", "inflight"}, 2, false);
}
END_TEST

Suite *lb_fast_suite(void)
{
    Suite *s = suite_create("lb_fast");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fast_rr_same_as_walk);
    tcase_add_test(tc, fast_least_conn_same_as_walk);
    tcase_add_test(tc, fast_least_time_same_as_walk);
    tcase_add_test(tc, fast_modes_engage);
    suite_add_tcase(s, tc);
    return s;
}
