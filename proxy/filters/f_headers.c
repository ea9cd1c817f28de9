/* f_headers: expires and add_header (see f_headers.h). */
#include "f_headers.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "filter.h"
#include "request.h"
#include "vars.h"

static bool add_header_applies(int status)
{
    switch (status) {
    case 200:
    case 201:
    case 204:
    case 206:
    case 301:
    case 302:
    case 303:
    case 304:
    case 307:
    case 308:
        return true;
    default:
        return false;
    }
}

bool f_headers_sets_expires(const struct cf_loc *loc, int status)
{
    return loc->expires != CF_EXP_OFF && add_header_applies(status);
}

/* Expires and Cache-Control, as nginx's headers filter writes them. */
static void add_expires(struct request *q, const struct cf_loc *loc)
{
    const char *exp = NULL, *cc = NULL;
    char date[40], age[32];
    if (loc->expires == CF_EXP_EPOCH) {
        exp = "Thu, 01 Jan 1970 00:00:01 GMT";
        cc = "no-cache";
    } else if (loc->expires == CF_EXP_MAX) {
        exp = "Thu, 31 Dec 2037 23:55:55 GMT";
        cc = "max-age=315360000";
    } else {
        struct timespec now;
        timing_wall(&now);
        time_t t = now.tv_sec + (time_t)loc->expires_s;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        exp = date;
        if (loc->expires_s < 0) {
            cc = "no-cache";
        } else {
            snprintf(age, sizeof(age), "max-age=%lld", (long long)loc->expires_s);
            cc = age;
        }
    }
    request_filter_head_add(q, "Expires", 7, exp, strlen(exp));
    request_filter_head_add(q, "Cache-Control", 13, cc, strlen(cc));
}

static int headers_header(struct request *q)
{
    const struct cf_loc *loc = request_loc(q);
    if (f_headers_sets_expires(loc, q->r.status))
        add_expires(q, loc);
    if (!loc->nadd_headers)
        return 0;
    struct buf v = BUF_INIT;
    for (int i = 0; i < loc->nadd_headers; i++) {
        const struct cf_header *h = &loc->add_headers[i];
        if (!h->always && !add_header_applies(q->r.status))
            continue;
        buf_reset(&v);
        if (tmpl_eval(h->value, &q->r, &v, CF_ESC_NONE) < 0 || v.len == 0)
            continue;
        request_filter_head_add(q, h->name, strlen(h->name), v.data, v.len);
    }
    buf_free(&v);
    return 0;
}

int f_headers_init(void)
{
    return filter_add("headers", headers_header, NULL, NULL);
}
