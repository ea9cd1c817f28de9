/* Unit tests for common/buf. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
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

START_TEST(number_formats)
{
    /* fmt_u64/fmt_hex must agree with printf for every width */
    uint64_t vals[] = {
        0,         1,    9,     10,     15,      16,          99,          255,
        256,       4095, 65536, 999999, 1000000, 4294967295u, 4294967296u, UINT64_MAX / 3,
        UINT64_MAX};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char a[FMT_U64_MAX + 1], e[32];
        size_t n = fmt_u64(a, vals[i]);
        a[n] = '\0';
        snprintf(e, sizeof(e), "%llu", (unsigned long long)vals[i]);
        ck_assert_str_eq(a, e);
        n = fmt_hex(a, vals[i]);
        a[n] = '\0';
        snprintf(e, sizeof(e), "%llx", (unsigned long long)vals[i]);
        ck_assert_str_eq(a, e);
    }
    struct buf b = BUF_INIT;
    ck_assert_int_eq(buf_append_u64(&b, 1234567890123ull), 0);
    ck_assert_str_eq(buf_cstr(&b), "1234567890123");
    buf_free(&b);
}
END_TEST

Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, append_and_grow);
    tcase_add_test(tc, number_formats);
    suite_add_tcase(s, tc);
    return s;
}
