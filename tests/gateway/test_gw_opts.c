/* Unit tests for gateway/opts: uWSGI option spellings, ini files, errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_opts.h"

static int parse(struct gw_opts *o, char *err, size_t n, int argc, char **argv)
{
    gw_opts_init(o);
    return gw_opts_parse_argv(o, argc, argv, err, n);
}

START_TEST(argv_forms)
{
    struct gw_opts o;
    char err[512];
    char *argv[] = {"gateway",
                    "--http-socket",
                    ":8080",
                    "--socket=unix:/tmp/a.sock",
                    "--wsgi-file",
                    "app.py",
                    "--master",
                    "--processes",
                    "4",
                    "--harakiri=30",
                    "--max-requests",
                    "1000",
                    "--pythonpath",
                    "/a",
                    "--pythonpath=/b",
                    "--env",
                    "K=V",
                    "--disable-logging",
                    "--plugin",
                    "python3",
                    "--preload"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), sizeof(argv) / sizeof(argv[0]), argv), 0);
    ck_assert_int_eq(o.nsocks, 2);
    ck_assert_str_eq(o.socks[0].spec, ":8080");
    ck_assert_int_eq(o.socks[0].proto, GW_PROTO_HTTP);
    ck_assert_str_eq(o.socks[1].spec, "unix:/tmp/a.sock");
    ck_assert_int_eq(o.socks[1].proto, GW_PROTO_UWSGI);
    ck_assert_str_eq(o.wsgi_file, "app.py");
    ck_assert_int_eq(o.processes, 4);
    ck_assert_int_eq(o.harakiri, 30);
    ck_assert_int_eq(o.max_requests, 1000);
    ck_assert_int_eq(o.npythonpath, 2);
    ck_assert_str_eq(o.pythonpath[1], "/b");
    ck_assert_int_eq(o.nenv, 1);
    ck_assert(o.disable_logging);
    ck_assert(o.preload);
    ck_assert(o.yield);
    ck_assert_int_eq(gw_opts_check(&o, err, sizeof(err)), 0);
    gw_opts_free(&o);
}
END_TEST

START_TEST(defaults)
{
    struct gw_opts o;
    gw_opts_init(&o);
    ck_assert_int_eq(o.processes, 1);
    ck_assert_int_ge(o.listen_backlog, 1024);
    ck_assert_int_ge(o.buffer_size, 65536);
    ck_assert(!o.preload);
    gw_opts_free(&o);
}
END_TEST

START_TEST(argv_errors)
{
    struct gw_opts o;
    char err[512];
    char *a1[] = {"gateway", "--no-such-option", "1"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 3, a1), -1);
    ck_assert_ptr_nonnull(strstr(err, "no-such-option"));
    gw_opts_free(&o);
    char *a2[] = {"gateway", "--processes", "zero"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 3, a2), -1);
    ck_assert_ptr_nonnull(strstr(err, "processes"));
    gw_opts_free(&o);
    char *a3[] = {"gateway", "--processes", "0"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 3, a3), -1);
    gw_opts_free(&o);
    char *a4[] = {"gateway", "--wsgi-file"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 2, a4), -1);
    ck_assert_ptr_nonnull(strstr(err, "needs a value"));
    gw_opts_free(&o);
    char *a5[] = {"gateway", "stray"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 2, a5), -1);
    gw_opts_free(&o);
    /* check(): no socket, no app, two apps */
    char *a6[] = {"gateway", "--wsgi-file", "a.py"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 3, a6), 0);
    ck_assert_int_eq(gw_opts_check(&o, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "socket"));
    gw_opts_free(&o);
    char *a7[] = {"gateway", "--http-socket", ":1", "--wsgi-file", "a.py", "--module", "m"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 7, a7), 0);
    ck_assert_int_eq(gw_opts_check(&o, err, sizeof(err)), -1);
    gw_opts_free(&o);
    char *a8[] = {"gateway", "--http-socket", ":1", "--env", "NOEQUALS", "--module", "m"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 7, a8), 0);
    ck_assert_int_eq(gw_opts_check(&o, err, sizeof(err)), -1);
    gw_opts_free(&o);
}
END_TEST

START_TEST(bounds_and_privileges)
{
    struct gw_opts o;
    char err[512];
    gw_opts_init(&o);
    ck_assert_int_eq(o.limit_post, 0);
    ck_assert_int_eq(o.idle_handoff_ms, 100);
    gw_opts_free(&o);
    char *a1[] = {"gateway",
                  "--http-socket",
                  "/tmp/s",
                  "--wsgi-file",
                  "a.py",
                  "--limit-post",
                  "1048576",
                  "--uid",
                  "nobody",
                  "--gid",
                  "nogroup",
                  "--chown-socket",
                  "www-data:www-data",
                  "--chmod-socket",
                  "660",
                  "--idle-handoff=0"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), sizeof(a1) / sizeof(a1[0]), a1), 0);
    ck_assert_int_eq(o.limit_post, 1048576);
    ck_assert_str_eq(o.uid, "nobody");
    ck_assert_str_eq(o.gid, "nogroup");
    ck_assert_str_eq(o.chown_socket, "www-data:www-data");
    ck_assert_str_eq(o.chmod_socket, "660");
    ck_assert_int_eq(o.idle_handoff_ms, 0);
    ck_assert_int_eq(gw_opts_check(&o, err, sizeof(err)), 0);
    gw_opts_free(&o);
    char *a2[] = {"gateway", "--limit-post", "-1"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 3, a2), -1);
    gw_opts_free(&o);
    const char *bad[] = {"8", "66x", "17777", "-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *a3[] = {"gateway", "--http-socket",  ":1",          "--wsgi-file",
                      "a.py",    "--chmod-socket", (char *)bad[i]};
        ck_assert_int_eq(parse(&o, err, sizeof(err), 7, a3), 0);
        ck_assert_int_eq(gw_opts_check(&o, err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, "chmod-socket"));
        gw_opts_free(&o);
    }
}
END_TEST

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/gw-opts-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(ini_file)
{
    struct gw_opts o;
    char err[512];
    char *path = write_tmp("# comment\n[other]\nprocesses = 9\n[uwsgi]\n"
                           "http-socket = 127.0.0.1:9000\nsocket = /tmp/x.sock\n"
                           "module = pkg.mod:app\n; another comment\nmaster = true\n"
                           "workers = 3\ndisable-logging = false\nvacuum\nyield = off\n");
    char *argv[] = {"gateway", "--ini", path, "--processes", "5"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 5, argv), 0);
    ck_assert_int_eq(o.nsocks, 2);
    ck_assert_str_eq(o.module, "pkg.mod:app");
    ck_assert_int_eq(o.processes, 5); /* the command line after --ini wins */
    ck_assert(!o.disable_logging);
    ck_assert(o.vacuum);
    ck_assert(!o.yield);
    gw_opts_free(&o);
    unlink(path);
    char *bad[] = {"gateway", "--yield=maybe"};
    ck_assert_int_eq(parse(&o, err, sizeof(err), 2, bad), -1);
    ck_assert_str_eq(err, "option yield: \"maybe\" is not a boolean");
    gw_opts_free(&o);
}
END_TEST

START_TEST(ini_errors)
{
    struct gw_opts o;
    char err[512], want[128];
    char *path = write_tmp("[uwsgi]\nhttp-socket = :1\nbogus-key = 1\n");
    gw_opts_init(&o);
    ck_assert_int_eq(gw_opts_load_ini(&o, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:3: ", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    gw_opts_free(&o);
    unlink(path);

    path = write_tmp("[uwsgi]\nprocesses = -2\n");
    gw_opts_init(&o);
    ck_assert_int_eq(gw_opts_load_ini(&o, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: ", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    gw_opts_free(&o);
    unlink(path);

    path = write_tmp("[server]\nx = 1\n");
    gw_opts_init(&o);
    ck_assert_int_eq(gw_opts_load_ini(&o, path, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no [uwsgi] section"));
    gw_opts_free(&o);
    unlink(path);

    gw_opts_init(&o);
    ck_assert_int_eq(gw_opts_load_ini(&o, "/nonexistent/gw.ini", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/gw.ini"));
    gw_opts_free(&o);
}
END_TEST

START_TEST(ini_magic)
{
    struct gw_opts o;
    char err[512], want[256];
    char *path = write_tmp("[uwsgi]\nsocket = %dapp.sock\nchdir = %d\npidfile = %n.pid\n"
                           "env = X=%p\nwsgi-file = 100%%.py\nhttp-socket = :1\n");
    gw_opts_init(&o);
    ck_assert_int_eq(gw_opts_load_ini(&o, path, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "/tmp/app.sock");
    ck_assert_str_eq(o.socks[0].spec, want);
    ck_assert_str_eq(o.chdir_dir, "/tmp/");
    snprintf(want, sizeof(want), "%s.pid", path + 5); /* the name has no extension */
    ck_assert_str_eq(o.pidfile, want);
    snprintf(want, sizeof(want), "X=%s", path);
    ck_assert_str_eq(o.env[0], want);
    ck_assert_str_eq(o.wsgi_file, "100%.py");
    gw_opts_free(&o);
    unlink(path);
}
END_TEST

Suite *gw_opts_suite(void)
{
    Suite *s = suite_create("gw_opts");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, argv_forms);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, argv_errors);
    tcase_add_test(tc, ini_file);
    tcase_add_test(tc, ini_errors);
    tcase_add_test(tc, ini_magic);
    tcase_add_test(tc, bounds_and_privileges);
    suite_add_tcase(s, tc);
    return s;
}
