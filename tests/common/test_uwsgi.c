/* Unit tests for common/uwsgi: encode, decode, malformed input, limits. */
#include <check.h>
#include <string.h>

#include "uwsgi.h"

struct seen {
    int n;
    char k[4][32], v[4][32];
};

static int collect(void *ud, const char *k, size_t kl, const char *v, size_t vl)
{
    struct seen *s = ud;
    if (s->n >= 4)
        return 7;
    memcpy(s->k[s->n], k, kl);
    s->k[s->n][kl] = '\0';
    memcpy(s->v[s->n], v, vl);
    s->v[s->n][vl] = '\0';
    s->n++;
    return 0;
}

START_TEST(roundtrip)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(uwsgi_enc_begin(&b), 0);
    ck_assert_int_eq(uwsgi_enc_add(&b, "REQUEST_METHOD", 14, "GET", 3), 0);
    ck_assert_int_eq(uwsgi_enc_add(&b, "EMPTY", 5, "", 0), 0);
    ck_assert_int_eq(uwsgi_enc_end(&b, 0, 0), 0);
    struct uwsgi_hdr h;
    uwsgi_hdr_decode((const uint8_t *)b.data, &h);
    ck_assert_uint_eq(h.mod1, 0);
    ck_assert_uint_eq(h.size, b.len - UWSGI_HDR_LEN);
    ck_assert_uint_eq(h.size, 2 + 14 + 2 + 3 + 2 + 5 + 2);
    /* little-endian on the wire */
    ck_assert_uint_eq((uint8_t)b.data[1], h.size & 0xff);
    struct seen s = {0};
    ck_assert_int_eq(uwsgi_decode_vars((const uint8_t *)b.data + 4, h.size, collect, &s), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.k[0], "REQUEST_METHOD");
    ck_assert_str_eq(s.v[0], "GET");
    ck_assert_str_eq(s.k[1], "EMPTY");
    ck_assert_str_eq(s.v[1], "");
    buf_free(&b);
}
END_TEST

START_TEST(malformed)
{
    struct seen s = {0};
    const uint8_t short_len[] = {5};
    ck_assert_int_eq(uwsgi_decode_vars(short_len, 1, collect, &s), -1);
    const uint8_t key_overrun[] = {10, 0, 'a', 'b'};
    ck_assert_int_eq(uwsgi_decode_vars(key_overrun, sizeof(key_overrun), collect, &s), -1);
    const uint8_t val_overrun[] = {1, 0, 'a', 9, 0, 'x'};
    ck_assert_int_eq(uwsgi_decode_vars(val_overrun, sizeof(val_overrun), collect, &s), -1);
    const uint8_t no_val_len[] = {1, 0, 'a'};
    ck_assert_int_eq(uwsgi_decode_vars(no_val_len, sizeof(no_val_len), collect, &s), -1);
    ck_assert_int_eq(s.n, 0);
}
END_TEST

START_TEST(too_big)
{
    static char big[40000];
    memset(big, 'x', sizeof(big));
    struct buf b = BUF_INIT;
    uwsgi_enc_begin(&b);
    ck_assert_int_eq(uwsgi_enc_add(&b, "A", 1, big, sizeof(big)), 0);
    ck_assert_int_eq(uwsgi_enc_add(&b, "B", 1, big, sizeof(big)), -1);
    ck_assert_int_eq(uwsgi_enc_end(&b, 0, 0), 0);
    buf_free(&b);
}
END_TEST

Suite *uwsgi_suite(void)
{
    Suite *s = suite_create("uwsgi");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, roundtrip);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, too_big);
    suite_add_tcase(s, tc);
    return s;
}
