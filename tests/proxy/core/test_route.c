/* Unit tests of proxy/core/route.c: server choice by listen address and Host
 * (exact, *.suffix, prefix.*, ".name", default_server, first) and location
 * choice (= exact, longest prefix, ^~, nested, none), on configurations
 * loaded with conf_load(). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "route.h"

static struct cf_main *load(const char *text)
{
    char path[] = "/tmp/test_route.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct cf_main *cf = NULL;
    char err[512];
    int rc = conf_load(path, "/tmp", NULL, &cf, err, sizeof(err));
    unlink(path);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_int_eq(route_init(cf, err, sizeof(err)), 0);
    return cf;
}

static void done(struct cf_main *cf)
{
    route_free(cf);
    cf_free(cf);
}

/* The index of the server chosen for Host `host` on server s's listen i. */
static int srv(struct cf_main *cf, int s, int i, const char *host)
{
    const struct cf_server *r = route_server(cf, &cf->servers[s].listens[i], host, strlen(host));
    return (int)(r - cf->servers);
}

static const char *loc(const struct cf_server *s, const char *uri)
{
    const struct cf_loc *l = route_location(s, uri, strlen(uri));
    if (l == s->def_loc)
        return "(none)";
    static char out[64];
    snprintf(out, sizeof(out), "%s%s",
             l->match == CF_LOC_EXACT       ? "="
             : l->match == CF_LOC_PREFERRED ? "^~"
                                            : "",
             l->path);
    return out;
}

START_TEST(test_servers)
{
    struct cf_main *cf = load(
        "events {}\nhttp {\n"
        "server { listen 127.0.0.1:9101; server_name first.test; }\n"                        /* 0 */
        "server { listen 127.0.0.1:9101; server_name a.test www.a.test; }\n"                 /* 1 */
        "server { listen 127.0.0.1:9101; server_name *.wild.test; }\n"                       /* 2 */
        "server { listen 127.0.0.1:9101; server_name *.deep.wild.test; }\n"                  /* 3 */
        "server { listen 127.0.0.1:9101; server_name mail.*; }\n"                            /* 4 */
        "server { listen 127.0.0.1:9101 default_server; server_name .dot.test; }\n"          /* 5 */
        "server { listen 127.0.0.1:9102; listen 127.0.0.1:9101; server_name other.test; }\n" /* 6 */
        "server { listen 127.0.0.1:9102; server_name \"\"; }\n"                              /* 7 */
        "}\n");
    ck_assert_int_eq(srv(cf, 0, 0, "a.test"), 1);
    ck_assert_int_eq(srv(cf, 0, 0, "www.a.test"), 1);
    ck_assert_int_eq(srv(cf, 0, 0, "first.test"), 0);
    ck_assert_int_eq(srv(cf, 0, 0, "x.wild.test"), 2);
    ck_assert_int_eq(srv(cf, 0, 0, "x.deep.wild.test"), 3); /* the longest wildcard */
    ck_assert_int_eq(srv(cf, 0, 0, "wild.test"), 5);        /* "*." needs a label */
    ck_assert_int_eq(srv(cf, 0, 0, "mail.example.org"), 4);
    ck_assert_int_eq(srv(cf, 0, 0, "dot.test"), 5);
    ck_assert_int_eq(srv(cf, 0, 0, "x.dot.test"), 5);
    ck_assert_int_eq(srv(cf, 0, 0, "unknown.test"), 5); /* default_server */
    ck_assert_int_eq(srv(cf, 0, 0, ""), 5);
    ck_assert_int_eq(srv(cf, 0, 0, "a.test."), 1);
    ck_assert_int_eq(srv(cf, 0, 0, "other.test"), 6); /* the second listen of server 6 */
    ck_assert_int_eq(srv(cf, 6, 1, "other.test"), 6);
    /* on 9102: only servers 6 and 7; the first is the default */
    ck_assert_int_eq(srv(cf, 6, 0, "a.test"), 6);
    ck_assert_int_eq(srv(cf, 7, 0, "other.test"), 6);
    ck_assert_int_eq(srv(cf, 7, 0, ""), 7); /* server_name "" takes requests without Host */
    done(cf);
}
END_TEST

START_TEST(test_locations)
{
    struct cf_main *cf = load("events {}\nhttp { server { listen 127.0.0.1:9103;\n"
                              "location / {}\n"
                              "location /a/ {}\n"
                              "location /a/b/ { location /a/b/c/ {} }\n"
                              "location = /a/ {}\n"
                              "location ^~ /img/ {}\n"
                              "location = /exact {}\n"
                              "location /exactly {}\n"
                              "} server { listen 127.0.0.1:9104; location /only/ {} } }\n");
    const struct cf_server *s = &cf->servers[0];
    ck_assert_str_eq(loc(s, "/"), "/");
    ck_assert_str_eq(loc(s, "/x"), "/");
    ck_assert_str_eq(loc(s, "/a/"), "=/a/");
    ck_assert_str_eq(loc(s, "/a/x"), "/a/");
    ck_assert_str_eq(loc(s, "/a/b/x"), "/a/b/");
    ck_assert_str_eq(loc(s, "/a/b/c/d"), "/a/b/c/");
    ck_assert_str_eq(loc(s, "/img/1.png"), "^~/img/");
    ck_assert_str_eq(loc(s, "/exact"), "=/exact");
    ck_assert_str_eq(loc(s, "/exactly/x"), "/exactly");
    ck_assert_str_eq(loc(s, "/exac"), "/");
    ck_assert_str_eq(loc(&cf->servers[1], "/only/x"), "/only/");
    ck_assert_str_eq(loc(&cf->servers[1], "/other"), "(none)");
    done(cf);
}
END_TEST

Suite *route_suite(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("route");
    tcase_add_test(tc, test_servers);
    tcase_add_test(tc, test_locations);
    suite_add_tcase(s, tc);
    return s;
}
