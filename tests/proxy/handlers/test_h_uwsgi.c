/* Unit tests for proxy/handlers/h_uwsgi: a uwsgi gateway's CGI head
 * ("Status: 404 Not Found" instead of a status line) rewritten into an
 * HTTP/1.0 head, and refused when its Status is not three digits. */
#include <check.h>
#include <string.h>

#include "buf.h"
#include "h_uwsgi.h"
#include "http.h"

/* The status of head `h` once rewritten and parsed, or uwsgi_cgi_head's or
 * http_parse_response's negative result. */
static int status_of(const char *h)
{
    struct buf out = {0};
    int rc = uwsgi_cgi_head(h, strlen(h), &out);
    if (rc == 0) {
        struct http_resp rp;
        http_resp_init(&rp);
        rc = http_parse_response(&rp, out.data, out.len);
        if (rc == 0)
            rc = rp.status;
        http_resp_free(&rp);
    }
    buf_free(&out);
    return rc;
}

START_TEST(cgi_status)
{
    ck_assert_int_eq(status_of("Status: 404 Not Found\r\nX: y\r\n\r\n"), 404);
    ck_assert_int_eq(status_of("Content-Type: text/plain\r\nstatus:  201\r\n\r\n"), 201);
    ck_assert_int_eq(status_of("Content-Type: text/plain\r\n\r\n"), 200);
}
END_TEST

/* A Status value that is not three digits from 100 to 599 is an invalid
 * header (502), as in nginx; it was read as digits whatever its bytes
 * ("20" then CR gave 165). */
START_TEST(cgi_status_invalid)
{
    ck_assert_int_eq(status_of("Status: 20\r\nContent-Type: text/plain\r\n\r\n"), -2);
    ck_assert_int_eq(status_of("Status: 2/0\r\n\r\n"), -2);
    ck_assert_int_eq(status_of("Status: 4xx\r\n\r\n"), -2);
    ck_assert_int_eq(status_of("Status: 700\r\n\r\n"), -2);
    ck_assert_int_eq(status_of("Status: OK\r\n\r\n"), -2);
}
END_TEST

Suite *h_uwsgi_suite(void)
{
    Suite *s = suite_create("h_uwsgi");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, cgi_status);
    tcase_add_test(tc, cgi_status_invalid);
    suite_add_tcase(s, tc);
    return s;
}
