/* Unit tests of proxy/core/vars.c: compiling templates (errors as nginx words
 * them) and evaluating every kind of variable against a hand-made request,
 * with the default, JSON and no escaping, and the log form's "-". */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "vars.h"

static struct req R;
static struct req_header H[8];
static struct addr CLIENT, LOCAL;

#define S(x)                                                                                       \
    {                                                                                              \
        x, sizeof(x) - 1                                                                           \
    }

static void setup(void)
{
    memset(&R, 0, sizeof(R));
    char err[128];
    ck_assert_int_eq(addr_parse("10.1.2.3:5555", -1, &CLIENT, err, sizeof(err)), 0);
    ck_assert_int_eq(addr_parse("127.0.0.1:8080", -1, &LOCAL, err, sizeof(err)), 0);
    R.method = (struct req_str)S("GET");
    R.request_uri = (struct req_str)S("/a%20b?x=1&Name=v%2F&e=");
    R.uri = (struct req_str)S("/a b");
    R.args = (struct req_str)S("x=1&Name=v%2F&e=");
    R.request_line = (struct req_str)S("GET /a%20b?x=1&Name=v%2F&e= HTTP/1.1");
    R.http_major = 1;
    R.http_minor = 1;
    H[0] = (struct req_header){"Host", 4, "Example.com:8080", 16};
    H[1] = (struct req_header){"User-Agent", 10, "ua \"q\" \\ \x01", 10};
    H[2] = (struct req_header){"X-Forwarded-For", 15, "1.1.1.1", 7};
    H[3] = (struct req_header){"Cookie", 6, "a=1; sid=xyz; b=2", 17};
    H[4] = (struct req_header){"Authorization", 13, "Basic dXNlcjpwYXNz", 18}; /* user:pass */
    H[5] = (struct req_header){"Content-Type", 12, "text/plain", 10};
    R.headers = H;
    R.nheaders = 6;
    R.host = (struct req_str)S("example.com");
    R.client = &CLIENT;
    R.local = &LOCAL;
    memcpy(R.request_id, "0123456789abcdef0123456789abcdef", 33);
    R.status = 404;
    R.body_bytes_sent = 123;
    R.bytes_sent = 456;
    R.request_length = 78;
    clock_gettime(CLOCK_REALTIME, &R.start);
}

static void teardown(void)
{
    req_free(&R);
}

/* Evaluates src against R; returns a static copy. */
static const char *ev(const char *src, enum cf_escape esc, bool log)
{
    static char out[1024];
    char err[128];
    struct tmpl *t = tmpl_compile(src, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s: %s", src, err);
    struct buf b = BUF_INIT;
    ck_assert_int_eq(log ? tmpl_eval_log(t, &R, &b, esc) : tmpl_eval(t, &R, &b, esc), 0);
    snprintf(out, sizeof(out), "%s", buf_cstr(&b));
    buf_free(&b);
    tmpl_free(t);
    return out;
}

#define E(src) ev(src, CF_ESC_NONE, false)

START_TEST(test_compile)
{
    char err[128];
    struct tmpl *t = tmpl_compile("plain text", err, sizeof(err));
    ck_assert(tmpl_is_const(t));
    ck_assert_str_eq(tmpl_text(t), "plain text");
    tmpl_free(t);
    t = tmpl_compile("$host:${server_port}x", err, sizeof(err));
    ck_assert(!tmpl_is_const(t));
    tmpl_free(t);
    ck_assert_ptr_null(tmpl_compile("a $nosuch b", err, sizeof(err)));
    ck_assert_str_eq(err, "unknown \"nosuch\" variable");
    ck_assert_ptr_null(tmpl_compile("${host", err, sizeof(err)));
    ck_assert_str_eq(err, "the closing bracket in \"host\" variable is missing");
    ck_assert_ptr_null(tmpl_compile("a $ b", err, sizeof(err)));
    ck_assert_ptr_null(tmpl_compile("$http_", err, sizeof(err)));
}
END_TEST

START_TEST(test_values)
{
    ck_assert_str_eq(E("$host|$remote_addr|$remote_port"), "example.com|10.1.2.3|5555");
    ck_assert_str_eq(E("$server_addr:$server_port $scheme"), "127.0.0.1:8080 http");
    ck_assert_str_eq(E("$request"), "GET /a%20b?x=1&Name=v%2F&e= HTTP/1.1");
    ck_assert_str_eq(E("$request_method $request_uri"), "GET /a%20b?x=1&Name=v%2F&e=");
    ck_assert_str_eq(E("$uri|$document_uri|$args|$query_string|$is_args"),
                     "/a b|/a b|x=1&Name=v%2F&e=|x=1&Name=v%2F&e=|?");
    ck_assert_str_eq(E("$arg_x|$arg_name|$arg_NAME|$arg_e|$arg_zz"), "1|v%2F|v%2F||");
    ck_assert_str_eq(E("$http_user_agent"), "ua \"q\" \\ \x01");
    ck_assert_str_eq(E("$http_x_forwarded_for|$HTTP_HOST"), "1.1.1.1|Example.com:8080");
    ck_assert_str_eq(E("$http_HOST"), "Example.com:8080");
    ck_assert_str_eq(E("$cookie_sid|$cookie_a|$cookie_b|$cookie_none"), "xyz|1|2|");
    ck_assert_str_eq(E("$proxy_add_x_forwarded_for"), "1.1.1.1, 10.1.2.3");
    ck_assert_str_eq(E("$remote_user"), "user");
    ck_assert_str_eq(E("$status $body_bytes_sent $bytes_sent $request_length"), "404 123 456 78");
    ck_assert_str_eq(E("$request_id"), "0123456789abcdef0123456789abcdef");
    ck_assert_str_eq(E("$content_type|$content_length"), "text/plain|");
    ck_assert_str_eq(E("$server_protocol|$https"), "HTTP/1.1|");
    R.nheaders = 1; /* no X-Forwarded-For */
    ck_assert_str_eq(E("$proxy_add_x_forwarded_for"), "10.1.2.3");
    R.status = 0;
    ck_assert_str_eq(E("$status"), "000");
    buf_puts(&R.upstream_addr, "127.0.0.1:9001, 127.0.0.1:9002");
    buf_puts(&R.upstream_status, "502, 200");
    ck_assert_str_eq(E("$upstream_addr $upstream_status"),
                     "127.0.0.1:9001, 127.0.0.1:9002 502, 200");
}
END_TEST

static bool matches(const char *s, const char *re)
{
    regex_t rx;
    ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

START_TEST(test_times)
{
    ck_assert(matches(E("$time_local"),
                      "^[0-3][0-9]/[A-Z][a-z]{2}/20[0-9]{2}:[0-2][0-9]:[0-5][0-9]:[0-6][0-9] "
                      "[+-][0-9]{4}$"));
    ck_assert(
        matches(E("$time_iso8601"),
                "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9][+-][0-9]{2}:"
                "[0-9]{2}$"));
    ck_assert(matches(E("$msec"), "^[0-9]{10}\\.[0-9]{3}$"));
    R.start.tv_sec -= 2;
    ck_assert(matches(E("$request_time"), "^2\\.[0-9]{3}$"));
}
END_TEST

START_TEST(test_escaping)
{
    /* literal text is never escaped, values are */
    ck_assert_str_eq(ev("\"$http_user_agent\"", CF_ESC_DEFAULT, true),
                     "\"ua \\x22q\\x22 \\x5C \\x01\"");
    ck_assert_str_eq(ev("{\"ua\":\"$http_user_agent\"}", CF_ESC_JSON, true),
                     "{\"ua\":\"ua \\\"q\\\" \\\\ \\u0001\"}");
    ck_assert_str_eq(ev("$http_user_agent", CF_ESC_NONE, true), "ua \"q\" \\ \x01");
    /* absent values: "-" in log lines, empty with JSON and outside logs */
    ck_assert_str_eq(ev("$http_referer|$arg_nope|$upstream_addr", CF_ESC_DEFAULT, true), "-|-|-");
    ck_assert_str_eq(ev("$http_referer|$arg_nope", CF_ESC_NONE, true), "-|-");
    ck_assert_str_eq(ev("$http_referer|$arg_nope", CF_ESC_JSON, true), "|");
    ck_assert_str_eq(ev("$http_referer|$arg_nope", CF_ESC_NONE, false), "|");
    R.args = (struct req_str){NULL, 0};
    ck_assert_str_eq(ev("$args|$is_args", CF_ESC_DEFAULT, true), "-|");
}
END_TEST

Suite *vars_suite(void)
{
    Suite *s = suite_create("vars");
    TCase *tc = tcase_create("vars");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_compile);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_times);
    tcase_add_test(tc, test_escaping);
    suite_add_tcase(s, tc);
    return s;
}
