/* Unit tests of proxy/core/bevio.c over a socket pair.
 * - bevio_write_now(): one extent goes out with send(), several and file
 *   segments with libevent's writer, a full socket leaves the rest queued
 *   (false) and nothing is lost or sent twice.
 * - Edge-triggered bufferevents (bevio_own() with writes) on a loop with
 *   the worker's changelist: where ET gets no report for what is already
 *   there (bytes past one 16 KiB read, a FIN in the same report as the last
 *   bytes, output past one writev()) every byte still moves, in order; so
 *   it does through re-arms (reading resumed below the high watermark,
 *   disabled and enabled in one turn, output queued from the write
 *   callback). */
#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bevio.h"
#include "loop_until.h"

static struct event_base *base;
static struct bufferevent *bev;
static int peer;

/* bev on one end of a socket pair, in loop b; peer is the other end. */
static void pair_on(struct event_base *b)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(evutil_make_socket_nonblocking(sv[0]), 0);
    ck_assert_int_eq(evutil_make_socket_nonblocking(sv[1]), 0);
    ck_assert_ptr_nonnull(b);
    base = b;
    bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    ck_assert_ptr_nonnull(bev);
    peer = sv[1];
}

static void setup(void)
{
    pair_on(event_base_new());
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

/* A loop as the worker's: the changelist folds changes of one turn. */
static struct event_base *worker_like_base(void)
{
    struct event_config *ecf = event_config_new();
    ck_assert_ptr_nonnull(ecf);
    event_config_set_flag(ecf, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *b = event_base_new_with_config(ecf);
    event_config_free(ecf);
    ck_assert_ptr_nonnull(b);
    return b;
}

/* The peer can read exactly `want` now. */
static void peer_reads(const char *want)
{
    char got[64];
    ck_assert_uint_eq(drain_peer(got, sizeof(got)), strlen(want));
    ck_assert_str_eq(got, want);
}

START_TEST(test_one_extent)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    ck_assert_int_eq(evbuffer_add(out, "HTTP/1.1 200 OK\r\n\r\n", 19), 0);
    ck_assert(bevio_write_now(bev, true));
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    peer_reads("HTTP/1.1 200 OK\r\n\r\n");
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
    peer_reads("head-tail-end");
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
    peer_reads("234567");
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

/* Edge-triggered: the bufferevent is the proxy's client side. */
static struct edge {
    struct evbuffer *got;     /* what the bufferevent read */
    size_t drain_at;          /* read callback: drain the input at this size (0: all) */
    bool toggle;              /* read callback: disable reading, re-enabled later in the turn */
    bool eof, error, timeout; /* event callback saw */
    size_t peer_got;          /* bytes the peer read */
    size_t peer_want;         /* the peer's loop stops there */
    struct event *reenable;
} E;

static void reenable(evutil_socket_t fd, short ev, void *ud);

static void edge_read(struct bufferevent *b, void *ud)
{
    (void)ud;
    struct evbuffer *in = bufferevent_get_input(b);
    if (E.drain_at && evbuffer_get_length(in) < E.drain_at)
        return;
    evbuffer_add_buffer(E.got, in);
    if (E.toggle) {
        /* re-enabled later in this turn, with bytes left in the socket */
        bufferevent_disable(b, EV_READ);
        event_active(E.reenable, EV_TIMEOUT, 1);
    }
}

static void reenable(evutil_socket_t fd, short ev, void *ud)
{
    (void)fd;
    (void)ev;
    (void)ud;
    bevio_enable(bev, EV_READ);
}

static void edge_event(struct bufferevent *b, short what, void *ud)
{
    (void)b;
    (void)ud;
    if (what & BEV_EVENT_EOF)
        E.eof = true;
    if (what & BEV_EVENT_ERROR)
        E.error = true;
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING))
        E.timeout = true;
}

/* bev as the proxy's client side: edge-triggered, writing off. */
static void edge_own(void)
{
    bevio_own(bev, true);
    bufferevent_disable(bev, EV_WRITE);
    bufferevent_setcb(bev, edge_read, NULL, edge_event, NULL);
}

static void edge_setup(void)
{
    pair_on(worker_like_base());
    memset(&E, 0, sizeof(E));
    E.got = evbuffer_new();
    ck_assert_ptr_nonnull(E.got);
    E.reenable = evtimer_new(base, reenable, NULL);
    ck_assert_ptr_nonnull(E.reenable);
    edge_own();
}

static void edge_teardown(void)
{
    evbuffer_free(E.got);
    event_free(E.reenable);
    teardown();
}

static const char *peer_data;
static size_t peer_len, peer_off;

/* What moved: loop_until()'s measure of progress. */
static unsigned long moved(void)
{
    return (unsigned long)(evbuffer_get_length(E.got) +
                           evbuffer_get_length(bufferevent_get_input(bev)) +
                           evbuffer_get_length(bufferevent_get_output(bev)) + E.peer_got +
                           peer_off + E.eof + E.error + E.timeout);
}

/* Runs the loop on the sockets' events until done() (a stall fails). */
static void run_until(bool (*done)(void))
{
    const char *why = loop_until(base, done, moved);
    ck_assert_msg(why == NULL, "%s", why);
}

/* Byte i of the test pattern. */
static char pattern_at(size_t i)
{
    return (char)('A' + (i * 7) % 26);
}

static char *pattern(size_t n)
{
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = pattern_at(i);
    return p;
}

/* The peer writes what fits, from its own (level-triggered) event. */
static void peer_writable(evutil_socket_t fd, short ev, void *ud)
{
    (void)ev;
    while (peer_off < peer_len) {
        ssize_t n = send(fd, peer_data + peer_off, peer_len - peer_off, MSG_DONTWAIT);
        if (n <= 0)
            return;
        peer_off += (size_t)n;
    }
    if (ud)
        event_del(ud);
}

static size_t want_got;
static bool got_all(void)
{
    if (evbuffer_get_length(E.got) + evbuffer_get_length(bufferevent_get_input(bev)) >= want_got)
        evbuffer_add_buffer(E.got, bufferevent_get_input(bev)); /* a tail under drain_at */
    return evbuffer_get_length(E.got) >= want_got || E.eof || E.error;
}

static void read_through(size_t n)
{
    char *data = pattern(n);
    peer_data = data;
    peer_len = n;
    peer_off = 0;
    /* what fits goes now: no more arrives (no new report) while the
     * bufferevent reads it */
    peer_writable(peer, EV_WRITE, NULL);
    struct event *pw =
        event_new(base, peer, EV_WRITE | EV_PERSIST, peer_writable, event_self_cbarg());
    ck_assert_ptr_nonnull(pw);
    event_add(pw, NULL);
    bevio_enable(bev, EV_READ);
    want_got = n;
    run_until(got_all);
    event_free(pw);
    ck_assert_uint_eq(evbuffer_get_length(E.got), n);
    ck_assert_int_eq(memcmp(evbuffer_pullup(E.got, -1), data, n), 0);
    ck_assert(!E.error);
    free(data);
}

START_TEST(test_edge_reads_past_one_read)
{
    /* already in the socket: six full 16 KiB reads from one report */
    read_through(96 * 1024);
}
END_TEST

START_TEST(test_edge_bulk_read)
{
    /* 4 MiB as the peer can: past the per-turn budget of reads */
    read_through(4u << 20);
}
END_TEST

/* The same over TCP on loopback, whose socket buffers hold megabytes: one
 * report brings more full reads than a turn's budget, and the rest is read
 * in the next turns. */
START_TEST(test_edge_bulk_read_tcp)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(ls, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(ls, 1), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
    int sfd = accept(ls, NULL, NULL);
    ck_assert_int_ge(sfd, 0);
    close(ls);
    ck_assert_int_eq(evutil_make_socket_nonblocking(cfd), 0);
    ck_assert_int_eq(evutil_make_socket_nonblocking(sfd), 0);
    /* the fixture's pair gives way to the TCP one */
    bufferevent_free(bev);
    close(peer);
    bev = bufferevent_socket_new(base, sfd, BEV_OPT_CLOSE_ON_FREE);
    ck_assert_ptr_nonnull(bev);
    peer = cfd;
    edge_own();
    read_through(8u << 20);
}
END_TEST

START_TEST(test_edge_read_high_watermark)
{
    /* reads stop at the mark and resume, kicked, once the callback drains */
    bevio_set_read_high(bev, 1000);
    E.drain_at = 1000;
    read_through(64 * 1024);
}
END_TEST

START_TEST(test_edge_toggle_in_one_turn)
{
    E.toggle = true;
    read_through(96 * 1024);
}
END_TEST

static bool timed_out(void)
{
    return E.timeout;
}

START_TEST(test_edge_read_timeout)
{
    /* nothing comes: the read timeout is reported (bytes waiting at a
     * timeout would be read instead: a read put off comes as a timeout) */
    struct timeval tv = {0, 100000};
    bufferevent_set_timeouts(bev, &tv, NULL);
    bevio_enable(bev, EV_READ);
    run_until(timed_out);
    ck_assert(E.timeout);
    ck_assert(!(bufferevent_get_enabled(bev) & EV_READ)); /* as libevent's reader */
    ck_assert_uint_eq(evbuffer_get_length(E.got), 0);
}
END_TEST

START_TEST(test_edge_fin_with_last_bytes)
{
    /* the bytes and the FIN are there before the first report */
    ck_assert_int_eq(send(peer, "last bytes", 10, 0), 10);
    ck_assert_int_eq(shutdown(peer, SHUT_WR), 0);
    bevio_enable(bev, EV_READ);
    want_got = (size_t)-1; /* until EOF */
    run_until(got_all);
    ck_assert(E.eof);
    ck_assert_uint_eq(evbuffer_get_length(E.got), 10);
}
END_TEST

static void peer_readable(evutil_socket_t fd, short ev, void *ud)
{
    (void)ev;
    (void)ud;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            return;
        /* one check per read: a passing ck_assert() costs the runner a
         * write(), per byte that made these tests CPU-bound */
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern_at(E.peer_got + (size_t)i))
                ck_abort_msg("byte %zu: %c", E.peer_got + (size_t)i, buf[i]);
        E.peer_got += (size_t)n;
    }
}

static bool peer_got_all(void)
{
    return E.peer_got >= E.peer_want || E.error;
}

/* Queues pattern bytes [from, from + n) on the output in pieces of
 * `piece`. */
static void queue_pattern(size_t from, size_t n, size_t piece)
{
    char *data = malloc(n);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < n; i++)
        data[i] = pattern_at(from + i);
    struct evbuffer *out = bufferevent_get_output(bev);
    for (size_t off = 0; off < n; off += piece)
        ck_assert_int_eq(evbuffer_add(out, data + off, off + piece <= n ? piece : n - off), 0);
    free(data);
}

static int writecb_calls;
static void edge_write(struct bufferevent *b, void *ud)
{
    (void)b;
    (void)ud;
    writecb_calls++;
}

START_TEST(test_edge_write_full_socket)
{
    int small = 4096;
    ck_assert_int_eq(
        setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    struct event *pr = event_new(base, peer, EV_READ | EV_PERSIST, peer_readable, NULL);
    ck_assert_ptr_nonnull(pr);
    event_add(pr, NULL);
    bufferevent_setcb(bev, edge_read, edge_write, edge_event, NULL);
    E.peer_want = 4u << 20;
    queue_pattern(0, E.peer_want, 3000); /* many chains: more than one writev */
    if (!bevio_write_now(bev, true))
        bevio_enable(bev, EV_WRITE);
    run_until(peer_got_all);
    event_free(pr);
    ck_assert_uint_eq(E.peer_got, E.peer_want);
    ck_assert(!E.error);
    ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_output(bev)), 0);
    ck_assert_int_ge(writecb_calls, 1); /* the drain was reported */
}
END_TEST

static bool output_empty(void)
{
    return evbuffer_get_length(bufferevent_get_output(bev)) == 0 || E.error;
}

START_TEST(test_edge_write_many_chains)
{
    /* 600 chains of 100 bytes (references: one chain each): they fit the
     * socket, but one writev() takes at most 128 of them; the peer reads
     * nothing, so nothing reports room after the first report: the writer
     * has to go on by itself */
    static char *data;
    data = pattern(60000);
    struct evbuffer *out = bufferevent_get_output(bev);
    for (size_t off = 0; off < 60000; off += 100)
        ck_assert_int_eq(evbuffer_add_reference(out, data + off, 100, NULL, NULL), 0);
    bevio_enable(bev, EV_WRITE);
    run_until(output_empty);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    E.peer_want = 60000;
    peer_readable(peer, EV_READ, NULL);
    ck_assert_uint_eq(E.peer_got, 60000);
    free(data);
}
END_TEST

/* Streaming: the write callback (output drained) queues the next piece,
 * the write event deleted and armed again in one turn. */
static size_t stream_off;
static void stream_next(struct bufferevent *b, void *ud)
{
    (void)b;
    (void)ud;
    if (stream_off >= E.peer_want)
        return;
    queue_pattern(stream_off, 10000, 10000);
    stream_off += 10000;
}

START_TEST(test_edge_stream_from_write_callback)
{
    struct event *pr = event_new(base, peer, EV_READ | EV_PERSIST, peer_readable, NULL);
    ck_assert_ptr_nonnull(pr);
    event_add(pr, NULL);
    bufferevent_setcb(bev, edge_read, stream_next, edge_event, NULL);
    E.peer_want = 2000000;
    stream_off = 0;
    stream_next(bev, NULL);
    bevio_enable(bev, EV_WRITE);
    run_until(peer_got_all);
    event_free(pr);
    ck_assert_uint_eq(E.peer_got, E.peer_want);
    ck_assert(!E.error);
}
END_TEST

START_TEST(test_edge_write_error)
{
    signal(SIGPIPE, SIG_IGN); /* as the worker: the error, not the signal */
    close(peer);
    peer = -1;
    struct evbuffer *out = bufferevent_get_output(bev);
    ck_assert_int_eq(evbuffer_add(out, "x", 1), 0);
    ck_assert(!bevio_write_now(bev, true));
    bevio_enable(bev, EV_WRITE);
    want_got = 1;
    run_until(got_all);
    /* reported as libevent's writer does: writing off, an error */
    ck_assert(E.error);
    ck_assert(!(bufferevent_get_enabled(bev) & EV_WRITE));
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
    TCase *te = tcase_create("edge_triggered");
    tcase_add_checked_fixture(te, edge_setup, edge_teardown);
    tcase_set_timeout(te, 60);
    tcase_add_test(te, test_edge_reads_past_one_read);
    tcase_add_test(te, test_edge_bulk_read);
    tcase_add_test(te, test_edge_bulk_read_tcp);
    tcase_add_test(te, test_edge_read_high_watermark);
    tcase_add_test(te, test_edge_toggle_in_one_turn);
    tcase_add_test(te, test_edge_fin_with_last_bytes);
    tcase_add_test(te, test_edge_read_timeout);
    tcase_add_test(te, test_edge_write_full_socket);
    tcase_add_test(te, test_edge_write_many_chains);
    tcase_add_test(te, test_edge_stream_from_write_callback);
    tcase_add_test(te, test_edge_write_error);
    suite_add_tcase(s, te);
    return s;
}
