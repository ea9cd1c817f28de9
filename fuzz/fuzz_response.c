/* fuzz_response: upstream response heads, as the proxy reads them
 * (http1_find_head with proxy_buffer_size's default, then
 * http_parse_response: a fast path for plain heads, llhttp for the rest).
 *
 * Invariants beyond "no crash":
 *  - an accepted head's status is 100..599 and its version 1.x; its spans
 *    lie inside the parser's copy; field names are tokens and values
 *    trimmed field-vchars; Content-Length is -1 whenever chunked is set;
 *  - the head re-serialised from what was parsed (the status line as
 *    received, each field as "name: value") parses again to the same
 *    status, fields, Content-Length, chunked, close and Connection; the
 *    re-made head of one with at most one plain Content-Length and no
 *    Transfer-Encoding takes the fast path, so the two paths are held to
 *    one answer. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fuzz_check.h"
#include "http.h"
#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUFSZ 65536 /* proxy_buffer_size's default */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool str_eq(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

static void check_response(const struct http_resp *rp)
{
    const char *h = rp->head.data;
    size_t hl = rp->head.len;
    FUZZ_CHECK(rp->status >= 100 && rp->status <= 599);
    FUZZ_CHECK(rp->http_major == 1 && rp->http_minor >= 0 && rp->http_minor <= 9);
    FUZZ_CHECK(rp->nhdrs >= 0 && rp->nhdrs <= rp->hcap);
    for (int i = 0; i < rp->nhdrs; i++) {
        const struct req_header *f = &rp->hdrs[i];
        FUZZ_CHECK(f->name_len > 0 && FUZZ_WITHIN(f->name, f->name_len, h, hl));
        for (size_t k = 0; k < f->name_len; k++)
            FUZZ_CHECK(http1_is_tchar((unsigned char)f->name[k]));
        FUZZ_CHECK(f->value_len == 0 || FUZZ_WITHIN(f->value, f->value_len, h, hl));
        if (f->value_len) {
            FUZZ_CHECK(!is_ows(f->value[0]) && !is_ows(f->value[f->value_len - 1]));
            for (size_t k = 0; k < f->value_len; k++)
                FUZZ_CHECK(http1_is_vchar((unsigned char)f->value[k]));
        }
    }
    FUZZ_CHECK(rp->content_length >= -1);
    FUZZ_CHECK(!(rp->chunked && rp->content_length >= 0));
    FUZZ_CHECK(!rp->connection.p || FUZZ_WITHIN(rp->connection.p, rp->connection.len, h, hl));
}

static void reserialize(const struct http_resp *rp, struct buf *out)
{
    const char *h = rp->head.data;
    const char *cr = memchr(h, '\r', rp->head.len);
    FUZZ_CHECK(cr != NULL);
    buf_reset(out);
    FUZZ_CHECK(buf_append(out, h, (size_t)(cr - h) + 2) == 0);
    for (int i = 0; i < rp->nhdrs; i++) {
        const struct req_header *f = &rp->hdrs[i];
        FUZZ_CHECK(buf_append(out, f->name, f->name_len) == 0);
        FUZZ_CHECK(buf_append(out, ": ", 2) == 0);
        FUZZ_CHECK(buf_append(out, f->value, f->value_len) == 0);
        FUZZ_CHECK(buf_append(out, "\r\n", 2) == 0);
    }
    FUZZ_CHECK(buf_append(out, "\r\n", 2) == 0);
}

static void same_response(const struct http_resp *a, const struct http_resp *b)
{
    FUZZ_CHECK(a->status == b->status && a->http_minor == b->http_minor);
    FUZZ_CHECK(a->nhdrs == b->nhdrs);
    for (int i = 0; i < a->nhdrs; i++) {
        const struct req_header *x = &a->hdrs[i], *y = &b->hdrs[i];
        FUZZ_CHECK(str_eq(x->name, x->name_len, y->name, y->name_len));
        FUZZ_CHECK(str_eq(x->value, x->value_len, y->value, y->value_len));
    }
    FUZZ_CHECK(a->content_length == b->content_length && a->chunked == b->chunked);
    FUZZ_CHECK(a->conn_close == b->conn_close);
    FUZZ_CHECK(str_eq(a->connection.p, a->connection.len, b->connection.p, b->connection.len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct http1_limits lim = {BUFSZ, BUFSZ, HTTP_MAX_HEADERS};
    size_t skip = 0, hl = 0;
    int rc = http1_find_head((const char *)data, size, &lim, &skip, &hl);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == 400 || rc == 414 || rc == 431);
    if (rc != 1)
        return 0;
    FUZZ_CHECK(hl >= 4 && skip + hl <= size && hl <= BUFSZ);
    FUZZ_CHECK(memcmp(data + skip + hl - 4, "\r\n\r\n", 4) == 0);
    struct http_resp rp;
    http_resp_init(&rp);
    if (http_parse_response(&rp, (const char *)data + skip, hl) == 0) {
        FUZZ_CHECK(rp.why == NULL);
        check_response(&rp);
        struct buf again = {0};
        reserialize(&rp, &again);
        struct http_resp rp2;
        http_resp_init(&rp2);
        int rc2 = http_parse_response(&rp2, again.data, again.len);
        if (rc2 != 0)
            fprintf(stderr, "re-made head refused: %s\n", rp2.why ? rp2.why : "?");
        FUZZ_CHECK(rc2 == 0);
        same_response(&rp, &rp2);
        http_resp_free(&rp2);
        buf_free(&again);
    } else {
        FUZZ_CHECK(rp.why != NULL);
    }
    http_resp_free(&rp);
    return 0;
}
