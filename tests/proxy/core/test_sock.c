/* Unit tests of proxy/core/sock.c over socket pairs and loopback TCP, with
 * no helper timer: the loop runs on the sockets' events (loop_until()), so a
 * stall fails at once and a busy machine only makes them slower.
 * - sock_write_now(): one extent goes out with io->send(), several and file
 *   segments with io->write(), a full socket leaves the rest queued (false)
 *   and nothing is lost or sent twice.
 * - Edge-triggered socks (SOCK_EDGE) on a loop with the worker's
 *   changelist: where ET gets no report for what is already there (bytes
 *   past one 16 KiB read, a FIN in the same report as the last bytes,
 *   output past one writev()) every byte still moves, in order; so it does
 *   through re-arms (reading resumed below the high watermark, disabled and
 *   enabled in one turn, output queued from the write callback).
 * - Level-triggered (upstream) reads, the non-blocking connect, the write
 *   low watermark, strict and lazy timeouts, a sock freed from its own
 *   callback, and a transport of our own through struct sock_io. */
#include <check.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"
#include "loop_until.h"

static struct event_base *base;
static struct sock *sk;
static int peer;

/* sk (with `flags`) on one end of a socket pair, in loop b; peer is the
 * other end. */
static void pair_on(struct event_base *b, int flags)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(evutil_make_socket_nonblocking(sv[0]), 0);
    ck_assert_int_eq(evutil_make_socket_nonblocking(sv[1]), 0);
    ck_assert_ptr_nonnull(b);
    base = b;
    sk = sock_new(base, sv[0], flags);
    ck_assert_ptr_nonnull(sk);
    peer = sv[1];
}

static void setup(void)
{
    pair_on(event_base_new(), 0);
}

static void teardown(void)
{
    sock_free(sk);
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
    struct evbuffer *out = sock_output(sk);
    ck_assert_int_eq(evbuffer_add(out, "HTTP/1.1 200 OK\r\n\r\n", 19), 0);
    ck_assert(sock_write_now(sk, true));
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    peer_reads("HTTP/1.1 200 OK\r\n\r\n");
    ck_assert(sock_write_now(sk, true)); /* nothing queued: done */
}
END_TEST

START_TEST(test_several_extents)
{
    struct evbuffer *out = sock_output(sk);
    static const char tail[] = "-tail";
    ck_assert_int_eq(evbuffer_add(out, "head", 4), 0);
    ck_assert_int_eq(evbuffer_add_reference(out, tail, 5, NULL, NULL), 0);
    ck_assert_int_eq(evbuffer_add(out, "-end", 4), 0);
    ck_assert(sock_write_now(sk, true));
    peer_reads("head-tail-end");
}
END_TEST

START_TEST(test_file_segment)
{
    char path[] = "/tmp/test_sock.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(write(fd, "0123456789", 10), 10);
    struct evbuffer *out = sock_output(sk);
    /* the file alone, as the output holds it once a head went: libevent's
     * writer must send it (sendfile), never its chain's memory */
    ck_assert_int_eq(evbuffer_add_file(out, fd, 2, 6), 0);
    ck_assert(sock_write_now(sk, false));
    peer_reads("234567");
}
END_TEST

START_TEST(test_full_socket)
{
    int small = 4096;
    ck_assert_int_eq(setsockopt(sock_fd(sk), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    ck_assert_int_eq(setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    enum { N = 1 << 20 };
    char *data = malloc(N), *got = malloc(N + 1);
    ck_assert_ptr_nonnull(data);
    ck_assert_ptr_nonnull(got);
    for (size_t i = 0; i < N; i++)
        data[i] = (char)('a' + i % 23);
    struct evbuffer *out = sock_output(sk);
    ck_assert_int_eq(evbuffer_add(out, data, N), 0);
    ck_assert_int_eq(evbuffer_pullup(out, -1) != NULL, 1); /* one extent: send() */
    size_t total = 0;
    /* each call sends what fits; the rest stays queued, in order */
    for (int round = 0; round < 100000 && total < N; round++) {
        bool all = sock_write_now(sk, true);
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
    struct evbuffer *out = sock_output(sk);
    close(peer);
    peer = -1;
    ck_assert_int_eq(evbuffer_add(out, "x", 1), 0);
    /* the error is left to libevent's writer: the data stays, false */
    ck_assert(!sock_write_now(sk, true));
    ck_assert_uint_eq(evbuffer_get_length(out), 1);
}
END_TEST

/* Edge-triggered: the sock is the proxy's client side. */
static struct edge {
    struct evbuffer *got;     /* what the sock read */
    size_t drain_at;          /* read callback: drain the input at this size (0: all) */
    bool toggle;              /* read callback: disable reading, re-enabled later in the turn */
    bool eof, error, timeout; /* event callback saw */
    bool connected, write_timeout;
    int error_errno;  /* errno at the error */
    size_t peer_got;  /* bytes the peer read */
    size_t peer_want; /* the peer's loop stops there */
    struct event *reenable;
} E;

static void reenable(evutil_socket_t fd, short ev, void *ud);

static void edge_read(struct sock *b, void *ud)
{
    (void)ud;
    struct evbuffer *in = sock_input(b);
    if (E.drain_at && evbuffer_get_length(in) < E.drain_at)
        return;
    evbuffer_add_buffer(E.got, in);
    if (E.toggle) {
        /* re-enabled later in this turn, with bytes left in the socket */
        sock_disable(b, EV_READ);
        event_active(E.reenable, EV_TIMEOUT, 1);
    }
}

static void reenable(evutil_socket_t fd, short ev, void *ud)
{
    (void)fd;
    (void)ev;
    (void)ud;
    sock_enable(sk, EV_READ);
}

static void edge_event(struct sock *b, short what, void *ud)
{
    (void)b;
    (void)ud;
    if (what & SOCK_EOF)
        E.eof = true;
    if (what & SOCK_ERROR) {
        E.error_errno = errno;
        E.error = true;
    }
    if ((what & SOCK_TIMEOUT) && (what & SOCK_READING))
        E.timeout = true;
    if ((what & SOCK_TIMEOUT) && (what & SOCK_WRITING))
        E.write_timeout = true;
    if (what & SOCK_CONNECTED)
        E.connected = true;
}

/* sk as the proxy's client side: writing off. */
static void edge_own(void)
{
    sock_disable(sk, EV_WRITE);
    sock_setcb(sk, edge_read, NULL, edge_event, NULL);
}

static void fixture(int flags)
{
    pair_on(worker_like_base(), flags);
    memset(&E, 0, sizeof(E));
    E.got = evbuffer_new();
    ck_assert_ptr_nonnull(E.got);
    E.reenable = evtimer_new(base, reenable, NULL);
    ck_assert_ptr_nonnull(E.reenable);
    edge_own();
}

static void edge_setup(void)
{
    fixture(SOCK_EDGE);
}

/* sk as an upstream connection: level-triggered. */
static void level_setup(void)
{
    fixture(0);
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
    return (unsigned long)(evbuffer_get_length(E.got) + evbuffer_get_length(sock_input(sk)) +
                           evbuffer_get_length(sock_output(sk)) + E.peer_got + peer_off + E.eof +
                           E.error + E.timeout + E.connected + E.write_timeout);
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
    if (evbuffer_get_length(E.got) + evbuffer_get_length(sock_input(sk)) >= want_got)
        evbuffer_add_buffer(E.got, sock_input(sk)); /* a tail under drain_at */
    return evbuffer_get_length(E.got) >= want_got || E.eof || E.error;
}

static void read_through(size_t n)
{
    char *data = pattern(n);
    peer_data = data;
    peer_len = n;
    peer_off = 0;
    /* what fits goes now: no more arrives (no new report) while the
     * sock reads it */
    peer_writable(peer, EV_WRITE, NULL);
    struct event *pw =
        event_new(base, peer, EV_WRITE | EV_PERSIST, peer_writable, event_self_cbarg());
    ck_assert_ptr_nonnull(pw);
    event_add(pw, NULL);
    sock_enable(sk, EV_READ);
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

START_TEST(test_bulk_read)
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
    sock_free(sk);
    close(peer);
    sk = sock_new(base, sfd, SOCK_EDGE);
    ck_assert_ptr_nonnull(sk);
    peer = cfd;
    edge_own();
    read_through(8u << 20);
}
END_TEST

START_TEST(test_read_high_watermark)
{
    /* reads stop at the mark and resume, kicked, once the callback drains */
    sock_set_read_high(sk, 1000);
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
    sock_set_timeouts(sk, &tv, NULL);
    sock_enable(sk, EV_READ);
    run_until(timed_out);
    ck_assert(E.timeout);
    ck_assert(!(sock_enabled(sk) & EV_READ)); /* as libevent's reader */
    ck_assert_uint_eq(evbuffer_get_length(E.got), 0);
}
END_TEST

START_TEST(test_edge_put_off_read_finds_nothing)
{
    /* 17 full reads in one report: the 17th read-on is past the turn's
     * budget and put off to the next turn, where the socket is empty (the
     * data ended on a read's boundary).  That is no timeout: reading stays
     * on, and what comes later is read. */
    enum { N = (SOCK_TURN_READS + 1) * SOCK_READ_MAX };
    int big = 4 * N;
    ck_assert_int_eq(setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)), 0);
    char *data = pattern(N);
    ck_assert_int_eq(send(peer, data, N, MSG_DONTWAIT), N);
    free(data);
    sock_enable(sk, EV_READ);
    want_got = N;
    run_until(got_all);
    ck_assert_uint_eq(evbuffer_get_length(E.got), N);
    /* the next turn runs the put-off read: it finds nothing */
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    ck_assert(!E.timeout);
    ck_assert(sock_enabled(sk) & EV_READ);
    /* then the last bytes and the end */
    ck_assert_int_eq(send(peer, "x", 1, 0), 1);
    ck_assert_int_eq(shutdown(peer, SHUT_WR), 0);
    want_got = (size_t)-1;
    run_until(got_all);
    ck_assert(!E.timeout);
    ck_assert(E.eof);
    ck_assert_uint_eq(evbuffer_get_length(E.got), N + 1);
}
END_TEST

START_TEST(test_edge_fin_with_last_bytes)
{
    /* the bytes and the FIN are there before the first report */
    ck_assert_int_eq(send(peer, "last bytes", 10, 0), 10);
    ck_assert_int_eq(shutdown(peer, SHUT_WR), 0);
    sock_enable(sk, EV_READ);
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
    struct evbuffer *out = sock_output(sk);
    for (size_t off = 0; off < n; off += piece)
        ck_assert_int_eq(evbuffer_add(out, data + off, off + piece <= n ? piece : n - off), 0);
    free(data);
}

static int writecb_calls;
static void edge_write(struct sock *b, void *ud)
{
    (void)b;
    (void)ud;
    writecb_calls++;
}

/* sk's send buffer made small (many wake-ups), and the peer reading and
 * checking everything from its own event (to be freed by the caller). */
static struct event *small_socket_read_by_peer(void)
{
    int small = 4096;
    ck_assert_int_eq(setsockopt(sock_fd(sk), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    struct event *pr = event_new(base, peer, EV_READ | EV_PERSIST, peer_readable, NULL);
    ck_assert_ptr_nonnull(pr);
    ck_assert_int_eq(event_add(pr, NULL), 0);
    return pr;
}

START_TEST(test_edge_write_full_socket)
{
    struct event *pr = small_socket_read_by_peer();
    sock_setcb(sk, edge_read, edge_write, edge_event, NULL);
    E.peer_want = 4u << 20;
    queue_pattern(0, E.peer_want, 3000); /* many chains: more than one writev */
    if (!sock_write_now(sk, true))
        sock_enable(sk, EV_WRITE);
    run_until(peer_got_all);
    event_free(pr);
    ck_assert_uint_eq(E.peer_got, E.peer_want);
    ck_assert(!E.error);
    ck_assert_uint_eq(evbuffer_get_length(sock_output(sk)), 0);
    ck_assert_int_ge(writecb_calls, 1); /* the drain was reported */
}
END_TEST

static bool output_empty(void)
{
    return evbuffer_get_length(sock_output(sk)) == 0 || E.error;
}

START_TEST(test_edge_write_many_chains)
{
    /* 600 chains of 100 bytes (references: one chain each): they fit the
     * socket, but one writev() takes at most 128 of them; the peer reads
     * nothing, so nothing reports room after the first report: the writer
     * has to go on by itself */
    static char *data;
    data = pattern(60000);
    struct evbuffer *out = sock_output(sk);
    for (size_t off = 0; off < 60000; off += 100)
        ck_assert_int_eq(evbuffer_add_reference(out, data + off, 100, NULL, NULL), 0);
    sock_enable(sk, EV_WRITE);
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
static void stream_next(struct sock *b, void *ud)
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
    sock_setcb(sk, edge_read, stream_next, edge_event, NULL);
    E.peer_want = 2000000;
    stream_off = 0;
    stream_next(sk, NULL);
    sock_enable(sk, EV_WRITE);
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
    struct evbuffer *out = sock_output(sk);
    ck_assert_int_eq(evbuffer_add(out, "x", 1), 0);
    ck_assert(!sock_write_now(sk, true));
    sock_enable(sk, EV_WRITE);
    want_got = 1;
    run_until(got_all);
    /* reported as libevent's writer does: writing off, an error */
    ck_assert(E.error);
    ck_assert(!(sock_enabled(sk) & EV_WRITE));
}
END_TEST

static bool got_eof(void)
{
    return E.eof || E.error;
}

START_TEST(test_level_eof)
{
    ck_assert_int_eq(send(peer, "end", 3, 0), 3);
    ck_assert_int_eq(shutdown(peer, SHUT_WR), 0);
    sock_enable(sk, EV_READ);
    run_until(got_eof);
    ck_assert(E.eof);
    ck_assert(!E.error);
    ck_assert_uint_eq(evbuffer_get_length(E.got), 3);
    ck_assert(!(sock_enabled(sk) & EV_READ)); /* reading off before the report */
}
END_TEST

/* The write callback runs only at or under the low watermark. */
static size_t low_seen_max;
static int low_calls;
static void low_write(struct sock *b, void *ud)
{
    (void)ud;
    size_t left = evbuffer_get_length(sock_output(b));
    low_seen_max = left > low_seen_max ? left : low_seen_max;
    low_calls++;
}

START_TEST(test_write_low_watermark)
{
    struct event *pr = small_socket_read_by_peer();
    sock_setcb(sk, edge_read, low_write, edge_event, NULL);
    sock_set_write_low(sk, 20000);
    E.peer_want = 200000;
    low_seen_max = 0;
    low_calls = 0;
    queue_pattern(0, E.peer_want, 4000);
    sock_enable(sk, EV_WRITE);
    run_until(peer_got_all);
    event_free(pr);
    ck_assert_uint_eq(E.peer_got, E.peer_want);
    ck_assert_int_ge(low_calls, 1);
    ck_assert_uint_le(low_seen_max, 20000);
}
END_TEST

static bool write_timed_out(void)
{
    return E.write_timeout || E.error;
}

START_TEST(test_write_timeout)
{
    /* the peer reads nothing: the output stays, the write timeout reports */
    int small = 4096;
    ck_assert_int_eq(setsockopt(sock_fd(sk), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    struct timeval wt = {0, 50000};
    sock_set_timeouts(sk, NULL, &wt);
    queue_pattern(0, 1 << 20, 65536);
    sock_enable(sk, EV_WRITE);
    run_until(write_timed_out);
    ck_assert(E.write_timeout);
    ck_assert(!E.error);
    ck_assert(!(sock_enabled(sk) & EV_WRITE));
    ck_assert_uint_gt(evbuffer_get_length(sock_output(sk)), 0);
}
END_TEST

START_TEST(test_lazy_timeouts_still_fire)
{
    /* the same value again and again keeps the armed deadline: it fires */
    struct timeval rt = {0, 100000};
    sock_set_timeouts_lazy(sk, &rt, NULL);
    sock_enable(sk, EV_READ);
    for (int i = 0; i < 100; i++)
        sock_set_timeouts_lazy(sk, &rt, NULL);
    run_until(timed_out);
    ck_assert(E.timeout);
    ck_assert(!(sock_enabled(sk) & EV_READ));
}
END_TEST

/* The read callback frees its sock: nothing touches it afterwards (ASan). */
static void free_on_read(struct sock *b, void *ud)
{
    (void)ud;
    evbuffer_add_buffer(E.got, sock_input(b));
    sock_free(b);
    sk = NULL;
}

static bool freed(void)
{
    return sk == NULL;
}

static unsigned long got_len(void)
{
    return evbuffer_get_length(E.got);
}

START_TEST(test_free_in_callback)
{
    sock_setcb(sk, free_on_read, NULL, edge_event, NULL);
    /* more than one read: the reader would read on after the callback */
    char *data = pattern(64 * 1024);
    ck_assert_int_gt(send(peer, data, 64 * 1024, MSG_DONTWAIT), SOCK_READ_MAX);
    free(data);
    sock_enable(sk, EV_READ);
    const char *why = loop_until(base, freed, got_len);
    ck_assert_msg(why == NULL, "%s", why);
    ck_assert_uint_eq(evbuffer_get_length(E.got), SOCK_READ_MAX);
}
END_TEST

START_TEST(test_shutdown)
{
    ck_assert_int_eq(evbuffer_add(sock_output(sk), "bye", 3), 0);
    ck_assert(sock_write_now(sk, true));
    ck_assert_int_eq(sock_shutdown(sk), 0);
    char buf[8];
    ck_assert_int_eq(recv(peer, buf, sizeof(buf), 0), 3);
    ck_assert_int_eq(recv(peer, buf, sizeof(buf), 0), 0); /* the end */
}
END_TEST

/* A transport of our own, as TLS will be: bytes cross the socket
 * transformed (+1 out, -1 in), and every path goes through the table. */
static int io_calls;
static ssize_t shift_recv(struct sock *s, void *buf, size_t len)
{
    io_calls++;
    ssize_t n = recv(sock_fd(s), buf, len, 0);
    for (ssize_t i = 0; i < n; i++)
        ((char *)buf)[i]--;
    return n;
}

static ssize_t shift_send(struct sock *s, const void *buf, size_t len)
{
    io_calls++;
    char tmp[4096];
    if (len > sizeof(tmp))
        len = sizeof(tmp);
    for (size_t i = 0; i < len; i++)
        tmp[i] = (char)(((const char *)buf)[i] + 1);
    return send(sock_fd(s), tmp, len, MSG_NOSIGNAL);
}

static int shift_write(struct sock *s, struct evbuffer *out)
{
    struct evbuffer_iovec v;
    if (evbuffer_peek(out, -1, NULL, &v, 1) < 1)
        return 0;
    ssize_t n = shift_send(s, v.iov_base, v.iov_len);
    if (n > 0)
        evbuffer_drain(out, (size_t)n);
    return (int)n;
}

static int shift_shutdown(struct sock *s)
{
    io_calls++;
    return shutdown(sock_fd(s), SHUT_WR);
}

static const struct sock_io shift_io = {shift_recv, shift_send, shift_write, shift_shutdown};

static bool got_hello(void)
{
    return evbuffer_get_length(E.got) >= 5 || E.eof || E.error;
}

START_TEST(test_own_transport)
{
    sock_set_io(sk, &shift_io);
    io_calls = 0;
    /* write_now: one extent (send), several (write) */
    ck_assert_int_eq(evbuffer_add(sock_output(sk), "HAL", 3), 0);
    ck_assert(sock_write_now(sk, true));
    static const char ibm[] = "IBM";
    ck_assert_int_eq(evbuffer_add(sock_output(sk), "-", 1), 0);
    ck_assert_int_eq(evbuffer_add_reference(sock_output(sk), ibm, 3, NULL, NULL), 0);
    ck_assert_int_eq(evbuffer_add(sock_output(sk), "!", 1), 0);
    ck_assert(!sock_write_now(sk, true) || evbuffer_get_length(sock_output(sk)) == 0);
    sock_enable(sk, EV_WRITE);
    run_until(output_empty);
    peer_reads("IBM.JCN\"");
    /* reads */
    ck_assert_int_eq(send(peer, "ifmmp", 5, 0), 5);
    sock_enable(sk, EV_READ);
    run_until(got_hello);
    ck_assert_uint_eq(evbuffer_get_length(E.got), 5);
    ck_assert_int_eq(memcmp(evbuffer_pullup(E.got, -1), "hello", 5), 0);
    ck_assert_int_eq(sock_shutdown(sk), 0);
    ck_assert_int_ge(io_calls, 5);
}
END_TEST

/* The non-blocking connect: SOCK_CONNECTED, then the queued output goes. */
static int listen_tcp(struct sockaddr_in *a)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(ls, 0);
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(*a);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)a, sizeof(*a)), 0);
    ck_assert_int_eq(listen(ls, 4), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)a, &alen), 0);
    return ls;
}

/* A sock on a non-blocking connect() to `a`, in place of the fixture's. */
static void connecting_to(const struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(fd, 0);
    int r = connect(fd, (const struct sockaddr *)a, sizeof(*a));
    ck_assert_msg(r == 0 || errno == EINPROGRESS, "connect: %s", strerror(errno));
    sock_free(sk);
    sk = sock_new(base, fd, 0);
    ck_assert_ptr_nonnull(sk);
    sock_setcb(sk, edge_read, NULL, edge_event, NULL);
    ck_assert_int_eq(sock_connect_wait(sk), 0);
}

static bool connected_and_sent(void)
{
    return (E.connected && evbuffer_get_length(sock_output(sk)) == 0) || E.error;
}

START_TEST(test_connect_wait)
{
    struct sockaddr_in a;
    int ls = listen_tcp(&a);
    connecting_to(&a);
    ck_assert_int_eq(evbuffer_add(sock_output(sk), "GET", 3), 0);
    ck_assert(!sock_write_now(sk, true)); /* not before the connect */
    run_until(connected_and_sent);
    ck_assert(E.connected);
    ck_assert(!E.error);
    int sfd = accept(ls, NULL, NULL);
    ck_assert_int_ge(sfd, 0);
    char buf[4];
    ck_assert_int_eq(recv(sfd, buf, sizeof(buf), 0), 3);
    ck_assert_int_eq(memcmp(buf, "GET", 3), 0);
    close(sfd);
    close(ls);
}
END_TEST

static bool connect_failed(void)
{
    return E.connected || E.error;
}

START_TEST(test_connect_refused)
{
    struct sockaddr_in a;
    close(listen_tcp(&a)); /* a port nobody listens on */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(fd, 0);
    if (connect(fd, (const struct sockaddr *)&a, sizeof(a)) == 0 || errno != EINPROGRESS) {
        /* refused at once, in the call: nothing to wait for */
        ck_assert_int_eq(errno, ECONNREFUSED);
        close(fd);
        return;
    }
    sock_free(sk);
    sk = sock_new(base, fd, 0);
    ck_assert_ptr_nonnull(sk);
    sock_setcb(sk, edge_read, NULL, edge_event, NULL);
    ck_assert_int_eq(sock_connect_wait(sk), 0);
    run_until(connect_failed);
    ck_assert(E.error);
    ck_assert(!E.connected);
    ck_assert_int_eq(E.error_errno, ECONNREFUSED);
}
END_TEST

Suite *sock_suite(void)
{
    Suite *s = suite_create("sock");
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
    tcase_add_test(te, test_bulk_read);
    tcase_add_test(te, test_edge_bulk_read_tcp);
    tcase_add_test(te, test_read_high_watermark);
    tcase_add_test(te, test_edge_toggle_in_one_turn);
    tcase_add_test(te, test_edge_fin_with_last_bytes);
    tcase_add_test(te, test_edge_put_off_read_finds_nothing);
    tcase_add_test(te, test_edge_read_timeout);
    tcase_add_test(te, test_edge_write_full_socket);
    tcase_add_test(te, test_edge_write_many_chains);
    tcase_add_test(te, test_edge_stream_from_write_callback);
    tcase_add_test(te, test_edge_write_error);
    tcase_add_test(te, test_free_in_callback);
    suite_add_tcase(s, te);
    TCase *tl = tcase_create("level_triggered");
    tcase_add_checked_fixture(tl, level_setup, edge_teardown);
    /* the same reads, level-triggered: each report one read */
    tcase_add_test(tl, test_bulk_read);
    tcase_add_test(tl, test_read_high_watermark);
    tcase_add_test(tl, test_level_eof);
    tcase_add_test(tl, test_write_low_watermark);
    tcase_add_test(tl, test_write_timeout);
    tcase_add_test(tl, test_lazy_timeouts_still_fire);
    tcase_add_test(tl, test_shutdown);
    tcase_add_test(tl, test_own_transport);
    tcase_add_test(tl, test_connect_wait);
    tcase_add_test(tl, test_connect_refused);
    suite_add_tcase(s, tl);
    return s;
}
