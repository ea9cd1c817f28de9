/* Unit tests for gateway/gw_conn's end of a request body the app left
 * unread: drained when that can work (gw_conn_body_undrainable() tells the
 * response beforehand when it cannot), else the lingering close: the write
 * side is shut (the client sees the response end, not a reset) and what the
 * client sends afterwards is read and dropped until it closes.  Through a
 * socketpair, no event loop. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_conn.h"

static int pair(struct gw_conn *c)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    ck_assert_int_eq(gw_conn_init(c, sv[0], GW_PROTO_UWSGI, 65536, 200), 0);
    return sv[1];
}

START_TEST(unread_body_lingers)
{
    struct gw_conn c;
    int peer = pair(&c);
    static const char part[] = "0123456789";
    ck_assert_int_eq(write(peer, part, 10), 10);
    ck_assert_int_eq(gw_conn_fill(&c, 0), 10);
    gw_conn_body_begin(&c, GW_BODY_LENGTH, 1 << 20); /* 1 MiB announced, 10 bytes came */
    ck_assert(gw_conn_unread(&c));
    ck_assert_int_eq(gw_conn_write(&c, "answer", 6), 0);
    ck_assert_int_eq(gw_conn_linger_begin(&c), 0);

    /* the client reads the whole answer, then the end of the stream */
    char got[16];
    ck_assert_int_eq(read(peer, got, sizeof(got)), 6);
    ck_assert(memcmp(got, "answer", 6) == 0);
    ck_assert_int_eq(read(peer, got, sizeof(got)), 0);

    /* the client still sends: dropped; nothing more until it sends again */
    char big[100000];
    memset(big, 'x', sizeof(big));
    ssize_t sent = write(peer, big, sizeof(big));
    ck_assert_int_gt(sent, 0);
    ssize_t dropped = 0, n;
    while ((n = gw_conn_discard(&c, 4096)) > 0) {
        ck_assert_int_le(n, 4096); /* never more than max */
        dropped += n;
    }
    ck_assert_int_eq(n, -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(dropped, sent);

    /* the client closes: the end, the connection can close without a reset */
    close(peer);
    ck_assert_int_eq(gw_conn_discard(&c, 4096), 0);
    gw_conn_close(&c);
}
END_TEST

START_TEST(nothing_unread)
{
    struct gw_conn c;
    int peer = pair(&c);
    ck_assert(!gw_conn_unread(&c));
    gw_conn_body_begin(&c, GW_BODY_NONE, 0);
    ck_assert(!gw_conn_unread(&c));
    /* bytes of a next request in the buffer count as unread */
    ck_assert_int_eq(write(peer, "GET", 3), 3);
    ck_assert_int_eq(gw_conn_fill(&c, 0), 3);
    ck_assert(gw_conn_unread(&c));
    close(peer);
    gw_conn_close(&c);
}
END_TEST

START_TEST(undrainable_known_before_reading)
{
    struct gw_conn c;
    int peer = pair(&c);
    ck_assert_int_eq(write(peer, "0123456789", 10), 10);
    ck_assert_int_eq(gw_conn_fill(&c, 0), 10);

    /* a Content-Length over the limit: refused without reading a byte */
    gw_conn_body_begin(&c, GW_BODY_LENGTH, 10);
    ck_assert(gw_conn_body_undrainable(&c, 4));
    ck_assert_int_eq(gw_conn_body_drain(&c, 4), -1);
    ck_assert_uint_eq(c.rlen - c.roff, 10);

    /* a client waiting for "100 Continue" sends nothing: refused as well */
    c.req.expect_continue = true;
    gw_conn_body_begin(&c, GW_BODY_LENGTH, 10);
    ck_assert(gw_conn_body_undrainable(&c, 1024));
    ck_assert_int_eq(gw_conn_body_drain(&c, 1024), -1);

    /* within the limit: drained, and nothing is left to linger for */
    c.req.expect_continue = false;
    gw_conn_body_begin(&c, GW_BODY_LENGTH, 10);
    ck_assert(!gw_conn_body_undrainable(&c, 1024));
    ck_assert_int_eq(gw_conn_body_drain(&c, 1024), 0);
    ck_assert(!gw_conn_unread(&c));
    ck_assert(!gw_conn_body_undrainable(&c, 0));
    close(peer);
    gw_conn_close(&c);
}
END_TEST

Suite *gw_linger_suite(void)
{
    Suite *s = suite_create("gw_linger");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, unread_body_lingers);
    tcase_add_test(tc, nothing_unread);
    tcase_add_test(tc, undrainable_known_before_reading);
    suite_add_tcase(s, tc);
    return s;
}
