/* h_proxy_req: the upstream request head of proxy_pass (see h_proxy_req.h). */
#define _GNU_SOURCE
#include "h_proxy_req.h"

#include <string.h>
#include <strings.h>

#include "http.h"
#include "vars.h"

/* Writes the URI the upstream gets: the original one, or with the location
 * prefix replaced by proxy_pass's URI part (nginx semantics). */
static int build_uri(const struct req *r, const struct cf_loc *loc, struct buf *b)
{
    if (!loc->pass_uri)
        return buf_append(b, r->request_uri.p, r->request_uri.len);
    static const char hex[] = "0123456789ABCDEF";
    size_t skip = loc->path_len < r->uri.len ? loc->path_len : r->uri.len;
    if (buf_puts(b, loc->pass_uri) < 0)
        return -1;
    for (size_t i = skip; i < r->uri.len; i++) {
        unsigned char ch = (unsigned char)r->uri.p[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '?' || ch == '#' || ch == '"') {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            if (buf_append(b, e, 3) < 0)
                return -1;
        } else if (buf_append(b, &r->uri.p[i], 1) < 0) {
            return -1;
        }
    }
    if (r->args.p && (buf_append(b, "?", 1) < 0 || buf_append(b, r->args.p, r->args.len) < 0))
        return -1;
    return 0;
}

static bool in_set_headers(const struct cf_loc *loc, const char *name, size_t len)
{
    for (int i = 0; i < loc->nproxy_headers; i++) {
        const char *n = loc->proxy_headers[i].name;
        if (strlen(n) == len && strncasecmp(n, name, len) == 0)
            return true;
    }
    return false;
}

/* The HTTP/1.x request head for the upstream, nginx's way: proxy_set_header
 * first (empty values dropped), then the client's fields minus hop-by-hop
 * ones, the ones proxy_set_header replaced and the framing we redo. */
int px_build_http_request(const struct req *r, const struct req_str *te_codings,
                          const struct cf_loc *loc, struct buf *b, struct buf *tmp)
{
    const struct cf_upstream *up = loc->upstream;
    int minor = (loc->proxy_http_version >= 11 || r->chunked) ? 1 : 0;
    bool pooled = up->keepalive > 0 && minor == 1;
    buf_reset(b);
    if (buf_append(b, r->method.p, r->method.len) < 0 || buf_append(b, " ", 1) < 0 ||
        build_uri(r, loc, b) < 0 || buf_puts(b, minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n") < 0)
        return -1;
    bool host_set = false;
    for (int i = 0; i < loc->nproxy_headers; i++) {
        const struct cf_header *h = &loc->proxy_headers[i];
        buf_reset(tmp);
        if (tmpl_eval(h->value, r, tmp, CF_ESC_NONE) < 0)
            return -1;
        if (strcasecmp(h->name, "Host") == 0)
            host_set = true;
        if (tmp->len == 0)
            continue;
        if (pooled && strcasecmp(h->name, "Connection") == 0 && tmp->len == 5 &&
            strncasecmp(tmp->data, "close", 5) == 0)
            continue; /* a pooled HTTP/1.1 connection stays open by default */
        if (buf_puts(b, h->name) < 0 || buf_append(b, ": ", 2) < 0 ||
            buf_append(b, tmp->data, tmp->len) < 0 || buf_append(b, "\r\n", 2) < 0)
            return -1;
    }
    if (!host_set && loc->proxy_host && buf_printf(b, "Host: %s\r\n", loc->proxy_host) < 0)
        return -1;
    if (!pooled && !in_set_headers(loc, "Connection", 10) &&
        buf_puts(b, "Connection: close\r\n") < 0)
        return -1;
    const struct req_header *connh = req_find_header(r, "Connection", 10);
    struct req_str conn = {connh ? connh->value : NULL, connh ? connh->value_len : 0};
    for (int i = 0; i < r->nheaders; i++) {
        const struct req_header *h = &r->headers[i];
        if (http_hop_by_hop(h->name, h->name_len, &conn) ||
            in_set_headers(loc, h->name, h->name_len))
            continue;
        if (HTTP_IEQ(h->name, h->name_len, "content-length") ||
            HTTP_IEQ(h->name, h->name_len, "expect") || HTTP_IEQ(h->name, h->name_len, "host"))
            continue;
        if (buf_append(b, h->name, h->name_len) < 0 || buf_append(b, ": ", 2) < 0 ||
            buf_append(b, h->value, h->value_len) < 0 || buf_append(b, "\r\n", 2) < 0)
            return -1;
    }
    if (r->chunked) {
        const struct req_str *te = te_codings;
        if (te->len ? buf_printf(b, "Transfer-Encoding: %.*s, chunked\r\n", (int)te->len, te->p) < 0
                    : buf_puts(b, "Transfer-Encoding: chunked\r\n") < 0)
            return -1;
    } else if (r->content_length >= 0) {
        if (buf_puts(b, "Content-Length: ") < 0 ||
            buf_append_u64(b, (uint64_t)r->content_length) < 0 || buf_append(b, "\r\n", 2) < 0)
            return -1;
    }
    return buf_append(b, "\r\n", 2);
}
