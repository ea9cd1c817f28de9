/* Unit tests of the client connection's deadlines (proxy/core/conn.c with
 * the HTTP/1 session, h1.c): a real configuration, a worker's loop and a
 * loopback TCP connection, walked through every state a connection can be in; in each
 * one conn_timer_armed() must hold (a deadline bounds it), so that no state
 * can leave a connection open forever:
 *   HEAD (new, a partial head), ACTIVE reading a body (client_body_timeout),
 *   ACTIVE discarding the body of a request answered early (lingering),
 *   FLUSH with output the client does not read (send_timeout), IDLE
 *   (keepalive_timeout) after a response and after a discarded body, LINGER
 *   (lingering_time/lingering_timeout).
 * The loop runs on the sockets' events only (loop_until). */
#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "f_chunked.h"
#include "f_headers.h"
#include "filter.h"
#include "h1.h"
#include "h_return.h"
#include "handler.h"
#include "loop_until.h"
#include "phase.h"
#include "request.h"
#include "route.h"
#include "sock.h"
#include "timing.h"
#include "wstate.h"

static char dir[64];
static struct cf_main *cf;
static struct worker w;
static int peer;
static unsigned long moved; /* bytes the peer read (progress) */
static struct evbuffer *sink;

static const char CONF[] = "worker_processes 1;\n"
                           "events { worker_connections 16; }\n"
                           "http {\n"
                           "  access_log off;\n"
                           "  client_max_body_size 0;\n"
                           "  server {\n"
                           "    listen 127.0.0.1:1;\n"
                           "    location /ret { return 200 \"r\"; }\n"
                           "    location /hold { return 204; }\n"
                           "  }\n"
                           "}\n";

/* "hold": reads the whole body into `sink`, then answers 1 MiB (more than
 * a socket pair holds). */
static void hold_body(void *ud, bool done)
{
    struct request *q = ud;
    if (!done)
        return;
    static char big[1 << 20];
    memset(big, 'b', sizeof(big));
    request_head_begin(q, 200, NULL, 0);
    request_head_end(q, sizeof(big), true);
    (void)request_body_add(q, big, sizeof(big));
    request_done(q);
}

static void hold_start(struct request *q)
{
    request_body_attach(q, sink, false, hold_body, q);
}

static const struct h_ops hold_ops = {.name = "test_hold", .start = hold_start};

static struct conn *the_conn(void)
{
    return w.conns;
}

static void setup(void)
{
    strcpy(dir, "/tmp/test_conn.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char p[128];
    snprintf(p, sizeof(p), "%s/conf", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/conf/t.conf", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(CONF, f);
    fclose(f);

    phase_reset();
    filter_reset();
    request_init();
    ck_assert_int_eq(route_phases_init(), 0);
    ck_assert_int_eq(h_return_init(), 0);
    ck_assert_int_eq(f_headers_init(), 0);
    ck_assert_int_eq(f_chunked_init(), 0);
    char err[512] = "";
    ck_assert_msg(conf_load("conf/t.conf", dir, "user root;", &cf, err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert_msg(route_init(cf, err, sizeof(err)) == 0, "%s", err);
    struct cf_server *srv = &cf->servers[0];
    for (int i = 0; i < srv->nlocs; i++)
        if (strcmp(srv->locs[i].path, "/hold") == 0)
            srv->locs[i].content = &hold_ops;

    memset(&w, 0, sizeof(w));
    /* the worker's loop (worker.c): epoll with the changelist */
    struct event_config *ecf = event_config_new();
    ck_assert_ptr_nonnull(ecf);
    event_config_set_flag(ecf, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    event_config_set_flag(ecf, EVENT_BASE_FLAG_PRECISE_TIMER);
    w.base = event_base_new_with_config(ecf);
    event_config_free(ecf);
    w.cf = cf;
    ck_assert_ptr_nonnull(w.base);
    timing_use_base(w.base);
    sink = evbuffer_new();
    moved = 0;

    /* a loopback TCP pair, as a client connection is */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(ls, 1), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&a, &al), 0);
    peer = socket(AF_INET, SOCK_STREAM, 0);
    /* small buffers: a 1 MiB response stays queued */
    int sz = 16384;
    setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    ck_assert_int_eq(connect(peer, (struct sockaddr *)&a, sizeof(a)), 0);
    struct sockaddr_in pa;
    socklen_t pl = sizeof(pa);
    int fd = accept(ls, (struct sockaddr *)&pa, &pl);
    ck_assert_int_ge(fd, 0);
    close(ls);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    ck_assert_int_eq(evutil_make_socket_nonblocking(fd), 0);
    ck_assert_int_eq(evutil_make_socket_nonblocking(peer), 0);
    h1_accept(&w, &srv->listens[0], fd, (struct sockaddr *)&pa, pl);
    ck_assert_ptr_nonnull(the_conn());
}

static void teardown(void)
{
    conn_close_all(&w);
    close(peer);
    evbuffer_free(sink);
    timing_use_base(NULL);
    event_base_free(w.base);
    route_free(cf);
    cf_free(cf);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void send_peer(const char *s)
{
    ck_assert_int_eq(write(peer, s, strlen(s)), (ssize_t)strlen(s));
}

/* Reads what the proxy sent, up to `max` bytes (0: all there is). */
static size_t read_peer(size_t max)
{
    char b[65536];
    size_t got = 0;
    for (;;) {
        size_t want = max && max - got < sizeof(b) ? max - got : sizeof(b);
        if (want == 0)
            break;
        ssize_t n = read(peer, b, want);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    moved += got;
    return got;
}

static enum conn_state want_st;
static bool want_discarding;
static bool in_state(void)
{
    struct conn *c = the_conn();
    return c && c->st == want_st && c->discarding == want_discarding;
}

static unsigned long progress(void)
{
    struct conn *c = the_conn();
    return moved + (c ? (unsigned long)c->st * 1000003UL : 0) +
           (c ? evbuffer_get_length(conn_output(c)) : 0);
}

/* Runs the loop until the connection is in st (and discarding or not). */
static void reach(enum conn_state st, bool discarding)
{
    want_st = st;
    want_discarding = discarding;
    const char *why = loop_until(w.base, in_state, progress);
    ck_assert_msg(why == NULL, "state %d not reached: %s (in %d)", st, why,
                  the_conn() ? (int)the_conn()->st : -1);
}

static unsigned long peer_bytes;
static bool read_all_response(void)
{
    peer_bytes += read_peer(0);
    return the_conn() && the_conn()->st == CONN_ST_IDLE;
}

START_TEST(test_head_states)
{
    /* new: waiting for the first request under client_header_timeout */
    ck_assert_int_eq(the_conn()->st, CONN_ST_HEAD);
    ck_assert(conn_timer_armed(the_conn()));
    send_peer("GET /ret HT");
    ck_assert_int_eq(event_base_loop(w.base, EVLOOP_NONBLOCK), 0);
    ck_assert_int_eq(the_conn()->st, CONN_ST_HEAD);
    ck_assert(conn_timer_armed(the_conn()));
    /* answered: IDLE under keepalive_timeout */
    send_peer("TP/1.1\r\nHost: a\r\n\r\n");
    peer_bytes = 0;
    ck_assert_ptr_null(loop_until(w.base, read_all_response, progress));
    ck_assert(conn_timer_armed(the_conn()));
    ck_assert_uint_gt(peer_bytes, 0);
}
END_TEST

START_TEST(test_body_then_flush)
{
    /* reading a body: client_body_timeout */
    send_peer("POST /hold HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345");
    reach(CONN_ST_ACTIVE, false);
    ck_assert(the_conn()->body_wait);
    ck_assert(conn_timer_armed(the_conn()));
    /* the body is in, the answer does not fit: FLUSH under send_timeout */
    send_peer("67890");
    reach(CONN_ST_FLUSH, false);
    ck_assert_uint_gt(evbuffer_get_length(conn_output(the_conn())), 0);
    ck_assert(conn_timer_armed(the_conn()));
    /* the client reads it: IDLE under keepalive_timeout (turns bounded in
     * number; loop_until's stall check is not used here: it takes the
     * socket's readiness between the peer's read and the kernel's wake-up of
     * the writer for a missed report) */
    for (int i = 0; i < 5000 && the_conn()->st != CONN_ST_IDLE; i++) {
        ck_assert_int_ne(event_base_loop(w.base, EVLOOP_NONBLOCK), -1);
        read_peer(0);
    }
    ck_assert_int_eq(the_conn()->st, CONN_ST_IDLE);
    ck_assert(conn_timer_armed(the_conn()));
}
END_TEST

START_TEST(test_discard_then_keepalive)
{
    /* answered before its body: discarding, under lingering_time */
    send_peer("POST /ret HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nxxxx");
    reach(CONN_ST_ACTIVE, true);
    ck_assert(conn_timer_armed(the_conn()));
    /* the rest comes and is dropped: kept alive */
    static char rest[100000 - 4];
    memset(rest, 'y', sizeof(rest));
    size_t off = 0;
    while (off < sizeof(rest)) {
        ssize_t n = write(peer, rest + off, sizeof(rest) - off);
        if (n > 0)
            off += (size_t)n;
        moved += n > 0 ? (unsigned long)n : 0;
        ck_assert_int_ne(event_base_loop(w.base, EVLOOP_ONCE), -1);
        read_peer(0);
    }
    peer_bytes = 0;
    ck_assert_ptr_null(loop_until(w.base, read_all_response, progress));
    ck_assert(!the_conn()->discarding);
    ck_assert(conn_timer_armed(the_conn()));
}
END_TEST

START_TEST(test_close_lingers)
{
    /* a 413-like early answer that closes: LINGER under lingering_time */
    send_peer("POST /ret HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
              "Content-Length: 100000\r\n\r\nxxxx");
    reach(CONN_ST_LINGER, false);
    ck_assert(conn_timer_armed(the_conn()));
    /* more bytes: dropped, the deadline re-armed */
    send_peer("more");
    moved++;
    ck_assert_int_eq(event_base_loop(w.base, EVLOOP_NONBLOCK), 0);
    ck_assert_int_eq(the_conn()->st, CONN_ST_LINGER);
    ck_assert(conn_timer_armed(the_conn()));
}
END_TEST

Suite *conn_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("timers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_head_states);
    tcase_add_test(tc, test_body_then_flush);
    tcase_add_test(tc, test_discard_then_keepalive);
    tcase_add_test(tc, test_close_lingers);
    suite_add_tcase(s, tc);
    return s;
}
