/* Unit tests for gateway/accesslog: the line's fields and escaping. */
#include <check.h>
#include <string.h>

#include "gw_accesslog.h"

START_TEST(line_fields)
{
    char out[512];
    struct gw_access a = {"127.0.0.1", "GET", 3, "/p?q=1", 6, "HTTP/1.1", 200, 14, 164, 2};
    size_t n = gw_access_format(&a, out, sizeof(out));
    ck_assert_uint_eq(n, strlen(out));
    ck_assert_ptr_nonnull(strstr(out, "127.0.0.1 - ["));
    ck_assert_ptr_nonnull(strstr(out, "] \"GET /p?q=1 HTTP/1.1\" 200 14 164 w2\n"));
}
END_TEST

START_TEST(escaping_and_truncation)
{
    char out[512];
    const char *uri = "/a\"b\\c\x01 d\xff";
    struct gw_access a = {"::1", "GET", 3, uri, strlen(uri), "HTTP/1.0", 404, 0, 5, 1};
    gw_access_format(&a, out, sizeof(out));
    ck_assert_ptr_nonnull(strstr(out, "\"GET /a\\x22b\\x5cc\\x01\\x20d\\xff HTTP/1.0\" 404"));
    char small[40];
    char longuri[300];
    memset(longuri, 'x', sizeof(longuri));
    struct gw_access b = {"127.0.0.1", "GET", 3, longuri, sizeof(longuri),
                          "HTTP/1.1",  200,   1, 1,       1};
    size_t n = gw_access_format(&b, small, sizeof(small));
    ck_assert_uint_lt(n, sizeof(small));
    ck_assert_int_eq(small[n - 1], '\n');
    ck_assert_int_eq(small[n], '\0');
}
END_TEST

Suite *gw_accesslog_suite(void)
{
    Suite *s = suite_create("gw_accesslog");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, line_fields);
    tcase_add_test(tc, escaping_and_truncation);
    suite_add_tcase(s, tc);
    return s;
}
