/* Unit tests of the request layer's dispatch (proxy/core/request.c and
 * handler.c) over a fake session: the content phase starts the handler the
 * location's table names, without the core knowing it; a location without
 * one gets nginx's 404 page; a phase handler that went on asynchronously
 * resumes the run (request_resume); the registry finds handlers by name and
 * replaces one registered again; request_fail closes a response that has
 * begun and answers one that has not. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fake_session.h"
#include "filter.h"
#include "handler.h"
#include "phase.h"

static struct cf_loc LOC;
static struct cf_server SRV;
static int started;

static void setup(void)
{
    phase_reset();
    fake_setup();
    memset(&LOC, 0, sizeof(LOC));
    memset(&SRV, 0, sizeof(SRV));
    SRV.def_loc = &LOC;
    Q.defsrv = &SRV;
    Q.r.method.p = "GET";
    Q.r.method.len = 3;
    Q.r.loc = &LOC;
    Q.body_done = true;
    started = 0;
}

static void teardown(void)
{
    fake_teardown();
    phase_reset();
}

static void hello_start(struct request *q)
{
    started++;
    request_send_simple(q, 200, "text/plain", "hi", 2, NULL);
}

static const struct h_ops hello_ops = {.name = "hello", .start = hello_start};

START_TEST(test_content_handler_from_the_location)
{
    LOC.content = &hello_ops;
    request_run(&Q);
    ck_assert_int_eq(started, 1);
    ck_assert_int_eq(F.done, 1);
    char *out = take();
    ck_assert_str_eq(out, "200 OK\r\nContent-Type: text/plain\r\n\r\nhi");
    free(out);
}
END_TEST

START_TEST(test_no_handler_is_404)
{
    LOC.content = NULL;
    request_run(&Q);
    ck_assert_int_eq(Q.r.status, 404);
    char *out = take();
    ck_assert_msg(strncmp(out, "404 Not Found\r\nContent-Type: text/html\r\n", 40) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "<center><h1>404 Not Found</h1></center>"));
    free(out);
}
END_TEST

static struct request *waiting;
static enum phase_rc access_later(void *r)
{
    waiting = r;
    return PHASE_AGAIN;
}

START_TEST(test_again_then_resume_reaches_content)
{
    LOC.content = &hello_ops;
    phase_add(PH_ACCESS, access_later);
    waiting = NULL;
    request_run(&Q);
    ck_assert_ptr_eq(waiting, &Q);
    ck_assert_int_eq(started, 0);
    ck_assert_uint_eq(evbuffer_get_length(F.out), 0);
    request_resume(&Q);
    ck_assert_int_eq(started, 1);
    ck_assert_int_eq(F.done, 1);
}
END_TEST

START_TEST(test_registry)
{
    static const struct h_ops a = {.name = "t_a", .start = hello_start};
    static const struct h_ops a2 = {.name = "t_a", .start = hello_start};
    ck_assert_ptr_null(h_find("t_a"));
    ck_assert_int_eq(h_register(&a), 0);
    ck_assert_ptr_eq(h_find("t_a"), &a);
    ck_assert_int_eq(h_register(&a2), 0);
    ck_assert_ptr_eq(h_find("t_a"), &a2);
    ck_assert_ptr_null(h_find("t_b"));
}
END_TEST

START_TEST(test_fail_before_and_after_the_head)
{
    Q.keepalive = true;
    request_fail(&Q, 502);
    ck_assert_int_eq(Q.r.status, 502);
    ck_assert(Q.keepalive); /* the request's framing is known: keep it */
    ck_assert_int_eq(F.closed, 0);
    free(take());

    Q.head_sent = false;
    request_fail(&Q, 400);
    ck_assert(!Q.keepalive); /* framing unknown: the connection goes after it */

    request_fail(&Q, 500); /* the head is out: only a cut is left */
    ck_assert_int_eq(F.closed, 1);
}
END_TEST

Suite *request_suite(void)
{
    Suite *s = suite_create("request");
    TCase *tc = tcase_create("dispatch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_content_handler_from_the_location);
    tcase_add_test(tc, test_no_handler_is_404);
    tcase_add_test(tc, test_again_then_resume_reaches_content);
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_fail_before_and_after_the_head);
    suite_add_tcase(s, tc);
    return s;
}
