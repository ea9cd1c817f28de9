/* Unit tests for common/buf. */
#include <check.h>
#include <string.h>

#include "buf.h"

START_TEST(append_and_grow)
{
    struct buf b = BUF_INIT;
    ck_assert_str_eq(buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(buf_puts(&b, "abc"), 0);
    ck_assert_uint_eq(b.len, 3000);
    ck_assert_int_eq(memcmp(b.data + 2997, "abc", 3), 0);
    ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
    ck_assert_str_eq(buf_cstr(&b) + 3000, "42-x");
    buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(buf_cstr(&b), "");
    buf_free(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, append_and_grow);
    suite_add_tcase(s, tc);
    return s;
}
