/* Unit tests of proxy/core/phase.c: handlers run phase by phase in nginx's
 * order and, within a phase, in registration order; PHASE_DONE stops the run;
 * PHASE_AGAIN stops it until phase_resume() goes on after that handler;
 * empty phases are skipped; the log phase runs only through phase_log();
 * registration ignores duplicates and refuses what does not fit.  No request
 * and no socket: the engine passes an opaque pointer, here a trace. */
#include <check.h>
#include <string.h>

#include "phase.h"

struct trace {
    char seen[64]; /* one letter per handler run */
    int n;
};

static void mark(void *r, char ch)
{
    struct trace *t = r;
    t->seen[t->n++] = ch;
    t->seen[t->n] = '\0';
}

static enum phase_rc h_a(void *r)
{
    mark(r, 'a');
    return PHASE_NEXT;
}
static enum phase_rc h_b(void *r)
{
    mark(r, 'b');
    return PHASE_NEXT;
}
static enum phase_rc h_c(void *r)
{
    mark(r, 'c');
    return PHASE_NEXT;
}
static enum phase_rc h_done(void *r)
{
    mark(r, 'D');
    return PHASE_DONE;
}
static enum phase_rc h_again(void *r)
{
    mark(r, 'A');
    return PHASE_AGAIN;
}
static enum phase_rc h_log(void *r)
{
    mark(r, 'L');
    return PHASE_DONE; /* ignored: every log handler runs */
}
static enum phase_rc h_log2(void *r)
{
    mark(r, 'M');
    return PHASE_NEXT;
}

START_TEST(test_order_by_phase_then_registration)
{
    phase_reset();
    /* registered out of phase order */
    ck_assert_int_eq(phase_add(PH_CONTENT, h_c), 0);
    ck_assert_int_eq(phase_add(PH_ACCESS, h_b), 0);
    ck_assert_int_eq(phase_add(PH_SERVER, h_a), 0);
    ck_assert_int_eq(phase_add(PH_ACCESS, h_a), 0);
    struct trace t = {{0}, 0};
    struct phase_cursor pc;
    ck_assert_int_eq(phase_run(&pc, &t), PHASE_NEXT);
    ck_assert_str_eq(t.seen, "abac");
}
END_TEST

START_TEST(test_done_stops)
{
    phase_reset();
    phase_add(PH_FIND_LOCATION, h_a);
    phase_add(PH_REWRITE, h_done);
    phase_add(PH_REWRITE, h_b);
    phase_add(PH_CONTENT, h_c);
    struct trace t = {{0}, 0};
    struct phase_cursor pc;
    ck_assert_int_eq(phase_run(&pc, &t), PHASE_DONE);
    ck_assert_str_eq(t.seen, "aD");
}
END_TEST

START_TEST(test_again_then_resume)
{
    phase_reset();
    phase_add(PH_SERVER, h_a);
    phase_add(PH_ACCESS, h_again);
    phase_add(PH_ACCESS, h_b);
    phase_add(PH_TRY_FILES, h_again);
    phase_add(PH_CONTENT, h_done);
    phase_add(PH_CONTENT, h_c);
    struct trace t = {{0}, 0};
    struct phase_cursor pc;
    ck_assert_int_eq(phase_run(&pc, &t), PHASE_AGAIN);
    ck_assert_str_eq(t.seen, "aA");
    ck_assert_int_eq(pc.ph, PH_ACCESS);
    /* the handler finished asynchronously: on with the one after it */
    ck_assert_int_eq(phase_resume(&pc, &t), PHASE_AGAIN);
    ck_assert_str_eq(t.seen, "aAbA");
    ck_assert_int_eq(phase_resume(&pc, &t), PHASE_DONE);
    ck_assert_str_eq(t.seen, "aAbAD");
}
END_TEST

START_TEST(test_resume_at_the_last_handler)
{
    phase_reset();
    phase_add(PH_CONTENT, h_again);
    struct trace t = {{0}, 0};
    struct phase_cursor pc;
    ck_assert_int_eq(phase_run(&pc, &t), PHASE_AGAIN);
    /* nothing after it: the run ends without an answer */
    ck_assert_int_eq(phase_resume(&pc, &t), PHASE_NEXT);
    ck_assert_str_eq(t.seen, "A");
}
END_TEST

START_TEST(test_empty_phases)
{
    phase_reset();
    for (int ph = 0; ph < PH_COUNT; ph++)
        ck_assert_int_eq(phase_count((enum phase_id)ph), 0);
    struct trace t = {{0}, 0};
    struct phase_cursor pc;
    ck_assert_int_eq(phase_run(&pc, &t), PHASE_NEXT);
    ck_assert_int_eq(t.n, 0);
    phase_log(&t);
    ck_assert_int_eq(t.n, 0);
    /* a handler dropped into an empty middle phase runs without any change
     * to the others */
    phase_add(PH_SERVER_REWRITE, h_b);
    ck_assert_int_eq(phase_run(&pc, &t), PHASE_NEXT);
    ck_assert_str_eq(t.seen, "b");
}
END_TEST

START_TEST(test_log_phase_apart)
{
    phase_reset();
    phase_add(PH_CONTENT, h_c);
    phase_add(PH_LOG, h_log);
    phase_add(PH_LOG, h_log2);
    struct trace t = {{0}, 0};
    struct phase_cursor pc;
    ck_assert_int_eq(phase_run(&pc, &t), PHASE_NEXT);
    ck_assert_str_eq(t.seen, "c");
    phase_log(&t);
    ck_assert_str_eq(t.seen, "cLM");
}
END_TEST

/* nine distinct handlers, one more than a phase holds */
#define H_N(k)                                                                                     \
    static enum phase_rc h_n##k(void *r)                                                           \
    {                                                                                              \
        mark(r, (char)('0' + (k)));                                                                \
        return PHASE_NEXT;                                                                         \
    }
H_N(1)
H_N(2)
H_N(3)
H_N(4)
H_N(5)
H_N(6)
H_N(7)
H_N(8)
H_N(9)

START_TEST(test_registration)
{
    phase_reset();
    ck_assert_int_eq(phase_add(PH_ACCESS, h_a), 0);
    ck_assert_int_eq(phase_add(PH_ACCESS, h_a), 0); /* a second config load */
    ck_assert_int_eq(phase_count(PH_ACCESS), 1);
    ck_assert_int_eq(phase_add(PH_COUNT, h_a), -1);
    ck_assert_int_eq(phase_add(PH_ACCESS, NULL), -1);
    phase_fn nine[] = {h_n1, h_n2, h_n3, h_n4, h_n5, h_n6, h_n7, h_n8, h_n9};
    for (int i = 0; i < PHASE_MAX_HANDLERS; i++)
        ck_assert_int_eq(phase_add(PH_REWRITE, nine[i]), 0);
    ck_assert_int_eq(phase_add(PH_REWRITE, nine[PHASE_MAX_HANDLERS]), -1);
    ck_assert_int_eq(phase_count(PH_REWRITE), PHASE_MAX_HANDLERS);
    struct trace t = {{0}, 0};
    struct phase_cursor pc;
    ck_assert_int_eq(phase_run(&pc, &t), PHASE_NEXT);
    ck_assert_str_eq(t.seen, "12345678a");
}
END_TEST

Suite *phase_suite(void)
{
    Suite *s = suite_create("phase");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, test_order_by_phase_then_registration);
    tcase_add_test(tc, test_done_stops);
    tcase_add_test(tc, test_again_then_resume);
    tcase_add_test(tc, test_resume_at_the_last_handler);
    tcase_add_test(tc, test_empty_phases);
    tcase_add_test(tc, test_log_phase_apart);
    tcase_add_test(tc, test_registration);
    suite_add_tcase(s, tc);
    return s;
}
