/* Unit tests of proxy/bevio.c's bevio_write_now() over a socket pair: one
 * extent goes out with send(), several and file segments with libevent's
 * writer, a full socket leaves the rest queued (false) and nothing is lost
 * or sent twice. */
#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bevio.h"

static struct event_base *base;
static struct bufferevent *bev;
static int peer;

static void setup(void)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(evutil_make_socket_nonblocking(sv[0]), 0);
    ck_assert_int_eq(evutil_make_socket_nonblocking(sv[1]), 0);
    base = event_base_new();
    ck_assert_ptr_nonnull(base);
    bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    ck_assert_ptr_nonnull(bev);
    peer = sv[1];
}

static void teardown(void)
{
    bufferevent_free(bev);
    event_base_free(base);
    close(peer);
}

/* What the peer can read now (at most cap bytes, NUL-terminated). */
static size_t drain_peer(char *out, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(peer, out + got, cap - got, MSG_DONTWAIT);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got < cap ? got : cap - 1] = '\0';
    return got;
}

START_TEST(test_one_extent)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    ck_assert_int_eq(evbuffer_add(out, "HTTP/1.1 200 OK\r\n\r\n", 19), 0);
    ck_assert(bevio_write_now(bev, true));
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    char got[64];
    ck_assert_uint_eq(drain_peer(got, sizeof(got)), 19);
    ck_assert_str_eq(got, "HTTP/1.1 200 OK\r\n\r\n");
    ck_assert(bevio_write_now(bev, true)); /* nothing queued: done */
}
END_TEST

START_TEST(test_several_extents)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    static const char tail[] = "-tail";
    ck_assert_int_eq(evbuffer_add(out, "head", 4), 0);
    ck_assert_int_eq(evbuffer_add_reference(out, tail, 5, NULL, NULL), 0);
    ck_assert_int_eq(evbuffer_add(out, "-end", 4), 0);
    ck_assert(bevio_write_now(bev, true));
    char got[64];
    ck_assert_uint_eq(drain_peer(got, sizeof(got)), 13);
    ck_assert_str_eq(got, "head-tail-end");
}
END_TEST

START_TEST(test_file_segment)
{
    char path[] = "/tmp/test_bevio.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(write(fd, "0123456789", 10), 10);
    struct evbuffer *out = bufferevent_get_output(bev);
    /* the file alone, as the output holds it once a head went: libevent's
     * writer must send it (sendfile), never its chain's memory */
    ck_assert_int_eq(evbuffer_add_file(out, fd, 2, 6), 0);
    ck_assert(bevio_write_now(bev, false));
    char got[64];
    ck_assert_uint_eq(drain_peer(got, sizeof(got)), 6);
    ck_assert_str_eq(got, "234567");
}
END_TEST

START_TEST(test_full_socket)
{
    int small = 4096;
    ck_assert_int_eq(
        setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    ck_assert_int_eq(setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    enum { N = 1 << 20 };
    char *data = malloc(N), *got = malloc(N + 1);
    ck_assert_ptr_nonnull(data);
    ck_assert_ptr_nonnull(got);
    for (size_t i = 0; i < N; i++)
        data[i] = (char)('a' + i % 23);
    struct evbuffer *out = bufferevent_get_output(bev);
    ck_assert_int_eq(evbuffer_add(out, data, N), 0);
    ck_assert_int_eq(evbuffer_pullup(out, -1) != NULL, 1); /* one extent: send() */
    size_t total = 0;
    /* each call sends what fits; the rest stays queued, in order */
    for (int round = 0; round < 100000 && total < N; round++) {
        bool all = bevio_write_now(bev, true);
        total += drain_peer(got + total, N + 1 - total);
        ck_assert_uint_eq(total + evbuffer_get_length(out), N);
        if (all)
            ck_assert_uint_eq(evbuffer_get_length(out), 0);
    }
    ck_assert_uint_eq(total, N);
    ck_assert_int_eq(memcmp(got, data, N), 0);
    free(data);
    free(got);
}
END_TEST

START_TEST(test_peer_gone)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    close(peer);
    peer = -1;
    ck_assert_int_eq(evbuffer_add(out, "x", 1), 0);
    /* the error is left to libevent's writer: the data stays, false */
    ck_assert(!bevio_write_now(bev, true));
    ck_assert_uint_eq(evbuffer_get_length(out), 1);
}
END_TEST

Suite *bevio_suite(void)
{
    Suite *s = suite_create("bevio");
    TCase *tc = tcase_create("write_now");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_one_extent);
    tcase_add_test(tc, test_several_extents);
    tcase_add_test(tc, test_file_segment);
    tcase_add_test(tc, test_full_socket);
    tcase_add_test(tc, test_peer_gone);
    suite_add_tcase(s, tc);
    return s;
}
