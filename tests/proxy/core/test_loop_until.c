/* Unit tests of the tests' own loop driver (tests/proxy/core/loop_until.c):
 * it must tell a stall from progress, or the transport tests that rely on it
 * could not fail.
 * - A reader that takes one byte per report finishes when its event is
 *   level-triggered (every turn reports the bytes left).
 * - Edge-triggered, the same reader gets one report: the bytes left make
 *   the socket ready with nothing reported, and that is a stall.
 * - A reader that drops its event with bytes left, beside an event whose
 *   socket is idle: nothing is ready, no timer is pending, a stall.
 * - With no event left and the condition unmet, nothing can happen. */
#include <check.h>
#include <event2/event.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_until.h"

static struct event_base *base;
static int sv[2];
static size_t got;

static void setup(void)
{
    base = event_base_new();
    ck_assert_ptr_nonnull(base);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(evutil_make_socket_nonblocking(sv[0]), 0);
    got = 0;
}

static void teardown(void)
{
    event_base_free(base);
    close(sv[0]);
    close(sv[1]);
}

static void one_byte(evutil_socket_t fd, short ev, void *ud)
{
    (void)ev;
    (void)ud;
    char c;
    if (recv(fd, &c, 1, 0) == 1)
        got++;
}

static bool got_ten(void)
{
    return got == 10;
}

static unsigned long progress(void)
{
    return got;
}

/* Reads ten bytes one per report with an event of `flags`; returns
 * loop_until()'s verdict. */
static const char *read_ten(short flags)
{
    struct event *ev =
        event_new(base, sv[0], (short)(EV_READ | EV_PERSIST | flags), one_byte, NULL);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(event_add(ev, NULL), 0);
    ck_assert_int_eq(send(sv[1], "0123456789", 10, 0), 10);
    const char *why = loop_until(base, got_ten, progress);
    event_free(ev);
    return why;
}

START_TEST(test_level_triggered_finishes)
{
    const char *why = read_ten(0);
    ck_assert_msg(why == NULL, "%s", why);
    ck_assert_uint_eq(got, 10);
}
END_TEST

START_TEST(test_missed_edge_is_a_stall)
{
    const char *why = read_ten(EV_ET);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, "ready for reading") != NULL, "%s", why);
    ck_assert_uint_eq(got, 1);
}
END_TEST

static void one_byte_and_drop(evutil_socket_t fd, short ev, void *ud)
{
    one_byte(fd, ev, NULL);
    event_del(ud);
}

START_TEST(test_dropped_event_is_a_stall)
{
    struct event *rd =
        event_new(base, sv[0], EV_READ | EV_PERSIST, one_byte_and_drop, event_self_cbarg());
    struct event *idle = event_new(base, sv[1], EV_READ | EV_PERSIST, one_byte, NULL);
    ck_assert_ptr_nonnull(rd);
    ck_assert_ptr_nonnull(idle);
    ck_assert_int_eq(event_add(rd, NULL), 0);
    ck_assert_int_eq(event_add(idle, NULL), 0);
    ck_assert_int_eq(send(sv[1], "0123456789", 10, 0), 10);
    const char *why = loop_until(base, got_ten, progress);
    event_free(rd);
    event_free(idle);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, "no socket is ready") != NULL, "%s", why);
    ck_assert_uint_eq(got, 1);
}
END_TEST

START_TEST(test_nothing_to_wait_for)
{
    const char *why = loop_until(base, got_ten, progress);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, "nothing left") != NULL, "%s", why);
}
END_TEST

Suite *loop_until_suite(void)
{
    Suite *s = suite_create("loop_until");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_level_triggered_finishes);
    tcase_add_test(tc, test_missed_edge_is_a_stall);
    tcase_add_test(tc, test_dropped_event_is_a_stall);
    tcase_add_test(tc, test_nothing_to_wait_for);
    suite_add_tcase(s, tc);
    return s;
}
