/* h_uwsgi: a request as a uwsgi packet, and the CGI-style response head
 * (see h_uwsgi.h). */
#include "h_uwsgi.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "http1.h"
#include "uwsgi.h"
#include "vars.h"

static bool has_param(const struct cf_loc *loc, const char *k)
{
    for (int i = 0; i < loc->nuwsgi_params; i++)
        if (strcmp(loc->uwsgi_params[i].name, k) == 0)
            return true;
    return false;
}

static int add(struct buf *out, const struct cf_loc *loc, const char *k, const char *v, size_t vl)
{
    if (has_param(loc, k))
        return 0;
    return uwsgi_enc_add(out, k, strlen(k), v, vl);
}

int uwsgi_build_request(const struct cf_loc *loc, const struct req *r, struct buf *out,
                        struct buf *tmp)
{
    if (uwsgi_enc_begin(out) < 0)
        return -1;
    for (int i = 0; i < loc->nuwsgi_params; i++) {
        const struct cf_header *p = &loc->uwsgi_params[i];
        buf_reset(tmp);
        if (tmpl_eval(p->value, r, tmp, CF_ESC_NONE) < 0)
            return -1;
        if (p->if_not_empty && tmp->len == 0)
            continue;
        if (uwsgi_enc_add(out, p->name, strlen(p->name), tmp->data ? tmp->data : "", tmp->len) < 0)
            return -1;
    }
    char num[64], host[ADDR_STRLEN];
    int rc = 0;
    size_t n;
    rc |= add(out, loc, "REQUEST_METHOD", r->method.p, r->method.len);
    rc |= add(out, loc, "REQUEST_URI", r->request_uri.p, r->request_uri.len);
    rc |= add(out, loc, "PATH_INFO", r->uri.p, r->uri.len);
    rc |= add(out, loc, "QUERY_STRING", r->args.p ? r->args.p : "", r->args.len);
    const struct req_header *ct = req_find_header(r, "Content-Type", 12);
    rc |= add(out, loc, "CONTENT_TYPE", ct ? ct->value : "", ct ? ct->value_len : 0);
    n = r->content_length >= 0 ? fmt_u64(num, (uint64_t)r->content_length) : 0;
    rc |= add(out, loc, "CONTENT_LENGTH", num, n);
    memcpy(num, "HTTP/1.1", 8);
    num[5] = (char)('0' + r->http_major % 10);
    num[7] = (char)('0' + r->http_minor % 10);
    rc |= add(out, loc, "SERVER_PROTOCOL", num, 8);
    rc |= add(out, loc, "UWSGI_SCHEME", "http", 4);
    if (r->host.len) {
        rc |= add(out, loc, "SERVER_NAME", r->host.p, r->host.len);
    } else {
        const char *sn = r->server && r->server->nnames ? r->server->names[0] : "";
        rc |= add(out, loc, "SERVER_NAME", sn, strlen(sn));
    }
    if (r->local) {
        n = fmt_u64(num, (uint64_t)addr_port(r->local));
        rc |= add(out, loc, "SERVER_PORT", num, n);
    }
    if (r->client) {
        int hl = addr_host(r->client, host, sizeof(host));
        rc |= add(out, loc, "REMOTE_ADDR", host, hl > 0 ? (size_t)hl : 0);
        n = fmt_u64(num, (uint64_t)addr_port(r->client));
        rc |= add(out, loc, "REMOTE_PORT", num, n);
    }
    if (rc)
        return -1;
    const struct req_header *connh = req_find_header(r, "Connection", 10);
    struct req_str conn = {connh ? connh->value : NULL, connh ? connh->value_len : 0};
    /* a header is left out when a uwsgi_param set its variable; few
     * configurations set any HTTP_ one, so look only when one is there */
    bool http_params = loc->uwsgi_http_params;
    char key[300];
    for (int i = 0; i < r->nheaders; i++) {
        const struct req_header *h = &r->headers[i];
        if (h->name_len + 5 >= sizeof(key) || memchr(h->name, '_', h->name_len) ||
            http_hop_by_hop(h->name, h->name_len, &conn))
            continue;
        if ((h->name_len == 12 && strncasecmp(h->name, "Content-Type", 12) == 0) ||
            (h->name_len == 14 && strncasecmp(h->name, "Content-Length", 14) == 0))
            continue;
        memcpy(key, "HTTP_", 5);
        for (size_t k = 0; k < h->name_len; k++) {
            char ch = h->name[k];
            key[5 + k] = ch == '-' ? '_' : (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
        }
        key[5 + h->name_len] = '\0';
        if (http_params && has_param(loc, key))
            continue;
        if (uwsgi_enc_add(out, key, 5 + h->name_len, h->value, h->value_len) < 0)
            return -1;
    }
    return uwsgi_enc_end(out, 0, 0);
}

/* CGI style heads ("Status: 404 Not Found" instead of a status line), as
 * uWSGI and nginx's uwsgi module accept them: rewritten into a status line. */
int uwsgi_cgi_head(const char *p, size_t hl, struct buf *out)
{
    int status = 200;
    const char *s = p, *end = p + hl;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e)
            break;
        if ((size_t)(e - s) > 7 && strncasecmp(s, "Status:", 7) == 0) {
            const char *v = s + 7;
            while (v < e && *v == ' ')
                v++;
            /* three digits, as nginx's uwsgi module reads it (ngx_atoi of
             * 3 bytes), else the upstream sent an invalid status */
            if (e - v < 3 || v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' || v[2] < '0' ||
                v[2] > '9')
                return -2;
            status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
        }
        s = e + 1;
    }
    buf_reset(out);
    if (buf_printf(out, "HTTP/1.0 %d %s\r\n", status, http1_reason(status)) < 0 ||
        buf_append(out, p, hl) < 0)
        return -1;
    return 0;
}
