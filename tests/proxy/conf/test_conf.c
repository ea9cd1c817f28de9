/* Unit tests of proxy/conf/ (conf_load and the MIME map): configurations written to a temporary
 * folder, loaded, and checked value by value (defaults, inheritance, upstreams), and one bad
 * configuration per class of error with its exact FILE:LINE message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_run.h"
#include "conf_mime.h"
#include "vars.h"

static char dir[256];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_conf.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_rf(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
}

static void teardown(void)
{
    rm_rf(dir);
}

static void put(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    for (char *c = p + strlen(dir) + 1; *c; c++)
        if (*c == '/') {
            *c = 0;
            mkdir(p, 0755);
            *c = '/';
        }
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static struct cf_main *load_ok(const char *text)
{
    put("conf/t.conf", text);
    struct cf_main *cf = NULL;
    char err[512] = "";
    int rc = conf_load("conf/t.conf", dir, NULL, &cf, err, sizeof(err));
    ck_assert_msg(rc == 0, "conf_load failed: %s", err);
    return cf;
}

/* Loads text expecting an error; returns the message with the folder
 * replaced by "D" (static buffer). */
static const char *load_err(const char *text, const char *globals)
{
    static char out[600];
    put("conf/t.conf", text);
    struct cf_main *cf = NULL;
    char err[512] = "";
    int rc = conf_load("conf/t.conf", dir, globals, &cf, err, sizeof(err));
    ck_assert_msg(rc < 0, "conf_load accepted a bad config");
    size_t dl = strlen(dir), o = 0;
    for (const char *p = err; *p && o + 1 < sizeof(out);) {
        if (strncmp(p, dir, dl) == 0) {
            out[o++] = 'D';
            p += dl;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = 0;
    return out;
}

#define EV "events {}\n"

START_TEST(test_defaults)
{
    struct cf_main *cf = load_ok(EV "http { server { listen 127.0.0.1:8080; } }\n");
    ck_assert_int_eq(cf->worker_processes, 1);
    ck_assert_int_eq(cf->worker_connections, 512);
    ck_assert(!cf->yield);
    ck_assert(!cf->multi_accept);
    char want[512];
    snprintf(want, sizeof(want), "%s/logs/proxy.pid", dir);
    ck_assert_str_eq(cf->pid_file, want);
    snprintf(want, sizeof(want), "%s/logs/error.log", dir);
    ck_assert_str_eq(cf->error_log, want);
    ck_assert_int_eq(cf->error_log_level, LL_ERROR);
    ck_assert_int_eq(cf->nservers, 1);
    const struct cf_server *s = &cf->servers[0];
    ck_assert_int_eq(s->nlistens, 1);
    ck_assert_int_eq(s->listens[0].backlog, 511);
    ck_assert(!s->listens[0].deferred);
    ck_assert_int_eq(s->listens[0].fd, -1);
    ck_assert_int_eq(s->nnames, 1);
    ck_assert_str_eq(s->names[0], "");
    ck_assert_int_eq(s->client_header_timeout_ms, 60000);
    ck_assert_int_eq(s->large_header_buffers, 4);
    ck_assert_int_eq(s->large_header_buffer_size, 8192);
    const struct cf_loc *l = s->def_loc;
    ck_assert_int_eq(l->handler, CF_H_STATIC);
    ck_assert_int_eq(l->buffer_size, 64 * 1024);
    ck_assert_int_eq(l->expires, CF_EXP_OFF);
    snprintf(want, sizeof(want), "%s/html", dir);
    ck_assert_str_eq(l->root, want);
    ck_assert_int_eq(l->nindex, 1);
    ck_assert_str_eq(l->index[0], "index.html");
    ck_assert_int_eq(l->proxy_http_version, 10);
    ck_assert_int_eq(l->connect_timeout_ms, 60000);
    ck_assert_int_eq(l->read_timeout_ms, 60000);
    ck_assert_int_eq(l->proxy_send_timeout_ms, 60000);
    ck_assert(l->buffering);
    ck_assert_int_eq(l->next_upstream, CF_NEXT_ERROR | CF_NEXT_TIMEOUT);
    ck_assert_int_eq(l->client_max_body_size, 1024 * 1024);
    ck_assert_int_eq(l->keepalive_timeout_ms, 75000);
    ck_assert_int_eq(l->keepalive_requests, 1000);
    ck_assert(l->server_tokens);
    ck_assert(!l->server_timing);
    ck_assert_int_eq(l->naccess_logs, 1);
    snprintf(want, sizeof(want), "%s/logs/access.log", dir);
    ck_assert_str_eq(l->access_logs[0].path, want);
    ck_assert_str_eq(l->access_logs[0].format->name, "combined");
    ck_assert_ptr_null(l->types); /* none configured: the built-in map */
    ck_assert_str_eq(conf_mime_type(l, "/a/b.HTML"), "text/html");
    ck_assert_str_eq(conf_mime_type(l, "/a/b.css"), "text/css");
    ck_assert_str_eq(conf_mime_type(l, "/a/b.unknownext"), "text/plain");
    cf_free(cf);
}
END_TEST

START_TEST(test_inheritance)
{
    struct cf_main *cf = load_ok(
        "worker_processes 3;\nerror_log stderr warn;\npid run/p.pid;\n"
        "worker_rlimit_nofile 4096;\n"
        "events { worker_connections 64; use epoll; multi_accept on; accept_mutex off; yield on; "
        "}\n"
        "http {\n"
        "  proxy_read_timeout 5s;\n"
        "  proxy_buffer_size 16k; proxy_buffers 8 16k; proxy_busy_buffers_size 32k;\n"
        "  types_hash_max_size 2048; server_names_hash_bucket_size 64; proxy_redirect off;\n"
        "  expires 30d; gzip off;\n"
        "  client_max_body_size 2m;\n"
        "  add_header X-A a;\n"
        "  log_format j escape=json '{\"u\":\"$uri\",' '\"s\":$status}';\n"
        "  access_log logs/a.log j;\n"
        "  types { text/css css; application/json json; }\n"
        "  default_type application/octet-stream;\n"
        "  server {\n"
        "    listen 8081 default_server reuseport backlog=100 deferred;\n"
        "    server_name Example.COM *.example.com www.example.*;\n"
        "    keepalive_timeout 1m;\n"
        "    location / { proxy_pass http://127.0.0.1:9000; proxy_set_header X-B $host; }\n"
        "    location = /exact { return 204; access_log off; }\n"
        "    location ^~ /static/ { root /srv; add_header X-C c always; index a.html b.html; }\n"
        "    location /api/ { proxy_pass http://127.0.0.1:9000/v1/; proxy_read_timeout \"1h 30m\";"
        "      uwsgi_buffer_size 4k; expires -1h;"
        "      location /api/deep/ { client_max_body_size 0; } }\n"
        "    proxy_connect_timeout 250ms;\n" /* after the locations: still inherited */
        "  }\n"
        "}\n");
    ck_assert_int_eq(cf->worker_processes, 3);
    ck_assert_int_eq(cf->worker_connections, 64);
    ck_assert(cf->yield);
    ck_assert(cf->multi_accept);
    ck_assert_int_eq(cf->worker_rlimit_nofile, 4096);
    ck_assert_str_eq(cf->error_log, "stderr");
    ck_assert_int_eq(cf->error_log_level, LL_WARN);
    const struct cf_server *s = &cf->servers[0];
    ck_assert(s->listens[0].default_server);
    ck_assert(s->listens[0].reuseport);
    ck_assert_int_eq(s->listens[0].backlog, 100);
    ck_assert(s->listens[0].deferred);
    ck_assert_int_eq(s->nnames, 3);
    ck_assert_str_eq(s->names[0], "example.com");
    ck_assert_int_eq(s->nlocs, 5);
    const struct cf_loc *root = &s->locs[0], *ex = &s->locs[1], *st = &s->locs[2],
                        *api = &s->locs[3], *deep = &s->locs[4];
    ck_assert_int_eq(root->handler, CF_H_PROXY);
    ck_assert_ptr_null(root->pass_uri);
    ck_assert_str_eq(root->proxy_host, "127.0.0.1:9000");
    ck_assert_int_eq(root->read_timeout_ms, 5000);
    ck_assert_int_eq(root->buffer_size, 16 * 1024);
    /* buffering: inherited from http, nginx's defaults for the rest */
    ck_assert(root->buffering);
    ck_assert_int_eq(root->buffers_num, 8);
    ck_assert_int_eq(root->buffers_size, 16 * 1024);
    ck_assert_int_eq(root->busy_buffers_size, 32 * 1024);
    ck_assert_int_eq(root->temp_file_write_size, 32 * 1024); /* two buffers */
    ck_assert(root->max_temp_file_size == 1024LL * 1024 * 1024);
    ck_assert_ptr_nonnull(root->temp_path);
    ck_assert(strstr(root->temp_path, "/proxy_temp") != NULL);
    ck_assert_int_eq(root->temp_levels[0], 0);
    ck_assert_int_eq(root->expires, CF_EXP_TIME);
    ck_assert_int_eq(root->expires_s, 30 * 86400);
    ck_assert_int_eq(root->connect_timeout_ms, 250);
    ck_assert_int_eq(root->keepalive_timeout_ms, 60000);
    ck_assert_int_eq(root->client_max_body_size, 2 * 1024 * 1024);
    /* nginx's defaults join the location's own proxy_set_header */
    ck_assert_int_eq(root->nproxy_headers, 3);
    ck_assert_str_eq(root->proxy_headers[0].name, "Host");
    ck_assert_str_eq(tmpl_text(root->proxy_headers[0].value), "$proxy_host");
    ck_assert_str_eq(root->proxy_headers[1].name, "Connection");
    ck_assert_str_eq(tmpl_text(root->proxy_headers[1].value), "close");
    ck_assert_str_eq(root->proxy_headers[2].name, "X-B");
    ck_assert_int_eq(root->nadd_headers, 1);
    ck_assert_str_eq(root->add_headers[0].name, "X-A");
    ck_assert_int_eq(root->naccess_logs, 1);
    ck_assert_int_eq(root->access_logs[0].format->escape, CF_ESC_JSON);
    ck_assert_str_eq(tmpl_text(root->access_logs[0].format->fmt), "{\"u\":\"$uri\",\"s\":$status}");
    ck_assert_ptr_eq(root->server, s);

    ck_assert_int_eq(ex->match, CF_LOC_EXACT);
    ck_assert_int_eq(ex->handler, CF_H_RETURN);
    ck_assert_int_eq(ex->return_code, 204);
    ck_assert_int_eq(ex->naccess_logs, 0);

    ck_assert_int_eq(st->match, CF_LOC_PREFERRED);
    ck_assert_int_eq(st->handler, CF_H_STATIC);
    ck_assert_str_eq(st->root, "/srv");
    ck_assert_int_eq(st->nadd_headers, 1); /* its own list replaces the inherited one */
    ck_assert(st->add_headers[0].always);
    ck_assert_int_eq(st->nindex, 2);
    ck_assert_str_eq(st->index[1], "b.html");
    ck_assert_str_eq(conf_mime_type(st, "x.css"), "text/css");
    ck_assert_str_eq(conf_mime_type(st, "x.html"), "application/octet-stream");

    ck_assert_str_eq(api->pass_uri, "/v1/");
    ck_assert_int_eq(api->read_timeout_ms, 5400000);
    ck_assert_ptr_eq(api->upstream, root->upstream);
    ck_assert(api->upstream->implicit);
    ck_assert_int_eq(api->upstream->npeers, 1);
    ck_assert_int_eq(deep->handler, CF_H_STATIC); /* proxy_pass is not inherited */
    ck_assert_int_eq(deep->read_timeout_ms, 5400000);
    ck_assert_int_eq(api->buffer_size, 4096); /* the uwsgi_ spelling sets the same value */
    ck_assert_int_eq(deep->buffer_size, 4096);
    ck_assert_int_eq(deep->expires, CF_EXP_TIME);
    ck_assert_int_eq(deep->expires_s, -3600);
    ck_assert_int_eq(deep->client_max_body_size, 0);
    ck_assert_int_eq(cf->nupstreams, 1);
    cf_free(cf);
}
END_TEST

/* One server's listen gives an address its socket options; the other
 * servers on it share them (one socket), as nginx. */
START_TEST(test_listen_options_shared)
{
    struct cf_main *cf =
        load_ok(EV "http {\n"
                   "server { listen 127.0.0.1:8081; }\n"
                   "server { listen 127.0.0.1:8081 reuseport backlog=7 deferred; }\n"
                   "server { listen 127.0.0.1:8081; listen 127.0.0.1:8082; }\n"
                   "}\n");
    for (int i = 0; i < 3; i++) {
        const struct cf_listen *l = &cf->servers[i].listens[0];
        ck_assert(l->reuseport);
        ck_assert_int_eq(l->backlog, 7);
        ck_assert(l->deferred);
    }
    const struct cf_listen *other = &cf->servers[2].listens[1];
    ck_assert(!other->reuseport);
    ck_assert_int_eq(other->backlog, 511);
    ck_assert(!other->deferred);
    cf_free(cf);
}
END_TEST

START_TEST(test_upstream)
{
    struct cf_main *cf = load_ok(
        EV "http {\n"
           "  upstream app {\n"
           "    hash $request_uri consistent;\n"
           "    server 127.0.0.1:8001 weight=3 max_fails=2 fail_timeout=5s max_conns=10;\n"
           "    server 127.0.0.1:8002 backup slow_start=30s;\n"
           "    server unix:/tmp/x.sock down;\n"
           "    keepalive 16; keepalive_timeout 30s; keepalive_requests 50;\n"
           "    health_check interval=2s fails=3 passes=2 uri=/health timeout=1s;\n"
           "  }\n"
           "  upstream other { server 127.0.0.1:8003; }\n"
           "  server { listen 127.0.0.1:8080; uwsgi_param HTTP_X_A b;\n"
           "    location / { proxy_pass http://app; }\n"
           "    location /u/ { uwsgi_pass uwsgi://other; uwsgi_param A $uri if_not_empty; }\n"
           "    location /s { status; }\n"
           "  }\n"
           "}\n");
    ck_assert_int_eq(cf->nupstreams, 2);
    const struct cf_upstream *u = cf->upstreams[0];
    ck_assert_str_eq(u->name, "app");
    ck_assert(!u->implicit);
    ck_assert_str_eq(u->lb_name, "hash");
    ck_assert_int_eq(u->nlb_args, 2);
    ck_assert_str_eq(u->lb_args[0], "$request_uri");
    ck_assert_str_eq(u->lb_args[1], "consistent");
    ck_assert_int_eq(u->lb_where.line, 4);
    ck_assert_int_eq(u->npeers, 3);
    ck_assert_int_eq(u->peers[0].weight, 3);
    ck_assert_int_eq(u->peers[0].max_fails, 2);
    ck_assert_int_eq(u->peers[0].fail_timeout_ms, 5000);
    ck_assert_int_eq(u->peers[0].max_conns, 10);
    ck_assert(u->peers[1].backup);
    ck_assert_int_eq(u->peers[1].slow_start_ms, 30000);
    ck_assert_int_eq(u->peers[1].weight, 1);
    ck_assert_int_eq(u->peers[1].max_fails, 1);
    ck_assert_int_eq(u->peers[1].fail_timeout_ms, 10000);
    ck_assert(u->peers[2].down);
    ck_assert_str_eq(u->peers[2].name, "unix:/tmp/x.sock");
    ck_assert_int_eq(u->keepalive, 16);
    ck_assert_int_eq(u->keepalive_timeout_ms, 30000);
    ck_assert_int_eq(u->keepalive_requests, 50);
    ck_assert(u->hc.enabled);
    ck_assert_int_eq(u->hc.interval_ms, 2000);
    ck_assert_int_eq(u->hc.fails, 3);
    ck_assert_int_eq(u->hc.passes, 2);
    ck_assert_int_eq(u->hc.timeout_ms, 1000);
    ck_assert_str_eq(u->hc.uri, "/health");
    ck_assert_str_eq(cf->upstreams[1]->lb_name, "round_robin");
    ck_assert_int_eq(cf->upstreams[1]->keepalive, 0);
    ck_assert_int_eq(cf->upstreams[1]->keepalive_timeout_ms, 60000);
    const struct cf_server *s = &cf->servers[0];
    ck_assert_ptr_eq(s->locs[0].upstream, u);
    ck_assert_str_eq(s->locs[0].proxy_host, "app");
    ck_assert_int_eq(s->locs[1].handler, CF_H_UWSGI);
    ck_assert_ptr_eq(s->locs[1].upstream, cf->upstreams[1]);
    ck_assert_int_eq(s->locs[1].nuwsgi_params, 1);
    ck_assert(s->locs[1].uwsgi_params[0].if_not_empty);
    /* an HTTP_ param is noted with the list, and inherited with it */
    ck_assert(!s->locs[1].uwsgi_http_params);
    ck_assert_int_eq(s->locs[0].nuwsgi_params, 1);
    ck_assert(s->locs[0].uwsgi_http_params);
    ck_assert_int_eq(s->locs[2].handler, CF_H_STATUS);
    cf_free(cf);
}
END_TEST

START_TEST(test_syntax)
{
    /* quoting, escapes, comments, ${var}, include with a glob, -g */
    put("conf/inc/a.conf", "location /a { return 200 \"a\\\"b\\n\"; }\n");
    put("conf/inc/b.conf", "location /b { return 301 'http://x/${uri}?'; } # c\n");
    put("conf/types.conf", "types { text/x-t t; }\n");
    struct cf_main *cf = load_ok("# comment\n" EV "http { include types.conf;\n"
                                 "server { listen 127.0.0.1:8080; include inc/*.conf; } }\n");
    const struct cf_server *s = &cf->servers[0];
    ck_assert_int_eq(s->nlocs, 2);
    ck_assert_str_eq(tmpl_text(s->locs[0].return_text), "a\"b\n");
    ck_assert_str_eq(tmpl_text(s->locs[1].return_text), "http://x/${uri}?");
    ck_assert(!tmpl_is_const(s->locs[1].return_text));
    ck_assert_str_eq(conf_mime_type(s->def_loc, "f.t"), "text/x-t");
    cf_free(cf);

    put("conf/t.conf", EV "http { server { listen 127.0.0.1:8080; } }\n");
    char err[512];
    ck_assert_int_eq(
        conf_load("conf/t.conf", dir, "worker_processes 4; pid /tmp/x.pid;", &cf, err, sizeof(err)),
        0);
    ck_assert_int_eq(cf->worker_processes, 4);
    ck_assert_str_eq(cf->pid_file, "/tmp/x.pid");
    cf_free(cf);
}
END_TEST

START_TEST(test_sizes_times)
{
    int64_t v;
    ck_assert_int_eq(conf_parse_size("8k", &v), 0);
    ck_assert_int_eq(v, 8192);
    ck_assert_int_eq(conf_parse_size("3M", &v), 0);
    ck_assert_int_eq(v, 3 << 20);
    ck_assert_int_eq(conf_parse_size("1g", &v), 0);
    ck_assert_int_eq(v, 1 << 30);
    ck_assert_int_eq(conf_parse_size("12", &v), 0);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(conf_parse_size("1x", &v), -1);
    ck_assert_int_eq(conf_parse_size("k", &v), -1);
    ck_assert_int_eq(conf_parse_msec("500ms", &v), 0);
    ck_assert_int_eq(v, 500);
    ck_assert_int_eq(conf_parse_msec("30", &v), 0);
    ck_assert_int_eq(v, 30000);
    ck_assert_int_eq(conf_parse_msec("2m", &v), 0);
    ck_assert_int_eq(v, 120000);
    ck_assert_int_eq(conf_parse_msec("1h 1s", &v), 0);
    ck_assert_int_eq(v, 3601000);
    ck_assert_int_eq(conf_parse_msec("1d", &v), 0);
    ck_assert_int_eq(v, 86400000);
    ck_assert_int_eq(conf_parse_msec("5x", &v), -1);
    ck_assert_int_eq(conf_parse_msec("", &v), -1);
    /* over the limit, and over int64 when multiplied out (UBSan checks the latter) */
    ck_assert_int_eq(conf_parse_msec("2147483", &v), 0);
    ck_assert_int_eq(v, 2147483000);
    ck_assert_int_eq(conf_parse_msec("2147484s", &v), -1);
    ck_assert_int_eq(conf_parse_msec("2147483647y", &v), -1);
    ck_assert_int_eq(conf_parse_time("2147483647y", 100LL * 365 * 86400000, &v), -1);
    ck_assert_int_eq(conf_parse_time("100y", 100LL * 365 * 86400000, &v), 0);
    ck_assert_int_eq(conf_parse_time("100y 1ms", 100LL * 365 * 86400000, &v), -1);
}
END_TEST

START_TEST(test_errors)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {EV "http { foo 1; }\n", "D/conf/t.conf:2: unknown directive \"foo\""},
        {EV "listen 80;\n", "D/conf/t.conf:2: \"listen\" directive is not allowed here"},
        {EV "http { server { listen 80 }\n}\n", "D/conf/t.conf:2: unexpected \"}\""},
        {EV "http { server { listen 80\n",
         "D/conf/t.conf:3: unexpected end of file, expecting \";\" or \"}\""},
        {EV "http { server { listen 80; }\n",
         "D/conf/t.conf:3: unexpected end of file, expecting \"}\""},
        {EV "}\n", "D/conf/t.conf:2: unexpected \"}\""},
        {EV "http {\n server {\n  listen 127.0.0.1:8080;\n  location / { proxy_pass "
            "http://nope.invalid.; }\n }\n}\n",
         "D/conf/t.conf:5: host not found in upstream \"nope.invalid.\""},
        {EV "http { keepalive_timeout abc; }\n",
         "D/conf/t.conf:2: invalid value \"abc\" in \"keepalive_timeout\" directive"},
        {EV "http { client_max_body_size 1q; }\n",
         "D/conf/t.conf:2: invalid value \"1q\" in \"client_max_body_size\" directive"},
        {EV "http { server_tokens maybe; }\n",
         "D/conf/t.conf:2: invalid value \"maybe\" in \"server_tokens\" directive, it must be "
         "\"on\" or \"off\""},
        {EV "http { proxy_read_timeout 1s; proxy_read_timeout 2s; }\n",
         "D/conf/t.conf:2: \"proxy_read_timeout\" directive is duplicate"},
        {EV EV, "D/conf/t.conf:2: \"events\" directive is duplicate"},
        {"http {}\n", "D/conf/t.conf:1: no \"events\" section in configuration"},
        {EV "http { access_log x.log nope; }\n", "D/conf/t.conf:2: unknown log format \"nope\""},
        {EV "http { server { listen 127.0.0.1:1; location / { proxy_pass 127.0.0.1:2; } } }\n",
         "D/conf/t.conf:2: invalid URL prefix in \"127.0.0.1:2\""},
        {EV "http { server { location / { } location / { } } }\n",
         "D/conf/t.conf:2: duplicate location \"/\""},
        {EV "http { server { location ~ \\.php$ { } } }\n",
         "D/conf/t.conf:2: regular expression locations are not supported"},
        {EV "http { upstream u { } }\n", "D/conf/t.conf:2: no servers are inside upstream"},
        {EV "http { upstream u { server 127.0.0.1:1 weight=0; } }\n",
         "D/conf/t.conf:2: invalid parameter \"weight=0\""},
        {EV "http { upstream u { server 127.0.0.1:1; least_conn; ip_hash; } }\n",
         "D/conf/t.conf:2: load balancing method redefined"},
        {EV "http { upstream u { server 127.0.0.1:1; } upstream u { server 127.0.0.1:2; } }\n",
         "D/conf/t.conf:2: duplicate upstream \"u\""},
        {EV "http { ip_hash; }\n", "D/conf/t.conf:2: \"ip_hash\" directive is not allowed here"},
        {EV "http { add_header X $nosuch; }\n", "D/conf/t.conf:2: unknown \"nosuch\" variable"},
        {EV "http { server { return abc; } }\n", "D/conf/t.conf:2: invalid return code \"abc\""},
        {EV "http { server { listen 127.0.0.1:80 default_server; }\n"
            "server { listen 127.0.0.1:80 default_server; } }\n",
         "D/conf/t.conf:3: a duplicate default server for 127.0.0.1:80"},
        {EV "http { server { listen 127.0.0.1:80 backlog=100; }\n"
            "server { listen 127.0.0.1:80 reuseport; } }\n",
         "D/conf/t.conf:3: duplicate listen options for 127.0.0.1:80"},
        {EV "http { server { listen 127.0.0.1:80 default_server; }\n"
            "server { listen 127.0.0.1:80 default_server backlog=5; } }\n",
         "D/conf/t.conf:3: a duplicate default server for 127.0.0.1:80"},
        {EV "http { server { listen 127.0.0.1:80 ssl; } }\n",
         "D/conf/t.conf:2: invalid parameter \"ssl\" (not supported)"},
        {EV "http { gzip_types text/css; }\n", "D/conf/t.conf:2: unknown directive \"gzip_types\""},
        {EV "http { include nope.conf; }\n",
         "D/conf/t.conf:2: open() \"D/conf/nope.conf\" failed (2: No such file or directory)"},
        {EV "http { server_name x; }\n",
         "D/conf/t.conf:2: \"server_name\" directive is not allowed here"},
        {EV "http { server { location / { proxy_pass http://a:1; uwsgi_pass b:2; } } }\n",
         "D/conf/t.conf:2: \"uwsgi_pass\" directive is duplicate"},
        {EV "http { root a; server { root b; location / { alias c; root d; } } }\n",
         "D/conf/t.conf:2: \"root\" directive is duplicate, \"alias\" directive was specified "
         "earlier"},
        {EV "worker_processes;\n",
         "D/conf/t.conf:2: invalid number of arguments in \"worker_processes\" directive"},
        {EV "http;\n", "D/conf/t.conf:2: directive \"http\" has no opening \"{\""},
        {EV "worker_processes 2 { }\n",
         "D/conf/t.conf:2: directive \"worker_processes\" is not terminated by \";\""},
        {EV "error_log x.log loud;\n", "D/conf/t.conf:2: invalid log level \"loud\""},
        {EV "error_log a.log;\nhttp { error_log b.log; }\n",
         "D/conf/t.conf:3: \"error_log\" directive is duplicate (one error log"},
        {EV "http { server { error_log b.log; } }\n",
         "D/conf/t.conf:2: \"error_log\" directive is not allowed here"},
        {EV "pid \"a\"b;\n", "D/conf/t.conf:2: unexpected \"b\""},
        {EV "pid \"a;\n", "D/conf/t.conf:3: unexpected end of file, expecting \"\"\""},
        {EV "http { server { location /a { location /b { } } } }\n",
         "D/conf/t.conf:2: location \"/b\" is outside location \"/a\""},
        {EV "http { log_format combined x; }\n",
         "D/conf/t.conf:2: duplicate \"log_format\" name \"combined\""},
        {EV "http { proxy_next_upstream error bogus; }\n",
         "D/conf/t.conf:2: invalid value \"bogus\" in \"proxy_next_upstream\" directive"},
        {EV "http { proxy_buffer_size 4q; }\n",
         "D/conf/t.conf:2: invalid value \"4q\" in \"proxy_buffer_size\" directive"},
        {EV "http { proxy_buffers 1 4k; }\n",
         "D/conf/t.conf:2: invalid value \"1\" in \"proxy_buffers\" directive"},
        {EV "http { proxy_redirect default; }\n",
         "D/conf/t.conf:2: only \"proxy_redirect off\" is supported (Location headers are passed "
         "as the upstream sent them)"},
        {EV "http { gzip on; }\n",
         "D/conf/t.conf:2: \"gzip on\" is not supported (responses are sent uncompressed)"},
        {EV "http { expires soon; }\n",
         "D/conf/t.conf:2: invalid value \"soon\" in \"expires\" directive"},
        {EV "http { expires modified 1h; }\n",
         "D/conf/t.conf:2: \"expires modified\" is not supported"},
        {EV "http { expires @15h; }\n", "D/conf/t.conf:2: \"expires @time\" is not supported"},
        {EV "http { types_hash_max_size big; }\n",
         "D/conf/t.conf:2: invalid value \"big\" in \"types_hash_max_size\" directive"},
        {EV "http { proxy_buffers 8; }\n",
         "D/conf/t.conf:2: invalid number of arguments in \"proxy_buffers\" directive"},
        {"events { use kqueue; }\n",
         "D/conf/t.conf:1: invalid event type \"kqueue\" (only \"epoll\")"},
        {"events {\n yield maybe; }\n",
         "D/conf/t.conf:2: invalid value \"maybe\" in \"yield\" directive, it must be \"on\" or "
         "\"off\""},
        {"events { yield on; yield off; }\n", "D/conf/t.conf:1: \"yield\" directive is duplicate"},
        {"events { multi_accept on; multi_accept on; }\n",
         "D/conf/t.conf:1: \"multi_accept\" directive is duplicate"},
        {EV "daemon on;\n",
         "D/conf/t.conf:2: \"daemon on\" is not supported (the proxy stays in the foreground)"},
        {EV "http { server { listen 127.0.0.1:1;\nlocation / { proxy_buffers 4 4k; "
            "proxy_busy_buffers_size 16k; proxy_pass http://127.0.0.1:2; } } }\n",
         "D/conf/t.conf:3: \"proxy_busy_buffers_size\" must be less than the size of all "
         "\"proxy_buffers\" minus one buffer"},
        {EV "http { server { listen 127.0.0.1:1;\nlocation / { uwsgi_max_temp_file_size 1k; "
            "uwsgi_pass 127.0.0.1:2; } } }\n",
         "D/conf/t.conf:3: \"uwsgi_max_temp_file_size\" must be equal to zero"},
        {EV "http { proxy_temp_path /t 3; }\n",
         "D/conf/t.conf:2: invalid value \"3\" in \"proxy_temp_path\" directive"},
        {EV "http { proxy_ignore_headers X-Nope; }\n",
         "D/conf/t.conf:2: invalid value \"X-Nope\" in \"proxy_ignore_headers\" directive"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = load_err(cases[i].text, NULL);
        ck_assert_msg(strncmp(got, cases[i].msg, strlen(cases[i].msg)) == 0,
                      "case %zu: got '%s' want '%s'", i, got, cases[i].msg);
    }
    ck_assert_str_eq(load_err(EV, "worker_processes 2; worker_processes 3;"),
                     "command line:1: \"worker_processes\" directive is duplicate");
    ck_assert_str_eq(load_err("worker_processes 2;\n" EV, "worker_processes 3;"),
                     "D/conf/t.conf:1: \"worker_processes\" directive is duplicate");
}
END_TEST

/* Every directive that may be given once per level says so through the
 * runner: before its arguments are read (main, events, upstream, return,
 * *_pass, as nginx checks), or once its value was found valid (location
 * settings, as before). */
START_TEST(test_duplicates)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {EV "worker_processes 2;\nworker_processes x;\n",
         "D/conf/t.conf:3: \"worker_processes\" directive is duplicate"},
        {EV "pid a;\npid b;\n", "D/conf/t.conf:3: \"pid\" directive is duplicate"},
        {EV "user root;\nuser root;\n", "D/conf/t.conf:3: \"user\" directive is duplicate"},
        {EV "daemon off;\ndaemon on;\n", "D/conf/t.conf:3: \"daemon\" directive is duplicate"},
        {EV "worker_rlimit_nofile 5;\nworker_rlimit_nofile 6;\n",
         "D/conf/t.conf:3: \"worker_rlimit_nofile\" directive is duplicate"},
        {"events { worker_connections 5;\nworker_connections 0; }\n",
         "D/conf/t.conf:2: \"worker_connections\" directive is duplicate"},
        {EV "http { }\nhttp { }\n", "D/conf/t.conf:3: \"http\" directive is duplicate"},
        {EV "http { proxy_read_timeout 1s;\nproxy_read_timeout x; }\n",
         "D/conf/t.conf:3: invalid value \"x\" in \"proxy_read_timeout\" directive"},
        {EV "http { uwsgi_read_timeout 1s;\nproxy_read_timeout 2s; }\n",
         "D/conf/t.conf:3: \"proxy_read_timeout\" directive is duplicate"},
        {EV "http { client_header_timeout 1s;\nclient_header_timeout 2s; }\n",
         "D/conf/t.conf:3: \"client_header_timeout\" directive is duplicate"},
        {EV "http { default_type a/b;\ndefault_type a/c; }\n",
         "D/conf/t.conf:3: \"default_type\" directive is duplicate"},
        {EV "http { resolver 127.0.0.1;\nresolver 127.0.0.1; }\n",
         "D/conf/t.conf:3: \"resolver\" directive is duplicate"},
        {EV "http { upstream u { server 127.0.0.1:1; keepalive 2;\nkeepalive 0; } }\n",
         "D/conf/t.conf:3: \"keepalive\" directive is duplicate"},
        {EV "http { upstream u { server 127.0.0.1:1; keepalive_timeout 2s;\n"
            "keepalive_timeout 3s; } }\n",
         "D/conf/t.conf:3: \"keepalive_timeout\" directive is duplicate"},
        {EV "http { upstream u { server 127.0.0.1:1; health_check;\nhealth_check; } }\n",
         "D/conf/t.conf:3: \"health_check\" directive is duplicate"},
        {EV "http { upstream u { server 127.0.0.1:1; hash $uri;\nhash $uri; } }\n",
         "D/conf/t.conf:3: load balancing method redefined"},
        {EV "http { server { location / { return 200;\nreturn x; } } }\n",
         "D/conf/t.conf:3: \"return\" directive is duplicate"},
        {EV "http { server { location / { status;\nstatus; } } }\n",
         "D/conf/t.conf:3: \"status\" directive is duplicate"},
        {EV "http { server { location / { proxy_pass http://127.0.0.1:1;\nstatus; } } }\n",
         "D/conf/t.conf:3: \"status\" directive is duplicate"},
        /* one name, several contexts */
        {EV "http { upstream u { server 127.0.0.1:1 { } } }\n",
         "D/conf/t.conf:2: directive \"server\" is not terminated by \";\""},
        {EV "http { server 127.0.0.1:1; }\n",
         "D/conf/t.conf:2: directive \"server\" has no opening \"{\""},
        {EV "http { keepalive 2; }\n",
         "D/conf/t.conf:2: \"keepalive\" directive is not allowed here"},
        {EV "http { server { health_check; } }\n",
         "D/conf/t.conf:2: \"health_check\" directive is not allowed here"},
        /* balancing arguments: the policy's own create() says what is wrong */
        {EV "http { upstream u { server 127.0.0.1:1;\nhash; } }\n",
         "D/conf/t.conf:3: hash needs a key"},
        {EV "http { upstream u { server 127.0.0.1:1;\nip_hash x; } }\n",
         "D/conf/t.conf:3: ip_hash takes no arguments"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = load_err(cases[i].text, NULL);
        ck_assert_msg(strcmp(got, cases[i].msg) == 0, "case %zu: got '%s' want '%s'", i, got,
                      cases[i].msg);
    }
}
END_TEST

/* proxy_pass / uwsgi_pass targets: host and URI split, unix sockets. */
START_TEST(test_pass_targets)
{
    struct cf_main *cf = load_ok(EV "http { server { listen 127.0.0.1:8080;\n"
                                    "location /a/ { proxy_pass http://unix:/tmp/x.sock:/pre/; }\n"
                                    "location /b/ { proxy_pass http://unix:/tmp/y.sock; }\n"
                                    "location /c/ { uwsgi_pass unix:/tmp/z.sock; }\n"
                                    "location /d/ { proxy_pass http://127.0.0.1:80/; } } }\n");
    const struct cf_loc *l = cf->servers[0].locs;
    ck_assert_str_eq(l[0].pass_uri, "/pre/");
    ck_assert_str_eq(l[0].proxy_host, "localhost");
    ck_assert_str_eq(l[0].upstream->name, "unix:/tmp/x.sock");
    ck_assert_ptr_null(l[1].pass_uri);
    ck_assert_str_eq(l[1].upstream->name, "unix:/tmp/y.sock");
    ck_assert_int_eq(l[2].handler, CF_H_UWSGI);
    ck_assert_str_eq(l[2].upstream->name, "unix:/tmp/z.sock");
    ck_assert_int_eq(l[3].handler, CF_H_PROXY);
    ck_assert_str_eq(l[3].pass_uri, "/");
    ck_assert_str_eq(l[3].proxy_host, "127.0.0.1");
    ck_assert_str_eq(l[3].upstream->name, "127.0.0.1:80");
    /* an implicit upstream's peer has a server line's defaults */
    const struct cf_upstream *u = l[3].upstream;
    ck_assert(u->implicit);
    ck_assert_int_eq(u->npeers, 1);
    ck_assert_int_eq(u->peers[0].weight, 1);
    ck_assert_int_eq(u->peers[0].max_fails, 1);
    ck_assert_int_eq(u->peers[0].fail_timeout_ms, 10000);
    cf_free(cf);
}
END_TEST

/* One MIME table: the built-in one is conf/mime.types entry for entry. */
START_TEST(test_mime_builtin_is_mime_types)
{
    char text[512];
    snprintf(text, sizeof(text),
             EV "http { include %s/conf/mime.types; server { listen 127.0.0.1:8080; } }\n",
             SOURCE_DIR);
    struct cf_main *cf = load_ok(text);
    const struct cf_types *file = cf->servers[0].def_loc->types;
    const struct cf_types *builtin = conf_mime_builtin();
    ck_assert_ptr_nonnull(file);
    ck_assert_int_eq(file->n, builtin->n);
    for (int i = 0; i < builtin->n; i++) {
        ck_assert_str_eq(file->m[i].ext, builtin->m[i].ext);
        ck_assert_str_eq(file->m[i].type, builtin->m[i].type);
        if (i > 0) /* sorted for bsearch */
            ck_assert_int_lt(strcmp(builtin->m[i - 1].ext, builtin->m[i].ext), 0);
    }
    cf_free(cf);
}
END_TEST

/* Static files honour default_type with and without a types { } block. */
START_TEST(test_static_mime)
{
    struct cf_main *cf = load_ok(EV "http { default_type a/dflt;\n"
                                    "server { listen 127.0.0.1:8080;\n"
                                    "location /t/ { types { text/x-t t; } } } }\n");
    const struct cf_server *s = &cf->servers[0];
    const struct cf_loc *none = s->def_loc, *own = &s->locs[0];
    ck_assert_ptr_null(none->types);
    ck_assert_str_eq(conf_mime_type(none, "/w/a.CSS"), "text/css");
    ck_assert_str_eq(conf_mime_type(none, "/w/a.json"), "application/json");
    ck_assert_str_eq(conf_mime_type(none, "/w/a.unknownext"), "a/dflt");
    ck_assert_str_eq(conf_mime_type(none, "/w/noext"), "a/dflt");
    ck_assert_str_eq(conf_mime_type(none, "/w/.html"), "a/dflt");
    ck_assert_str_eq(conf_mime_type(none, "/w.d/x"), "a/dflt");
    ck_assert_str_eq(conf_mime_type(none, "/w/a.jpeg"), "image/jpeg");
    /* a types { } replaces the map */
    ck_assert_str_eq(conf_mime_type(own, "/t/a.t"), "text/x-t");
    ck_assert_str_eq(conf_mime_type(own, "/t/a.css"), "a/dflt");
    ck_assert_str_eq(conf_mime_type(own, "/t/a.html"), "a/dflt");
    cf_free(cf);
}
END_TEST

/* Two types { } at one level make one map (the later type wins for an
 * extension named twice, as in nginx); a level with its own replaces the
 * inherited one. */
START_TEST(test_types_blocks_add_up)
{
    struct cf_main *cf = load_ok(EV "http { types { a/one one; a/x x; }\n"
                                    "types { a/two two; a/y x; }\n"
                                    "server { listen 127.0.0.1:8080;\n"
                                    "location /own/ { types { b/three three; } } } }\n");
    const struct cf_server *s = &cf->servers[0];
    ck_assert_int_eq(s->def_loc->types->n, 3);
    ck_assert_str_eq(conf_mime_type(s->def_loc, "f.one"), "a/one");
    ck_assert_str_eq(conf_mime_type(s->def_loc, "f.two"), "a/two");
    ck_assert_str_eq(conf_mime_type(s->def_loc, "f.x"), "a/y");
    ck_assert_str_eq(conf_mime_type(&s->locs[0], "f.three"), "b/three");
    ck_assert_str_eq(conf_mime_type(&s->locs[0], "f.one"), "text/plain");
    cf_free(cf);
}
END_TEST

/* A NUL byte is a character of its word (as in nginx), not the end of
 * every word: the load ends with an error instead of looping. */
START_TEST(test_nul_byte)
{
    static const char text[] = EV "http { a\0b; }\n";
    put("conf/t.conf", "");
    char p[512];
    snprintf(p, sizeof(p), "%s/conf/t.conf", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
    fclose(f);
    struct cf_main *cf = NULL;
    char err[512] = "";
    ck_assert_int_eq(conf_load("conf/t.conf", dir, NULL, &cf, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "t.conf:2: unknown directive \"a\""));
}
END_TEST

/* lingering_close/_time/_timeout (nginx's defaults, inherited, values
 * checked), worker_shutdown_timeout and user. */
START_TEST(test_lingering_shutdown_user)
{
    struct cf_main *cf = load_ok(EV "http {\n lingering_time 10s;\n server {\n  listen 80;\n"
                                    "  lingering_close always;\n"
                                    "  location /a { lingering_timeout 1s; }\n }\n}\n");
    const struct cf_server *s = &cf->servers[0];
    ck_assert_int_eq(cf->worker_shutdown_timeout_ms, 0);
    ck_assert_int_eq(s->def_loc->lingering_close, CF_LINGER_ALWAYS);
    ck_assert_int_eq(s->def_loc->lingering_time_ms, 10000);
    ck_assert_int_eq(s->def_loc->lingering_timeout_ms, 5000);
    const struct cf_loc *a = NULL;
    for (int i = 0; i < s->nlocs; i++)
        if (strcmp(s->locs[i].path, "/a") == 0)
            a = &s->locs[i];
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->lingering_close, CF_LINGER_ALWAYS);
    ck_assert_int_eq(a->lingering_time_ms, 10000);
    ck_assert_int_eq(a->lingering_timeout_ms, 1000);
    cf_free(cf);
    cf = load_ok(
        EV "worker_shutdown_timeout 3s;\nhttp { lingering_close off; server { listen 80; } }\n");
    ck_assert_int_eq(cf->worker_shutdown_timeout_ms, 3000);
    ck_assert_int_eq(cf->servers[0].def_loc->lingering_close, CF_LINGER_OFF);
    ck_assert_int_eq(cf->servers[0].def_loc->lingering_time_ms, 30000);
    cf_free(cf);
    cf = load_ok(EV "http { server { listen 80; } }\n");
    ck_assert_int_eq(cf->servers[0].def_loc->lingering_close, CF_LINGER_ON);
    if (geteuid() == 0) { /* the workers' default user when root: nobody */
        ck_assert(cf->user_set);
        ck_assert_str_eq(cf->user_name, "nobody");
    } else {
        ck_assert(!cf->user_set);
    }
    cf_free(cf);
    ck_assert_str_eq(load_err(EV "http { lingering_close maybe; }\n", NULL),
                     "D/conf/t.conf:2: invalid value \"maybe\" in \"lingering_close\" directive");
    ck_assert_str_eq(load_err(EV "http { lingering_time x; }\n", NULL),
                     "D/conf/t.conf:2: invalid value \"x\" in \"lingering_time\" directive");
    ck_assert_str_eq(
        load_err(EV "worker_shutdown_timeout 1s;\nworker_shutdown_timeout 2s;\n", NULL),
        "D/conf/t.conf:3: \"worker_shutdown_timeout\" directive is duplicate");
    ck_assert_str_eq(load_err(EV "http { worker_shutdown_timeout 1s; }\n", NULL),
                     "D/conf/t.conf:2: \"worker_shutdown_timeout\" directive is not allowed here");
    if (geteuid() == 0)
        ck_assert_str_eq(load_err("user no_such_user_x;\n" EV, NULL),
                         "D/conf/t.conf:1: getpwnam(\"no_such_user_x\") failed");
}
END_TEST

/* Request body buffering: nginx's defaults (on, 16k, client_body_temp
 * under the prefix), inheritance, and nginx's messages. */
START_TEST(test_request_body_settings)
{
    struct cf_main *cf =
        load_ok(EV "http {\n proxy_request_buffering off;\n client_body_temp_path tmp/b 1 2;\n"
                   " server {\n  listen 127.0.0.1:8080;\n  client_body_buffer_size 64k;\n"
                   "  location /a { proxy_request_buffering on; client_body_in_file_only clean; }\n"
                   "  location /b { client_body_temp_path /var/b; client_body_in_file_only on;\n"
                   "    client_body_in_single_buffer on; uwsgi_request_buffering off; }\n }\n}\n");
    const struct cf_server *s = &cf->servers[0];
    char want[512];
    snprintf(want, sizeof(want), "%s/tmp/b", dir);
    const struct cf_loc *d = s->def_loc, *a = NULL, *b = NULL;
    for (int i = 0; i < s->nlocs; i++) {
        if (strcmp(s->locs[i].path, "/a") == 0)
            a = &s->locs[i];
        if (strcmp(s->locs[i].path, "/b") == 0)
            b = &s->locs[i];
    }
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert(!d->proxy_request_buffering);
    ck_assert(d->uwsgi_request_buffering);
    ck_assert_int_eq(d->client_body_buffer_size, 64 * 1024);
    ck_assert_str_eq(d->client_body_temp->path, want);
    ck_assert_int_eq(d->client_body_temp->nlevels, 2);
    ck_assert_int_eq(d->client_body_temp->levels[0], 1);
    ck_assert_int_eq(d->client_body_temp->levels[1], 2);
    ck_assert_int_eq(d->client_body_in_file_only, CF_BODY_FILE_OFF);
    ck_assert(a->proxy_request_buffering);
    ck_assert_int_eq(a->client_body_buffer_size, 64 * 1024);
    ck_assert_int_eq(a->client_body_in_file_only, CF_BODY_FILE_CLEAN);
    ck_assert_str_eq(a->client_body_temp->path, want);
    ck_assert(!b->proxy_request_buffering);
    ck_assert(!b->uwsgi_request_buffering);
    ck_assert_str_eq(b->client_body_temp->path, "/var/b");
    ck_assert_int_eq(b->client_body_temp->nlevels, 0);
    ck_assert_int_eq(b->client_body_in_file_only, CF_BODY_FILE_ON);
    ck_assert(b->client_body_in_single_buffer);
    cf_free(cf);

    cf = load_ok(EV "http { server { listen 127.0.0.1:8080; } }\n");
    d = cf->servers[0].def_loc;
    ck_assert(d->proxy_request_buffering);
    ck_assert(d->uwsgi_request_buffering);
    ck_assert_int_eq(d->client_body_buffer_size, 16 * 1024);
    snprintf(want, sizeof(want), "%s/client_body_temp", dir);
    ck_assert_str_eq(d->client_body_temp->path, want);
    ck_assert_int_eq(d->client_body_in_file_only, CF_BODY_FILE_OFF);
    ck_assert(!d->client_body_in_single_buffer);
    cf_free(cf);

    ck_assert_str_eq(load_err(EV "http { client_body_in_file_only yes; }\n", NULL),
                     "D/conf/t.conf:2: invalid value \"yes\" in \"client_body_in_file_only\" "
                     "directive, it must be \"on\", \"clean\" or \"off\"");
    ck_assert_str_eq(load_err(EV "http { client_body_temp_path /t 2 9; }\n", NULL),
                     "D/conf/t.conf:2: invalid value \"9\" in \"client_body_temp_path\" directive");
    ck_assert_str_eq(load_err(EV "http { client_body_temp_path /t 0; }\n", NULL),
                     "D/conf/t.conf:2: invalid value \"0\" in \"client_body_temp_path\" directive");
    ck_assert_str_eq(load_err(EV "http { client_body_temp_path /t 1 1 1 1; }\n", NULL),
                     "D/conf/t.conf:2: invalid number of arguments in \"client_body_temp_path\" "
                     "directive");
    ck_assert_str_eq(
        load_err(EV "http { client_body_buffer_size 1x; }\n", NULL),
        "D/conf/t.conf:2: invalid value \"1x\" in \"client_body_buffer_size\" directive");
    ck_assert_str_eq(load_err(EV "http { proxy_request_buffering maybe; }\n", NULL),
                     "D/conf/t.conf:2: invalid value \"maybe\" in \"proxy_request_buffering\" "
                     "directive, it must be \"on\" or \"off\"");
    ck_assert_str_eq(
        load_err(EV "http { client_body_buffer_size 8k; client_body_buffer_size 8k; }\n", NULL),
        "D/conf/t.conf:2: \"client_body_buffer_size\" directive is duplicate");
}
END_TEST

Suite *conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("conf");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_inheritance);
    tcase_add_test(tc, test_listen_options_shared);
    tcase_add_test(tc, test_upstream);
    tcase_add_test(tc, test_syntax);
    tcase_add_test(tc, test_sizes_times);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_pass_targets);
    tcase_add_test(tc, test_mime_builtin_is_mime_types);
    tcase_add_test(tc, test_static_mime);
    tcase_add_test(tc, test_types_blocks_add_up);
    tcase_add_test(tc, test_nul_byte);
    tcase_add_test(tc, test_lingering_shutdown_user);
    tcase_add_test(tc, test_request_body_settings);
    suite_add_tcase(s, tc);
    return s;
}
