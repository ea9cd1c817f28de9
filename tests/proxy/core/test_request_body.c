/* Unit tests of request_read_body (proxy/core/request_body.c) over a fake
 * session, the test playing the session's part (request_body_push, then
 * the body callback): the handler's callback runs once, only when the
 * whole body is in; a chunked body then has a length; $request_body is the
 * body while it is in memory, $request_body_file names the file past
 * client_body_buffer_size; no body calls back at once; a temp file that
 * cannot be written answers 500 and never calls back. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_session.h"
#include "spool.h"

static struct cf_loc LOC;
static struct cf_server SRV;
static struct cf_tempdir TD;
static char dir[256];
static int called;

static void setup(void)
{
    fake_setup();
    memset(&LOC, 0, sizeof(LOC));
    memset(&SRV, 0, sizeof(SRV));
    snprintf(dir, sizeof(dir), "/tmp/test_request_body.%d", (int)getpid());
    TD.path = dir;
    TD.nlevels = 0;
    LOC.client_body_buffer_size = 100;
    LOC.client_body_temp = &TD;
    SRV.def_loc = &LOC;
    Q.defsrv = &SRV;
    Q.r.method.p = "POST";
    Q.r.method.len = 4;
    Q.r.loc = &LOC;
    Q.r.content_length = -1;
    Q.r.chunked = true;
    Q.body_done = false;
    Q.keepalive = true;
    called = 0;
}

static void teardown(void)
{
    request_body_spool_end(&Q, true);
    fake_teardown();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void on_read(struct request *q, void *ud)
{
    ck_assert_ptr_eq(q, &Q);
    ck_assert_ptr_eq(ud, &called);
    called++;
}

/* What the session does with n decoded body bytes: push, then tell. */
static void arrive(const char *p, size_t n, bool last)
{
    struct evbuffer *in = evbuffer_new();
    evbuffer_add(in, p, n);
    request_body_push(&Q, in, n);
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    evbuffer_free(in);
    if (last)
        request_body_end(&Q);
    if (Q.on_body)
        Q.on_body(Q.body_ud, Q.body_done);
}

START_TEST(test_small_body_in_memory)
{
    request_read_body(&Q, on_read, &called);
    ck_assert_int_eq(called, 0);
    arrive("hello ", 6, false);
    ck_assert_int_eq(called, 0); /* not before the end */
    arrive("world", 5, true);
    ck_assert_int_eq(called, 1);
    ck_assert_int_eq(Q.r.content_length, 11); /* de-chunked: a length now */
    ck_assert(!Q.r.chunked);
    ck_assert_uint_eq(Q.r.body.len, 11);
    ck_assert_int_eq(memcmp(Q.r.body.p, "hello world", 11), 0);
    ck_assert_ptr_null(Q.r.body_file);
    struct spool *sp = request_body_spool(&Q);
    ck_assert_ptr_nonnull(sp);
    ck_assert_uint_eq(spool_left(sp), 11);
    ck_assert_int_eq(F.done, 0);
}
END_TEST

START_TEST(test_large_body_in_a_file)
{
    char body[250];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)('a' + i % 26);
    request_read_body(&Q, on_read, &called);
    arrive(body, 90, false);
    arrive(body + 90, 160, true); /* past client_body_buffer_size (100) */
    ck_assert_int_eq(called, 1);
    ck_assert_int_eq(Q.r.content_length, 250);
    ck_assert_ptr_null(Q.r.body.p); /* $request_body: memory only, as nginx */
    ck_assert_ptr_nonnull(Q.r.body_file);
    ck_assert_int_eq(strncmp(Q.r.body_file, dir, strlen(dir)), 0);
    struct spool *sp = request_body_spool(&Q);
    struct evbuffer *out = evbuffer_new();
    while (spool_left(sp) > 0)
        ck_assert_int_gt(spool_send(sp, out, 64), 0);
    ck_assert_uint_eq(evbuffer_get_length(out), 250);
    ck_assert_int_eq(memcmp(evbuffer_pullup(out, -1), body, 250), 0);
    evbuffer_free(out);
    /* the request's end closes the spool: no body for the next one */
    request_body_spool_end(&Q, false);
    ck_assert_ptr_null(request_body_spool(&Q));
}
END_TEST

START_TEST(test_no_body_calls_back_at_once)
{
    Q.body_done = true;
    Q.r.chunked = false;
    request_read_body(&Q, on_read, &called);
    ck_assert_int_eq(called, 1);
    ck_assert_ptr_null(request_body_spool(&Q));
    ck_assert_int_eq(Q.r.content_length, -1);
}
END_TEST

START_TEST(test_temp_file_failure_answers_500)
{
    FILE *f = fopen(dir, "w"); /* a file where the folder should be */
    ck_assert_ptr_nonnull(f);
    fclose(f);
    request_read_body(&Q, on_read, &called);
    arrive("0123456789", 10, false); /* memory: fine */
    char big[200] = {0};
    arrive(big, sizeof(big), false); /* the file cannot be made */
    ck_assert_int_eq(F.done, 1);
    char *out = take();
    ck_assert_int_eq(strncmp(out, "500 ", 4), 0);
    free(out);
    ck_assert(!Q.keepalive); /* the rest of the body is not read */
    arrive(big, 10, true);   /* later bytes are dropped, no callback */
    ck_assert_int_eq(called, 0);
}
END_TEST

Suite *request_body_suite(void)
{
    Suite *s = suite_create("request_body");
    TCase *tc = tcase_create("read_body");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_small_body_in_memory);
    tcase_add_test(tc, test_large_body_in_a_file);
    tcase_add_test(tc, test_no_body_calls_back_at_once);
    tcase_add_test(tc, test_temp_file_failure_answers_500);
    suite_add_tcase(s, tc);
    return s;
}
