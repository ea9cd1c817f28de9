/* Unit tests for gateway/gw_uwsgi: a uwsgi packet's variables into struct
 * gw_req, as nginx's uwsgi_params sends them. */
#include <check.h>
#include <string.h>

#include "buf.h"
#include "gw_req.h"
#include "gw_uwsgi.h"
#include "uwsgi.h"

/* Encodes NULL-terminated name/value pairs into b; returns the variables. */
static const char *packet(struct buf *b, size_t *len, const char *const *kv)
{
    ck_assert_int_eq(uwsgi_enc_begin(b), 0);
    for (; kv[0]; kv += 2)
        ck_assert_int_eq(uwsgi_enc_add(b, kv[0], strlen(kv[0]), kv[1], strlen(kv[1])), 0);
    ck_assert_int_eq(uwsgi_enc_end(b, 0, 0), 0);
    *len = b->len - UWSGI_HDR_LEN;
    return b->data + UWSGI_HDR_LEN;
}

static bool has_var(const struct gw_req *r, const char *name, const char *value)
{
    for (int i = 0; i < r->nhdrs; i++)
        if (r->hdrs[i].name_len == strlen(name) && memcmp(r->hdrs[i].name, name, strlen(name)) == 0)
            return !value || (r->hdrs[i].value_len == strlen(value) &&
                              memcmp(r->hdrs[i].value, value, strlen(value)) == 0);
    return false;
}

#define EQ(p, n, lit) (n == sizeof(lit) - 1 && memcmp(p, lit, n) == 0)

START_TEST(nginx_params)
{
    /* what nginx 1.22 sends with include uwsgi_params for a POST: the
     * request's headers follow the params, Content-Length and Content-Type
     * among them */
    static const char *const kv[] = {"QUERY_STRING",
                                     "a=1",
                                     "REQUEST_METHOD",
                                     "POST",
                                     "CONTENT_TYPE",
                                     "text/plain",
                                     "CONTENT_LENGTH",
                                     "5242880",
                                     "REQUEST_URI",
                                     "/up?a=1",
                                     "PATH_INFO",
                                     "/up",
                                     "DOCUMENT_ROOT",
                                     "/usr/share/nginx/html",
                                     "SERVER_PROTOCOL",
                                     "HTTP/1.1",
                                     "REQUEST_SCHEME",
                                     "http",
                                     "REMOTE_ADDR",
                                     "127.0.0.1",
                                     "REMOTE_PORT",
                                     "40000",
                                     "SERVER_PORT",
                                     "8080",
                                     "SERVER_NAME",
                                     "localhost",
                                     "HTTP_HOST",
                                     "test",
                                     "HTTP_CONTENT_TYPE",
                                     "text/plain",
                                     "HTTP_CONTENT_LENGTH",
                                     "5242880",
                                     NULL};
    struct buf b = {0};
    struct gw_req r = {0};
    size_t len;
    const char *v = packet(&b, &len, kv);
    ck_assert_int_eq(gw_uwsgi_parse(v, len, &r), GW_UWSGI_OK);
    ck_assert(r.cgi);
    ck_assert(EQ(r.method, r.method_len, "POST"));
    ck_assert(EQ(r.uri, r.uri_len, "/up?a=1"));
    ck_assert(EQ(r.path, r.path_len, "/up"));
    ck_assert(EQ(r.query, r.query_len, "a=1"));
    ck_assert(EQ(r.scheme, r.scheme_len, "http"));
    ck_assert_int_eq(r.content_length, 5242880);
    ck_assert(!r.is_head && !r.keepalive && !r.chunked);
    ck_assert_int_eq(r.http_minor, 0);
    ck_assert(has_var(&r, "CONTENT_LENGTH", "5242880"));
    ck_assert(has_var(&r, "CONTENT_TYPE", "text/plain"));
    ck_assert(has_var(&r, "HTTP_HOST", "test"));
    ck_assert(!has_var(&r, "HTTP_CONTENT_LENGTH", NULL));
    ck_assert(!has_var(&r, "HTTP_CONTENT_TYPE", NULL));
    ck_assert_int_eq(r.nhdrs, 14);
    gw_req_free(&r);
    buf_free(&b);
}
END_TEST

START_TEST(empty_and_defaults)
{
    /* a GET: nginx sends CONTENT_TYPE and CONTENT_LENGTH empty; no method
     * and no REQUEST_URI: GET and PATH_INFO */
    static const char *const kv[] = {"CONTENT_TYPE", "",  "CONTENT_LENGTH", "", "PATH_INFO",
                                     "/p",           NULL};
    struct buf b = {0};
    struct gw_req r = {0};
    size_t len;
    const char *v = packet(&b, &len, kv);
    ck_assert_int_eq(gw_uwsgi_parse(v, len, &r), GW_UWSGI_OK);
    ck_assert(EQ(r.method, r.method_len, "GET"));
    ck_assert(EQ(r.uri, r.uri_len, "/p"));
    ck_assert_int_eq(r.content_length, -1);
    ck_assert(!has_var(&r, "CONTENT_TYPE", NULL));
    ck_assert(!has_var(&r, "CONTENT_LENGTH", NULL));
    ck_assert_ptr_null(r.scheme);
    ck_assert_int_eq(r.nhdrs, 1);

    /* the same request struct again: nothing of the last packet is left */
    static const char *const head[] = {"REQUEST_METHOD", "HEAD", "REQUEST_URI", "/h", NULL};
    v = packet(&b, &len, head);
    ck_assert_int_eq(gw_uwsgi_parse(v, len, &r), GW_UWSGI_OK);
    ck_assert(r.is_head);
    ck_assert_ptr_null(r.path);
    ck_assert_int_eq(r.nhdrs, 2);
    gw_req_free(&r);
    buf_free(&b);
}
END_TEST

/* Parses kv and checks r.scheme against `want` (NULL: none). */
static void check_scheme(const char *const *kv, const char *want)
{
    struct buf b = {0};
    struct gw_req r = {0};
    size_t len;
    const char *v = packet(&b, &len, kv);
    ck_assert_int_eq(gw_uwsgi_parse(v, len, &r), GW_UWSGI_OK);
    if (want) {
        ck_assert_ptr_nonnull(r.scheme);
        ck_assert_uint_eq(r.scheme_len, strlen(want));
        ck_assert(memcmp(r.scheme, want, r.scheme_len) == 0);
    } else
        ck_assert_ptr_null(r.scheme);
    gw_req_free(&r);
    buf_free(&b);
}

START_TEST(scheme)
{
    /* UWSGI_SCHEME, else HTTPS on or 1, else REQUEST_SCHEME */
    static const char *const all[] = {"REQUEST_SCHEME", "http", "HTTPS", "on",
                                      "UWSGI_SCHEME",   "wss",  NULL};
    static const char *const https[] = {"REQUEST_SCHEME", "http", "HTTPS", "1",
                                        "UWSGI_SCHEME",   "",     NULL};
    static const char *const off[] = {"HTTPS", "off", "REQUEST_SCHEME", "http", NULL};
    static const char *const none[] = {"HTTPS", "off", NULL};
    check_scheme(all, "wss");
    check_scheme(https, "https");
    check_scheme(off, "http");
    check_scheme(none, NULL);
}
END_TEST

START_TEST(malformed)
{
    struct buf b = {0};
    struct gw_req r = {0};
    size_t len;
    static const char *const bad_cl[][3] = {
        {"CONTENT_LENGTH", "12x", NULL},
        {"CONTENT_LENGTH", "-1", NULL},
        {"CONTENT_LENGTH", "1234567890123456789", NULL},
    };
    for (size_t i = 0; i < sizeof(bad_cl) / sizeof(bad_cl[0]); i++) {
        const char *v = packet(&b, &len, bad_cl[i]);
        ck_assert_int_eq(gw_uwsgi_parse(v, len, &r), GW_UWSGI_BAD);
    }
    /* a value length running past the end of the variables */
    static const char *const kv[] = {"PATH_INFO", "/abc", NULL};
    const char *v = packet(&b, &len, kv);
    ck_assert_int_eq(gw_uwsgi_parse(v, len - 1, &r), GW_UWSGI_BAD);
    gw_req_free(&r);
    buf_free(&b);
}
END_TEST

Suite *gw_uwsgi_suite(void)
{
    Suite *s = suite_create("gw_uwsgi");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, nginx_params);
    tcase_add_test(tc, empty_and_defaults);
    tcase_add_test(tc, scheme);
    tcase_add_test(tc, malformed);
    suite_add_tcase(s, tc);
    return s;
}
