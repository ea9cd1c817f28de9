/* Unit tests for gateway/conn: the request body decoder (Content-Length and
 * chunked), fed through a socketpair as a client would send it. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/http1_vectors.h"
#include "gw_conn.h"

struct pair {
    struct gw_conn c;
    int peer;
};

/* A conn whose client side has already sent `data` (and closed when
 * close_peer). */
static void setup(struct pair *p, const char *data, size_t n, bool close_peer)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    ck_assert_int_eq(gw_conn_init(&p->c, sv[0], GW_PROTO_HTTP, 65536, 200), 0);
    p->c.req.content_length = -1;
    ck_assert_int_eq(write(sv[1], data, n), (ssize_t)n);
    p->peer = sv[1];
    if (close_peer) {
        close(sv[1]);
        p->peer = -1;
    }
}

static void teardown(struct pair *p)
{
    gw_conn_close(&p->c);
    if (p->peer >= 0)
        close(p->peer);
}

/* Reads the whole body into out; returns its length or -1 on an error. */
static ssize_t read_all(struct gw_conn *c, char *out, size_t cap)
{
    size_t got = 0;
    for (;;) {
        const char *p;
        size_t n;
        if (gw_conn_body_avail(c, &p, &n) < 0)
            return -1;
        if (n == 0)
            return (ssize_t)got;
        ck_assert_uint_le(got + n, cap);
        memcpy(out + got, p, n);
        got += n;
        gw_conn_body_consume(c, n);
    }
}

START_TEST(length_body_then_next_request)
{
    struct pair p;
    const char *s = "hello worldGET /next";
    setup(&p, s, strlen(s), false);
    ck_assert_int_gt(gw_conn_fill(&p.c, 0), 0);
    p.c.head_len = 0;
    gw_conn_body_begin(&p.c, GW_BODY_LENGTH, 11);
    char out[64];
    ck_assert_int_eq(read_all(&p.c, out, sizeof(out)), 11);
    ck_assert(memcmp(out, "hello world", 11) == 0);
    /* the pipelined bytes after the body stay for the next request */
    ck_assert_uint_eq(p.c.rlen - p.c.roff, 9);
    ck_assert(memcmp(p.c.rbuf + p.c.roff, "GET /next", 9) == 0);
    teardown(&p);
}
END_TEST

START_TEST(chunked_body)
{
    struct pair p;
    const char *s = "5\r\nhello\r\n7;name=v;x\r\n, world\r\nA\r\n0123456789\r\n0\r\n"
                    "X-Trailer: ok\r\n\r\nNEXT";
    setup(&p, s, strlen(s), false);
    gw_conn_body_begin(&p.c, GW_BODY_CHUNKED, 0);
    char out[64];
    ck_assert_int_eq(read_all(&p.c, out, sizeof(out)), 22);
    ck_assert(memcmp(out, "hello, world0123456789", 22) == 0);
    ck_assert_uint_eq(p.c.rlen - p.c.roff, 4);
    teardown(&p);
}
END_TEST

static void expect_chunked_error(const char *s)
{
    struct pair p;
    setup(&p, s, strlen(s), true);
    gw_conn_body_begin(&p.c, GW_BODY_CHUNKED, 0);
    char out[256];
    ck_assert_msg(read_all(&p.c, out, sizeof(out)) == -1, "accepted: %s", s);
    ck_assert(p.c.body_error);
    teardown(&p);
}

START_TEST(chunked_errors)
{
    expect_chunked_error("zz\r\nhello\r\n0\r\n\r\n");       /* not hex */
    expect_chunked_error("+5\r\nhello\r\n0\r\n\r\n");       /* sign */
    expect_chunked_error("5\r\nhelloXX0\r\n\r\n");          /* no CRLF after data */
    expect_chunked_error("5\nhello\r\n0\r\n\r\n");          /* bare LF */
    expect_chunked_error("5;\r\nhello\r\n0\r\n\r\n");       /* extension without a name */
    expect_chunked_error("fffffffffffffffff\r\n");          /* overflow */
    expect_chunked_error("0\r\nContent-Length: 5\r\n\r\n"); /* forbidden trailer */
    expect_chunked_error("0\r\nHost: evil\r\n\r\n");        /* forbidden trailer */
    expect_chunked_error("5\r\nhel");                       /* the client went away */
    expect_chunked_error("0\r\n");                          /* no final CRLF */
}
END_TEST

/* The chunked bodies the proxy's decoder judges too
 * (tests/common/http1_vectors.h), sent whole by a peer that closes after. */
START_TEST(shared_body_vectors)
{
    for (int v = 0; http1_body_vectors[v].raw; v++) {
        const struct http1_body_vector *bv = &http1_body_vectors[v];
        size_t len = strlen(bv->raw);
        size_t rest = len >= 4 && memcmp(bv->raw + len - 4, "NEXT", 4) == 0 ? 4 : 0;
        struct pair p;
        setup(&p, bv->raw, len, true);
        gw_conn_body_begin(&p.c, GW_BODY_CHUNKED, 0);
        char out[256];
        ssize_t n = read_all(&p.c, out, sizeof(out));
        ck_assert_msg(n == bv->len, "body vector %d: %zd, want %ld", v, n, bv->len);
        if (n >= 0)
            ck_assert_uint_eq(p.c.rlen - p.c.roff, rest);
        else
            ck_assert(p.c.body_error);
        teardown(&p);
    }
}
END_TEST

/* The same vectors read one byte per recv() (a one-byte read buffer), so
 * that the decoder resumes after every byte: the same verdicts, and what
 * follows a body is left unread. */
START_TEST(shared_body_vectors_bytewise)
{
    for (int v = 0; http1_body_vectors[v].raw; v++) {
        const struct http1_body_vector *bv = &http1_body_vectors[v];
        size_t len = strlen(bv->raw);
        size_t rest = len >= 4 && memcmp(bv->raw + len - 4, "NEXT", 4) == 0 ? 4 : 0;
        int sv[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        struct gw_conn c;
        ck_assert_int_eq(gw_conn_init(&c, sv[0], GW_PROTO_HTTP, 1, 200), 0);
        ck_assert_int_eq(write(sv[1], bv->raw, len), (ssize_t)len);
        close(sv[1]);
        gw_conn_body_begin(&c, GW_BODY_CHUNKED, 0);
        char out[256];
        ssize_t n = read_all(&c, out, sizeof(out));
        ck_assert_msg(n == bv->len, "body vector %d: %zd, want %ld", v, n, bv->len);
        if (n >= 0) {
            /* the buffer is drained; the rest waits in the socket */
            char tail[8];
            ssize_t k = recv(c.fd, tail, sizeof(tail), 0);
            ck_assert_uint_eq(c.rlen - c.roff, 0);
            ck_assert_int_eq(k, (ssize_t)rest);
        } else {
            ck_assert(c.body_error);
        }
        gw_conn_close(&c);
    }
}
END_TEST

/* A chunked body read one byte per recv() (a one-byte read buffer): the
 * decoder resumes inside size lines, extensions, data and trailers. */
START_TEST(chunked_bytewise)
{
    const char *s = "5;a=\"b c\"\r\nhello\r\n7\r\n, world\r\n0\r\nX-T: 1\r\n\r\n";
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct gw_conn c;
    ck_assert_int_eq(gw_conn_init(&c, sv[0], GW_PROTO_HTTP, 1, 200), 0);
    ck_assert_int_eq(write(sv[1], s, strlen(s)), (ssize_t)strlen(s));
    gw_conn_body_begin(&c, GW_BODY_CHUNKED, 0);
    char out[64];
    ck_assert_int_eq(read_all(&c, out, sizeof(out)), 12);
    ck_assert(memcmp(out, "hello, world", 12) == 0);
    ck_assert_uint_eq(c.rlen - c.roff, 0);
    gw_conn_close(&c);
    close(sv[1]);
}
END_TEST

START_TEST(stalled_client_times_out)
{
    struct pair p;
    setup(&p, "he", 2, false); /* peer stays open, sends nothing more */
    gw_conn_body_begin(&p.c, GW_BODY_LENGTH, 5);
    char out[8];
    ck_assert_int_eq(read_all(&p.c, out, sizeof(out)), -1); /* 200 ms io timeout */
    teardown(&p);
}
END_TEST

START_TEST(drain)
{
    struct pair p;
    const char *s = "3\r\nabc\r\n0\r\n\r\n";
    setup(&p, s, strlen(s), false);
    gw_conn_body_begin(&p.c, GW_BODY_CHUNKED, 0);
    ck_assert_int_eq(gw_conn_body_drain(&p.c, 1024), 0);
    ck_assert_uint_eq(p.c.rlen - p.c.roff, 0);
    teardown(&p);
    setup(&p, "0123456789", 10, false);
    gw_conn_body_begin(&p.c, GW_BODY_LENGTH, 10);
    ck_assert_int_eq(gw_conn_body_drain(&p.c, 4), -1); /* more than the limit */
    teardown(&p);
}
END_TEST

Suite *gw_conn_suite(void)
{
    Suite *s = suite_create("gw_conn");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, length_body_then_next_request);
    tcase_add_test(tc, chunked_body);
    tcase_add_test(tc, chunked_errors);
    tcase_add_test(tc, shared_body_vectors);
    tcase_add_test(tc, shared_body_vectors_bytewise);
    tcase_add_test(tc, chunked_bytewise);
    tcase_add_test(tc, stalled_client_times_out);
    tcase_add_test(tc, drain);
    suite_add_tcase(s, tc);
    return s;
}
