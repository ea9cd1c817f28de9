/* Unit tests of proxy/core/accesslog.c: files opened once per path, the combined
 * and a JSON format written one line per request, `access_log off`, and
 * reopening after the file was moved away. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog.h"
#include "conf.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_accesslog.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *name)
{
    static char buf[4096];
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

START_TEST(test_write_and_reopen)
{
    char conf[128], text[1024], err[256];
    snprintf(conf, sizeof(conf), "%s/t.conf", dir);
    snprintf(text, sizeof(text),
             "events {}\nhttp {\n"
             "log_format j escape=json '{\"m\":\"$request_method\",\"ua\":\"$http_user_agent\","
             "\"ref\":\"$http_referer\",\"s\":$status}';\n"
             "access_log a.log; access_log j.log j;\n"
             "server { listen 127.0.0.1:9105; location /q { access_log off; } "
             "location /b { access_log a.log; } } }\n");
    FILE *f = fopen(conf, "w");
    fputs(text, f);
    fclose(f);
    struct cf_main *cf;
    ck_assert_msg(conf_load(conf, dir, NULL, &cf, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(accesslog_open_all(cf, err, sizeof(err)), 0);
    const struct cf_server *s = &cf->servers[0];
    /* the same path in two places is one open file */
    ck_assert_ptr_eq(s->locs[1].access_logs[0].rt, s->def_loc->access_logs[0].rt);

    struct req r;
    memset(&r, 0, sizeof(r));
    struct addr client;
    ck_assert_int_eq(addr_parse("192.0.2.7:1234", -1, &client, err, sizeof(err)), 0);
    struct req_header h[] = {{"User-Agent", 10, "t \"x\"", 5}};
    r.client = &client;
    r.headers = h;
    r.nheaders = 1;
    r.request_line = (struct req_str){"GET /p HTTP/1.1", 15};
    r.method = (struct req_str){"GET", 3};
    r.status = 200;
    r.body_bytes_sent = 5;
    accesslog_write(s->def_loc, &r);
    accesslog_write(&s->locs[0], &r); /* off */
    const char *a = slurp("a.log");
    ck_assert_ptr_nonnull(a);
    ck_assert_msg(strstr(a, "192.0.2.7 - - [") == a, "%s", a);
    ck_assert_msg(strstr(a, "] \"GET /p HTTP/1.1\" 200 5 \"-\" \"t \\x22x\\x22\"\n"), "%s", a);
    ck_assert_int_eq((int)strlen(a), (int)(strchr(a, '\n') - a) + 1); /* one line */
    ck_assert_str_eq(slurp("j.log"),
                     "{\"m\":\"GET\",\"ua\":\"t \\\"x\\\"\",\"ref\":\"\",\"s\":200}\n");

    char from[128], to[128];
    snprintf(from, sizeof(from), "%s/a.log", dir);
    snprintf(to, sizeof(to), "%s/a.log.1", dir);
    ck_assert_int_eq(rename(from, to), 0);
    accesslog_reopen_all(cf);
    r.status = 404;
    accesslog_write(&s->locs[1], &r);
    ck_assert_msg(strstr(slurp("a.log"), "\" 404 5 ") != NULL, "%s", slurp("a.log"));
    ck_assert_ptr_null(strstr(slurp("a.log.1"), "\" 404 "));
    accesslog_close_all(cf);
    ck_assert_ptr_null(s->def_loc->access_logs[0].rt);
    cf_free(cf);
}
END_TEST

START_TEST(test_open_failure)
{
    char conf[128], err[256];
    snprintf(conf, sizeof(conf), "%s/t.conf", dir);
    FILE *f = fopen(conf, "w");
    fputs("events {}\nhttp { access_log nodir/x.log; server { listen 127.0.0.1:9106; } }\n", f);
    fclose(f);
    struct cf_main *cf;
    ck_assert_int_eq(conf_load(conf, dir, NULL, &cf, err, sizeof(err)), 0);
    ck_assert_int_eq(accesslog_open_all(cf, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "nodir/x.log\" failed (2: No such file or directory)"), "%s", err);
    cf_free(cf);
}
END_TEST

Suite *accesslog_suite(void)
{
    Suite *s = suite_create("accesslog");
    TCase *tc = tcase_create("accesslog");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_write_and_reopen);
    tcase_add_test(tc, test_open_failure);
    suite_add_tcase(s, tc);
    return s;
}
