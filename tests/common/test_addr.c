/* Unit tests for common/addr: the spellings users write. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"

static void roundtrip(const char *spec, int defport, const char *want)
{
    struct addr a;
    char err[256], out[ADDR_STRLEN];
    ck_assert_msg(addr_parse(spec, defport, &a, err, sizeof(err)) == 0, "%s: %s", spec, err);
    addr_format(&a, out, sizeof(out));
    ck_assert_str_eq(out, want);
}

START_TEST(spellings)
{
    roundtrip("127.0.0.1:8080", -1, "127.0.0.1:8080");
    roundtrip(":9000", -1, "0.0.0.0:9000");
    roundtrip("9001", -1, "0.0.0.0:9001");
    roundtrip("[::1]:81", -1, "[::1]:81");
    roundtrip("127.0.0.1", 80, "127.0.0.1:80");
    roundtrip("unix:/tmp/x.sock", -1, "unix:/tmp/x.sock");
    roundtrip("/tmp/y.sock", -1, "unix:/tmp/y.sock");
    roundtrip("localhost:82", -1, "127.0.0.1:82");
}
END_TEST

START_TEST(errors)
{
    struct addr a;
    char err[256];
    ck_assert_int_eq(addr_parse("127.0.0.1:0", -1, &a, err, sizeof(err)), -1);
    ck_assert_int_eq(addr_parse("127.0.0.1:99999", -1, &a, err, sizeof(err)), -1);
    ck_assert_int_eq(addr_parse("127.0.0.1", -1, &a, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no port"));
    ck_assert_int_eq(addr_parse("::1:80", -1, &a, err, sizeof(err)), -1);
    ck_assert_int_eq(addr_parse("[::1", -1, &a, err, sizeof(err)), -1);
    ck_assert_int_eq(addr_parse("no-such-host.invalid:80", -1, &a, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "host not found"));
}
END_TEST

START_TEST(listen_and_connect_unix)
{
    char path[] = "/tmp/chain-test-addr-XXXXXX";
    int tfd = mkstemp(path);
    ck_assert_int_ge(tfd, 0);
    close(tfd);
    unlink(path);
    struct addr a;
    char err[256];
    char spec[64];
    snprintf(spec, sizeof(spec), "unix:%s", path);
    ck_assert_int_eq(addr_parse(spec, -1, &a, err, sizeof(err)), 0);
    int l = addr_listen(&a, 16, 0, err, sizeof(err));
    ck_assert_msg(l >= 0, "%s", err);
    /* a second listener on a live socket fails instead of stealing it */
    ck_assert_int_eq(addr_listen(&a, 16, 0, err, sizeof(err)), -1);
    int c = addr_connect(&a, NULL);
    ck_assert_int_ge(c, 0);
    close(c);
    close(l);
    /* stale socket file: listening again works */
    l = addr_listen(&a, 16, 0, err, sizeof(err));
    ck_assert_msg(l >= 0, "%s", err);
    close(l);
    unlink(path);
}
END_TEST

Suite *addr_suite(void)
{
    Suite *s = suite_create("addr");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, spellings);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, listen_and_connect_unix);
    suite_add_tcase(s, tc);
    return s;
}
