/* Unit tests of the response filter chain (proxy/core/filter.c) with the
 * request API (request.c) over a session that writes into an evbuffer: no
 * socket, no loop.  Header filters run in order and their fields follow the
 * handler's; body filters see each piece in order and pass it on; chunked
 * framing (filters/f_chunked.c) frames each piece and ends the body; a
 * filter that changes nothing passes bytes through untouched (moved from the
 * source); backpressure is the session's and the chain holds nothing back. */
#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "f_chunked.h"
#include "fake_session.h"
#include "filter.h"

static void setup(void)
{
    fake_setup();
    Q.content_length = -1;
}

static void expect(const char *want)
{
    char *got = take();
    ck_assert_str_eq(got, want);
    free(got);
}

/* --- filters made for the tests ------------------------------------------------ */

static int hdr_one(struct request *q)
{
    request_filter_head_add(q, "X-One", 5, "1", 1);
    return 0;
}
static int hdr_two(struct request *q)
{
    request_filter_head_add(q, "X-Two", 5, "2", 1);
    return 0;
}

/* Wraps every piece in a pair of marks, as framing. */
static int wrap(struct request *q, const struct f_piece *pc, int self, const char *l, const char *r)
{
    struct f_piece m = F_PIECE_INIT;
    m.p = l;
    m.n = 1;
    m.framing = true;
    if (filter_body_pass(q, &m, self + 1) < 0 || filter_body_pass(q, pc, self + 1) < 0)
        return -1;
    m.p = r;
    return filter_body_pass(q, &m, self + 1);
}
static int body_angle(struct request *q, const struct f_piece *pc, int self)
{
    return wrap(q, pc, self, "<", ">");
}
static int body_paren(struct request *q, const struct f_piece *pc, int self)
{
    return wrap(q, pc, self, "(", ")");
}

static int passed; /* pieces the pass-through filter saw */
static int body_pass(struct request *q, const struct f_piece *pc, int self)
{
    passed++;
    return filter_body_pass(q, pc, self + 1);
}

/* --- tests --------------------------------------------------------------------- */

START_TEST(test_header_filters_in_order)
{
    ck_assert_int_eq(filter_add("one", hdr_one, NULL, NULL), 0);
    ck_assert_int_eq(filter_add("two", hdr_two, NULL, NULL), 0);
    ck_assert_int_eq(filter_count(), 2);
    request_head_begin(&Q, 200, NULL, 0);
    request_head_add(&Q, "X-Handler", 9, "h", 1);
    request_head_end(&Q, 0, false);
    ck_assert(Q.head_sent);
    /* the handler's fields, then the filters' in their order */
    expect("200 OK\r\nX-Handler: h\r\nX-One: 1\r\nX-Two: 2\r\n\r\n");
}
END_TEST

START_TEST(test_body_filters_in_order)
{
    filter_add("angle", NULL, body_angle, NULL);
    filter_add("paren", NULL, body_paren, NULL);
    request_head_begin(&Q, 200, NULL, 0);
    request_head_end(&Q, 1, true);
    free(take());
    ck_assert_int_eq(request_body_add(&Q, "x", 1), 0);
    /* the first filter's output is the second one's input */
    expect("(<)(x)(>)");
    ck_assert_uint_eq(Q.r.body_bytes_sent, 1); /* framing is not body */
}
END_TEST

START_TEST(test_chunked_pieces)
{
    f_chunked_init();
    request_head_begin(&Q, 200, NULL, 0);
    request_head_end(&Q, -1, true);
    ck_assert(Q.chunked_out);
    expect("200 OK\r\nTE: chunked\r\n\r\n");
    ck_assert_int_eq(request_body_add(&Q, "hello", 5), 0);
    expect("5\r\nhello\r\n");
    struct evbuffer *src = evbuffer_new();
    evbuffer_add(src, "0123456789abcdefX", 17);
    ck_assert_int_eq(request_body_out(&Q, src, 16), 0);
    expect("10\r\n0123456789abcdef\r\n");
    ck_assert_uint_eq(evbuffer_get_length(src), 1); /* only what was given went */
    ck_assert_int_eq(request_body_out(&Q, src, -1), 0);
    expect("1\r\nX\r\n");
    evbuffer_free(src);
    request_done(&Q);
    expect("0\r\n\r\n");
    ck_assert_int_eq(F.done, 1);
    ck_assert(!Q.chunked_out);
    ck_assert_uint_eq(Q.r.body_bytes_sent, 22);
}
END_TEST

START_TEST(test_chunked_not_for_known_length_or_http10)
{
    f_chunked_init();
    request_head_begin(&Q, 200, NULL, 0);
    request_head_end(&Q, 3, true);
    ck_assert(!Q.chunked_out);
    free(take());
    request_body_add(&Q, "abc", 3);
    request_done(&Q);
    expect("abc");

    Q.r.http_minor = 0; /* HTTP/1.0: the session ends the body by closing */
    Q.head_sent = false;
    request_head_begin(&Q, 200, NULL, 0);
    request_head_end(&Q, -1, true);
    ck_assert(!Q.chunked_out);
    free(take());
    request_body_add(&Q, "abc", 3);
    expect("abc");
}
END_TEST

START_TEST(test_pass_through)
{
    passed = 0;
    filter_add("pass", NULL, body_pass, NULL);
    f_chunked_init();
    request_head_begin(&Q, 200, NULL, 0);
    request_head_end(&Q, 2000, true);
    free(take());
    struct evbuffer *src = evbuffer_new();
    char big[2000];
    memset(big, 'z', sizeof(big));
    evbuffer_add(src, big, sizeof(big));
    ck_assert_int_eq(request_body_out(&Q, src, -1), 0);
    ck_assert_int_eq(passed, 1);
    ck_assert_uint_eq(evbuffer_get_length(src), 0); /* moved, not copied */
    ck_assert_uint_eq(evbuffer_get_length(F.out), sizeof(big));
    char *got = take();
    ck_assert(memcmp(got, big, sizeof(big)) == 0);
    free(got);
    evbuffer_free(src);
}
END_TEST

START_TEST(test_backpressure)
{
    f_chunked_init();
    filter_add("pass", NULL, body_pass, NULL);
    F.full_at = 1000;
    request_head_begin(&Q, 200, NULL, 0);
    request_head_end(&Q, -1, true);
    free(take());
    /* a producer feeds while the session has room; every piece reaches the
     * output at once (the chain holds nothing), so the session's watermark
     * is what stops it */
    char piece[100];
    memset(piece, 'p', sizeof(piece));
    int fed = 0;
    while (!request_output_full(&Q)) {
        size_t before = evbuffer_get_length(F.out);
        ck_assert_int_eq(request_body_add(&Q, piece, sizeof(piece)), 0);
        ck_assert_uint_eq(evbuffer_get_length(F.out), before + 4 + sizeof(piece) + 2);
        fed++;
    }
    ck_assert_int_eq(fed, 10); /* "64\r\n", 100 bytes, CRLF: the 10th piece crosses 1000 */
    /* the client drains: the producer may go on */
    evbuffer_drain(F.out, evbuffer_get_length(F.out));
    ck_assert(!request_output_full(&Q));
    ck_assert_int_eq(request_body_add(&Q, piece, sizeof(piece)), 0);
    ck_assert_uint_eq(Q.r.body_bytes_sent, 11 * sizeof(piece));
}
END_TEST

START_TEST(test_chain_full)
{
    f_header_fn hs[] = {hdr_one, hdr_two, NULL};
    f_body_fn bs[] = {body_pass, body_angle, body_paren};
    int added = 0, refused = 0;
    for (int i = 0; i < 9; i++) {
        int rc = filter_add("t", hs[i % 3], bs[i / 3], NULL);
        added += rc == 0;
        refused += rc < 0;
    }
    ck_assert_int_eq(added, FILTER_MAX);
    ck_assert_int_eq(refused, 9 - FILTER_MAX);
    ck_assert_int_eq(filter_count(), FILTER_MAX);
    /* the same entry again is no new one (a second config load) */
    filter_reset();
    ck_assert_int_eq(filter_add("t", hdr_one, NULL, NULL), 0);
    ck_assert_int_eq(filter_add("t", hdr_one, NULL, NULL), 0);
    ck_assert_int_eq(filter_count(), 1);
}
END_TEST

Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("chain");
    tcase_add_checked_fixture(tc, setup, fake_teardown);
    tcase_add_test(tc, test_header_filters_in_order);
    tcase_add_test(tc, test_body_filters_in_order);
    tcase_add_test(tc, test_chunked_pieces);
    tcase_add_test(tc, test_chunked_not_for_known_length_or_http10);
    tcase_add_test(tc, test_pass_through);
    tcase_add_test(tc, test_backpressure);
    tcase_add_test(tc, test_chain_full);
    suite_add_tcase(s, tc);
    return s;
}
