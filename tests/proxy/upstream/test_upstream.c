/* Unit tests of upstream.c: groups built from a typed config, nginx's
 * max_fails/fail_timeout rules on a fake clock, the single-server rule,
 * backups, max_conns, down, slow start, tried sets and config errors. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <netinet/in.h>

#include "h_status.h"
#include "upstream.h"

static int64_t fake_ms = 1000000;
static int64_t fake_now(void)
{
    return fake_ms;
}

#define MAXP 16

struct fx {
    struct cf_main cf;
    struct cf_upstream u;
    struct cf_upstream *ups[1];
    struct cf_peer peers[MAXP];
    char names[MAXP][32];
    char *args[4];
};

/* An upstream of n servers 127.0.0.1:9001.. with weights w (NULL: 1). */
static void fx_setup(struct fx *f, int n, const int *w)
{
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < n; i++) {
        struct cf_peer *p = &f->peers[i];
        char err[128];
        snprintf(f->names[i], sizeof(f->names[i]), "127.0.0.1:%d", 9001 + i);
        p->name = f->names[i];
        ck_assert_int_eq(addr_parse(p->name, -1, &p->addr, err, sizeof(err)), 0);
        p->weight = w ? w[i] : 1;
        p->max_fails = 1;
        p->fail_timeout_ms = 10000;
    }
    f->u.name = "app";
    f->u.peers = f->peers;
    f->u.npeers = n;
    f->u.where = (struct cf_where){"test.conf", 3};
    f->u.lb_where = (struct cf_where){"test.conf", 7};
    f->ups[0] = &f->u;
    f->cf.upstreams = f->ups;
    f->cf.nupstreams = 1;
    up_set_clock(fake_now);
}

static struct up_group *fx_init(struct fx *f)
{
    char err[256];
    err[0] = 0;
    ck_assert_msg(up_init_all(&f->cf, NULL, err, sizeof(err)) == 0, "%s", err);
    return f->u.rt;
}

static void fx_done(struct fx *f)
{
    up_free_all(&f->cf);
    up_set_clock(NULL);
}

/* A whole request: pick, then end it with `res`; returns the peer. */
static int one(struct up_group *g, enum up_result res)
{
    struct up_try t;
    up_try_init(&t, g);
    int p = up_pick(g, NULL, &t);
    if (p >= 0)
        up_done(g, p, res, NULL);
    up_try_free(&t);
    return p;
}

/* Starts requests, ending each at once, until one lands on peer `want`,
 * and leaves that one open in *t (bounded: 8 rounds of the group). */
static void hold_on(struct up_group *g, int want, struct up_try *t)
{
    for (int k = 0; k < 8 * MAXP; k++) {
        up_try_init(t, g);
        int p = up_pick(g, NULL, t);
        if (p == want)
            return;
        ck_assert_int_ge(p, 0);
        up_done(g, p, UP_OK, NULL);
        up_try_free(t);
    }
    ck_abort_msg("no request reached peer %d", want);
}

START_TEST(up_rr_sequence_and_names)
{
    struct fx f;
    fx_setup(&f, 3, (int[]){5, 1, 1});
    struct up_group *g = fx_init(&f);
    ck_assert_int_eq(up_npeers(g), 3);
    ck_assert_str_eq(up_peer_name(g, 1), "127.0.0.1:9002");
    ck_assert_int_eq(addr_port(up_peer_addr(g, 2)), 9003);
    ck_assert_ptr_eq(up_group_conf(g), &f.u);
    char got[8] = {0};
    for (int k = 0; k < 7; k++)
        got[k] = (char)('a' + one(g, UP_OK));
    ck_assert_str_eq(got, "aabacaa");
    fx_done(&f);
}
END_TEST

START_TEST(up_max_fails_fail_timeout)
{
    struct fx f;
    fx_setup(&f, 2, NULL);
    f.peers[0].max_fails = 2;
    struct up_group *g = fx_init(&f);
    /* two failures of peer 0 within fail_timeout take it out */
    ck_assert_int_eq(one(g, UP_FAIL), 0);
    ck_assert_int_eq(one(g, UP_OK), 1);
    ck_assert_int_eq(one(g, UP_FAIL), 0);
    struct up_peer_info pi;
    up_peer_info(g, 0, &pi);
    ck_assert_int_eq(pi.state, UP_ST_UNAVAILABLE);
    ck_assert_int_eq((int)pi.failures, 2);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(one(g, UP_OK), 1);
    /* after fail_timeout it gets one request; success clears its failures */
    fake_ms += 10001;
    int seen0 = 0;
    for (int k = 0; k < 4; k++)
        seen0 += one(g, UP_OK) == 0;
    ck_assert_int_ge(seen0, 1);
    up_peer_info(g, 0, &pi);
    ck_assert_int_eq(pi.fails, 0);
    ck_assert_int_eq(pi.state, UP_ST_UP);
    fx_done(&f);
}
END_TEST

START_TEST(up_failed_again_after_timeout)
{
    struct fx f;
    fx_setup(&f, 2, NULL);
    struct up_group *g = fx_init(&f);
    ck_assert_int_eq(one(g, UP_FAIL), 0);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(one(g, UP_OK), 1);
    fake_ms += 10001;
    /* the probe fails: out for another fail_timeout */
    struct up_try t;
    hold_on(g, 0, &t);
    up_done(g, 0, UP_FAIL, NULL);
    up_try_free(&t);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(one(g, UP_OK), 1);
    fx_done(&f);
}
END_TEST

START_TEST(up_single_never_down)
{
    struct fx f;
    fx_setup(&f, 1, NULL);
    struct up_group *g = fx_init(&f);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(one(g, UP_FAIL), 0);
    struct up_peer_info pi;
    up_peer_info(g, 0, &pi);
    ck_assert_int_eq(pi.state, UP_ST_UP);
    /* a request gets the single server once */
    struct up_try t;
    up_try_init(&t, g);
    ck_assert_int_eq(up_pick(g, NULL, &t), 0);
    up_done(g, 0, UP_FAIL, NULL);
    ck_assert_int_eq(up_pick(g, NULL, &t), -1);
    up_try_free(&t);
    fx_done(&f);
}
END_TEST

START_TEST(up_backup_only_when_primaries_unusable)
{
    struct fx f;
    fx_setup(&f, 4, NULL);
    f.peers[2].backup = f.peers[3].backup = true;
    struct up_group *g = fx_init(&f);
    for (int k = 0; k < 10; k++)
        ck_assert_int_lt(one(g, UP_OK), 2);
    /* a request whose primaries all fail moves on to the backups */
    struct up_try t;
    up_try_init(&t, g);
    int a = up_pick(g, NULL, &t);
    up_done(g, a, UP_FAIL, NULL);
    int b = up_pick(g, NULL, &t);
    ck_assert_int_lt(b, 2);
    ck_assert_int_ne(a, b);
    up_done(g, b, UP_FAIL, NULL);
    int c = up_pick(g, NULL, &t);
    ck_assert_int_ge(c, 2);
    up_done(g, c, UP_OK, NULL);
    up_try_free(&t);
    /* both primaries failed: later requests go to the backups in turn */
    ck_assert_int_eq(one(g, UP_OK) + one(g, UP_OK), 5);
    struct up_peer_info pi;
    up_peer_info(g, 3, &pi);
    ck_assert(pi.backup);
    fake_ms += 10001;
    ck_assert_int_lt(one(g, UP_OK), 2);
    fx_done(&f);
}
END_TEST

START_TEST(up_down_and_max_conns)
{
    struct fx f;
    fx_setup(&f, 3, NULL);
    f.peers[0].down = true;
    f.peers[1].max_conns = 2;
    struct up_group *g = fx_init(&f);
    struct up_try t[6];
    int held[3] = {0, 0, 0};
    for (int k = 0; k < 6; k++) {
        up_try_init(&t[k], g);
        int p = up_pick(g, NULL, &t[k]);
        ck_assert_int_ge(p, 1);
        held[p]++;
    }
    ck_assert_int_eq(held[0], 0);
    ck_assert_int_eq(held[1], 2);
    ck_assert_int_eq(held[2], 4);
    struct up_peer_info pi;
    up_peer_info(g, 1, &pi);
    ck_assert_int_eq(pi.active, 2);
    up_peer_info(g, 0, &pi);
    ck_assert_int_eq(pi.state, UP_ST_DOWN);
    for (int k = 0; k < 6; k++)
        up_try_free(&t[k]);
    fx_done(&f);
}
END_TEST

START_TEST(up_all_max_conns_gives_none)
{
    struct fx f;
    fx_setup(&f, 2, NULL);
    f.peers[0].max_conns = f.peers[1].max_conns = 1;
    struct up_group *g = fx_init(&f);
    struct up_try a, b, c;
    up_try_init(&a, g);
    up_try_init(&b, g);
    up_try_init(&c, g);
    int pa = up_pick(g, NULL, &a), pb = up_pick(g, NULL, &b);
    ck_assert_int_ne(pa, pb);
    ck_assert_int_eq(up_pick(g, NULL, &c), -1);
    up_done(g, pa, UP_OK, NULL);
    ck_assert_int_eq(up_pick(g, NULL, &c), pa);
    up_try_free(&a);
    up_try_free(&b);
    up_try_free(&c);
    fx_done(&f);
}
END_TEST

START_TEST(up_many_peers_tried)
{
    static struct cf_peer many[300];
    struct fx f;
    fx_setup(&f, 1, NULL);
    for (int i = 0; i < 300; i++) {
        many[i] = f.peers[0];
        many[i].max_fails = 0;
    }
    f.u.peers = many;
    f.u.npeers = 300;
    struct up_group *g = fx_init(&f);
    struct up_try t;
    up_try_init(&t, g);
    static char seen[300];
    memset(seen, 0, sizeof(seen));
    for (int k = 0; k < 300; k++) {
        int p = up_pick(g, NULL, &t);
        ck_assert_int_ge(p, 0);
        ck_assert(!seen[p]);
        seen[p] = 1;
        up_done(g, p, UP_FAIL, NULL);
    }
    ck_assert_int_eq(up_pick(g, NULL, &t), -1);
    up_try_free(&t);
    fx_done(&f);
}
END_TEST

START_TEST(up_slow_start)
{
    struct fx f;
    fx_setup(&f, 2, (int[]){10, 10});
    f.peers[0].slow_start_ms = 10000;
    struct up_group *g = fx_init(&f);
    ck_assert_int_eq(one(g, UP_FAIL), 0);
    fake_ms += 10001;
    struct up_try t; /* the probe succeeds: ramp starts */
    hold_on(g, 0, &t);
    up_done(g, 0, UP_OK, NULL);
    up_try_free(&t);
    long c[2] = {0, 0};
    for (int k = 0; k < 1000; k++)
        c[one(g, UP_OK)]++;
    ck_assert_msg(c[0] < 200, "ramping peer got %ld of 1000", c[0]);
    fake_ms += 10001;
    c[0] = c[1] = 0;
    for (int k = 0; k < 1000; k++)
        c[one(g, UP_OK)]++;
    ck_assert_msg(c[0] >= 495 && c[0] <= 505, "%ld of 1000 after the ramp", c[0]);
    fx_done(&f);
}
END_TEST

START_TEST(up_config_errors)
{
    struct fx f;
    char err[256];
    fx_setup(&f, 2, NULL);
    f.u.lb_name = "fastest";
    ck_assert_int_eq(up_check_all(&f.cf, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "test.conf:7: unknown balancing method \"fastest\" in upstream \"app\"");
    f.u.lb_name = "least_conn";
    f.args[0] = "extra";
    f.u.lb_args = f.args;
    f.u.nlb_args = 1;
    ck_assert_int_eq(up_init_all(&f.cf, NULL, err, sizeof(err)), -1);
    ck_assert_ptr_null(f.u.rt);
    ck_assert_msg(strncmp(err, "test.conf:7: ", 13) == 0, "%s", err);
    f.u.lb_name = "hash";
    f.u.nlb_args = 0;
    ck_assert_int_eq(up_check_all(&f.cf, err, sizeof(err)), -1);
    f.u.lb_name = "hash";
    f.args[0] = "$request_uri";
    f.args[1] = "consistent";
    f.args[2] = "bounded=0.5";
    f.u.nlb_args = 3;
    ck_assert_int_eq(up_check_all(&f.cf, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "bounded") != NULL, "%s", err);
    f.u.nlb_args = 2;
    ck_assert_int_eq(up_check_all(&f.cf, err, sizeof(err)), 0);
    f.peers[0].backup = f.peers[1].backup = true;
    ck_assert_int_eq(up_check_all(&f.cf, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "no servers") != NULL, "%s", err);
    fx_done(&f);
}
END_TEST

/* A tiny HTTP server on the test's loop: answers every connection with
 * "HTTP/1.0 <status>" and closes. */
struct tiny {
    struct evconnlistener *l;
    int status;
    int port;
    int hits;
    struct bufferevent *live[32]; /* accepted and not yet closed: freed by tiny_stop */
    int nlive;
};

static void tiny_close(struct tiny *t, struct bufferevent *bev)
{
    for (int i = 0; i < t->nlive; i++)
        if (t->live[i] == bev) {
            t->live[i] = t->live[--t->nlive];
            break;
        }
    bufferevent_free(bev);
}

static void tiny_write_done(struct bufferevent *bev, void *ud)
{
    tiny_close(ud, bev);
}

/* The checker gave up or the peer went away before the answer. */
static void tiny_event(struct bufferevent *bev, short what, void *ud)
{
    (void)what;
    tiny_close(ud, bev);
}

static void tiny_read(struct bufferevent *bev, void *ud)
{
    struct tiny *t = ud;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (evbuffer_search(in, "\r\n\r\n", 4, NULL).pos < 0)
        return;
    t->hits++;
    evbuffer_drain(in, evbuffer_get_length(in));
    bufferevent_setcb(bev, NULL, tiny_write_done, tiny_event, t);
    evbuffer_add_printf(bufferevent_get_output(bev), "HTTP/1.0 %d X\r\nContent-Length: 0\r\n\r\n",
                        t->status);
}

static void tiny_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl,
                        void *ud)
{
    (void)sa, (void)sl;
    struct tiny *t = ud;
    if (t->nlive == (int)(sizeof(t->live) / sizeof(t->live[0]))) {
        close(fd);
        return;
    }
    struct bufferevent *bev =
        bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
    t->live[t->nlive++] = bev;
    bufferevent_setcb(bev, tiny_read, NULL, tiny_event, ud);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void tiny_stop(struct tiny *t)
{
    while (t->nlive > 0)
        tiny_close(t, t->live[0]);
    evconnlistener_free(t->l);
}

static void tiny_start(struct event_base *base, struct tiny *t, int status)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    t->status = status;
    t->hits = 0;
    t->nlive = 0;
    t->l = evconnlistener_new_bind(base, tiny_accept, t, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                   16, (struct sockaddr *)&sin, sizeof(sin));
    ck_assert_ptr_nonnull(t->l);
    socklen_t len = sizeof(sin);
    getsockname(evconnlistener_get_fd(t->l), (struct sockaddr *)&sin, &len);
    t->port = ntohs(sin.sin_port);
}

static void run_loop(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

START_TEST(up_health_checks)
{
    signal(SIGPIPE, SIG_IGN); /* as the worker does */
    struct event_base *base = event_base_new();
    struct tiny ok, sick;
    tiny_start(base, &ok, 200);
    tiny_start(base, &sick, 503);
    struct fx f;
    fx_setup(&f, 3, NULL);
    up_set_clock(NULL);
    char err[256];
    snprintf(f.names[0], sizeof(f.names[0]), "127.0.0.1:%d", ok.port);
    snprintf(f.names[1], sizeof(f.names[1]), "127.0.0.1:%d", sick.port);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(addr_parse(f.names[i], -1, &f.peers[i].addr, err, sizeof(err)), 0);
    /* peer 2 keeps 127.0.0.1:9003, where nothing listens: refused */
    f.u.hc = (struct cf_health_check){true, 100, 2, 2, 500, "/health"};
    ck_assert_msg(up_init_all(&f.cf, base, err, sizeof(err)) == 0, "%s", err);
    struct up_group *g = f.u.rt;
    run_loop(base, 450);
    struct up_peer_info pi;
    up_peer_info(g, 0, &pi);
    ck_assert_int_eq(pi.state, UP_ST_UP);
    ck_assert_int_ge((int)pi.hc_checks, 2);
    ck_assert_int_eq((int)pi.hc_fails, 0);
    up_peer_info(g, 1, &pi);
    ck_assert_int_eq(pi.state, UP_ST_UNHEALTHY);
    up_peer_info(g, 2, &pi);
    ck_assert_int_eq(pi.state, UP_ST_UNHEALTHY);
    ck_assert_int_ge(ok.hits, 2);
    for (int k = 0; k < 6; k++)
        ck_assert_int_eq(one(g, UP_OK), 0);
    /* the sick one recovers after two passes */
    sick.status = 200;
    run_loop(base, 450);
    up_peer_info(g, 1, &pi);
    ck_assert_int_eq(pi.state, UP_ST_UP);
    int seen1 = 0;
    for (int k = 0; k < 6; k++)
        seen1 += one(g, UP_OK) == 1;
    ck_assert_int_eq(seen1, 3);

    /* the status document shows all of it */
    struct buf b = BUF_INIT;
    ck_assert_int_eq(status_render(&f.cf, &b), 0);
    json_error_t je;
    json_t *doc = json_loads(buf_cstr(&b), 0, &je);
    ck_assert_msg(doc != NULL, "%s", je.text);
    json_t *peers =
        json_object_get(json_object_get(json_object_get(doc, "upstreams"), "app"), "peers");
    ck_assert_int_eq((int)json_array_size(peers), 3);
    json_t *p2 = json_array_get(peers, 2);
    ck_assert_str_eq(json_string_value(json_object_get(p2, "state")), "unhealthy");
    ck_assert_str_eq(json_string_value(json_object_get(p2, "server")), "127.0.0.1:9003");
    json_t *p0 = json_array_get(peers, 0);
    ck_assert_int_eq((int)json_integer_value(json_object_get(p0, "requests")), 9);
    ck_assert_int_eq((int)json_integer_value(json_object_get(p0, "weight")), 1);
    ck_assert(json_is_false(json_object_get(p0, "backup")));
    ck_assert(json_is_null(json_object_get(p0, "response_time_avg")));
    json_decref(doc);
    buf_free(&b);

    up_free_all(&f.cf);
    tiny_stop(&ok);
    tiny_stop(&sick);
    event_base_free(base);
    up_set_clock(NULL);
}
END_TEST

/* The policies' fast modes (lb_sets.h) stop walking once nothing changes:
 * a failure, its fail_timeout running out, and max_conns reached and left
 * must still change the picks at once.  (That the fast modes do start is
 * the lb_fast suite's to check; here a missing generation bump in
 * upstream.c would let a full or failed peer be picked.) */
static void steady_changes(const char *method, char *arg)
{
    struct fx f;
    fx_setup(&f, MAXP, NULL);
    f.u.lb_name = (char *)method;
    f.args[0] = arg;
    f.u.lb_args = f.args;
    f.u.nlb_args = arg != NULL;
    f.peers[5].max_conns = 1;
    struct up_group *g = fx_init(&f);
    for (int k = 0; k < 100; k++)
        ck_assert_int_ge(one(g, UP_OK), 0);
    /* peer 3 fails once (max_fails=1): out for fail_timeout */
    struct up_try t;
    hold_on(g, 3, &t);
    up_done(g, 3, UP_FAIL, NULL);
    up_try_free(&t);
    for (int k = 0; k < 4 * MAXP; k++)
        ck_assert_int_ne(one(g, UP_OK), 3);
    fake_ms += 10001;
    int seen = 0;
    for (int k = 0; k < 4 * MAXP; k++)
        seen += one(g, UP_OK) == 3;
    ck_assert_msg(seen > 0, "%s: peer 3 not back after fail_timeout", method);
    /* a request held on peer 5 (max_conns=1) keeps it out until it ends */
    struct up_try held;
    hold_on(g, 5, &held);
    for (int k = 0; k < 4 * MAXP; k++)
        ck_assert_int_ne(one(g, UP_OK), 5);
    up_done(g, 5, UP_OK, NULL);
    up_try_free(&held);
    seen = 0;
    for (int k = 0; k < 4 * MAXP; k++)
        seen += one(g, UP_OK) == 5;
    ck_assert_msg(seen > 0, "%s: peer 5 not back after its request ended", method);
    fx_done(&f);
}

START_TEST(up_fast_modes_follow_changes)
{
    steady_changes("round_robin", NULL);
    steady_changes("least_conn", NULL);
    steady_changes("least_time", "header");
}
END_TEST

START_TEST(up_status_times)
{
    struct fx f;
    fx_setup(&f, 2, NULL);
    f.peers[1].backup = true;
    struct up_group *g = fx_init(&f);
    struct up_try t;
    up_try_init(&t, g);
    int p = up_pick(g, NULL, &t);
    struct up_timing tm = {0.001, 0.002, 0.004};
    up_done(g, p, UP_OK, &tm);
    up_try_free(&t);
    struct buf b = BUF_INIT;
    ck_assert_int_eq(status_render(&f.cf, &b), 0);
    json_t *doc = json_loads(buf_cstr(&b), 0, NULL);
    ck_assert_ptr_nonnull(doc);
    json_t *u = json_object_get(json_object_get(doc, "upstreams"), "app");
    ck_assert_str_eq(json_string_value(json_object_get(u, "method")), "round_robin");
    json_t *peers = json_object_get(u, "peers");
    ck_assert(json_real_value(json_object_get(json_array_get(peers, 0), "response_time_avg")) ==
              0.004);
    ck_assert(json_is_true(json_object_get(json_array_get(peers, 1), "backup")));
    json_decref(doc);
    buf_free(&b);
    fx_done(&f);
}
END_TEST

Suite *upstream_suite(void)
{
    Suite *s = suite_create("upstream");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, up_rr_sequence_and_names);
    tcase_add_test(tc, up_fast_modes_follow_changes);
    tcase_add_test(tc, up_max_fails_fail_timeout);
    tcase_add_test(tc, up_failed_again_after_timeout);
    tcase_add_test(tc, up_single_never_down);
    tcase_add_test(tc, up_backup_only_when_primaries_unusable);
    tcase_add_test(tc, up_down_and_max_conns);
    tcase_add_test(tc, up_all_max_conns_gives_none);
    tcase_add_test(tc, up_many_peers_tried);
    tcase_add_test(tc, up_slow_start);
    tcase_add_test(tc, up_config_errors);
    tcase_add_test(tc, up_health_checks);
    tcase_add_test(tc, up_status_times);
    suite_add_tcase(s, tc);
    return s;
}
