/* Unit tests of common/http1.c, the HTTP/1 codec both programs judge with:
 * each framing rule accepted and refused, the limits each program sets, the
 * trailer list, the chunked decoder fed whole, byte by byte and split at
 * every point, reasons, methods and character classes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http1_vectors.h"
#include "http1.h"

/* The two programs' settings: the proxy's nginx defaults (1k lines, 4 x 8k
 * head, 128 fields) and the gateway's buffer-size (4k for both, 256). */
static const struct http1_limits PROXY_LIM = {1024, 32768, 128};
static const struct http1_limits GW_LIM = {4096, 4096, 256};

/* A request head judged by the codec alone, in the order both programs
 * call it (without llhttp, which each program runs between the scan and the
 * framing).  0, -1 when incomplete, or the status. */
static int judge(const char *raw, size_t len, const struct http1_limits *lim)
{
    size_t skip = 0, hl = 0;
    int rc = http1_find_head(raw, len, lim, &skip, &hl);
    if (rc == 0)
        return -1;
    if (rc != 1)
        return rc;
    const char *h = raw + skip, *end = h + hl, *why = NULL;
    struct http1_reqline rl;
    if ((rc = http1_request_line(h, hl, &rl, &why)) != 0)
        return rc;
    int nf = 0;
    if ((rc = http1_scan_fields(h + rl.len, end, lim, &nf, &why)) != 0)
        return rc;
    if (http_method_is(rl.method, rl.method_len, "CONNECT"))
        return 405;
    struct http1_target t;
    if ((rc = http1_target(&rl, &t, &why)) != 0)
        return rc;
    struct http1_framing f;
    http1_framing_init(&f);
    const char *p = h + rl.len;
    for (int i = 0; i < nf; i++) {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *cr = memchr(colon, '\r', (size_t)(end - colon));
        const char *v = colon + 1;
        size_t vl = (size_t)(cr - v);
        http1_trim(&v, &vl);
        if ((rc = http1_framing_field(&f, p, (size_t)(colon - p), v, vl, &why)) != 0)
            return rc;
        p = cr + 2;
    }
    bool ka;
    const char *host;
    size_t host_len;
    return http1_framing_end(&f, rl.minor, &t, &ka, &host, &host_len, &why);
}

static int judge_proxy(const char *raw)
{
    return judge(raw, strlen(raw), &PROXY_LIM);
}

static int judge_gw(const char *raw)
{
    return judge(raw, strlen(raw), &GW_LIM);
}

START_TEST(head_vectors)
{
    http1_head_vectors_check(NULL, judge_proxy);
    http1_head_vectors_check(NULL, judge_gw);
}
END_TEST

static int find(const char *raw, const struct http1_limits *lim, size_t *skip, size_t *hl)
{
    return http1_find_head(raw, strlen(raw), lim, skip, hl);
}

START_TEST(find_head)
{
    static const struct http1_limits lim = {20, 64, 8};
    size_t skip = 99, hl = 99;
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nH: a\r\n\r\nBODY", &lim, &skip, &hl), 1);
    ck_assert_uint_eq(skip, 0);
    ck_assert_uint_eq(hl, 24);
    ck_assert_int_eq(find("\r\n\r\nGET / HTTP/1.1\r\n\r\n", &lim, &skip, &hl), 1);
    ck_assert_uint_eq(skip, 4);
    ck_assert_uint_eq(hl, 18);
    /* incomplete */
    ck_assert_int_eq(find("", &lim, &skip, &hl), 0);
    ck_assert_int_eq(find("\r", &lim, &skip, &hl), 0);
    ck_assert_int_eq(find("GET / HT", &lim, &skip, &hl), 0);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nH: a\r\n", &lim, &skip, &hl), 0);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nH: a\r", &lim, &skip, &hl), 0);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nH: a\r\n\r", &lim, &skip, &hl), 0);
    /* refused at once, before the line or the head is complete */
    ck_assert_int_eq(find("\n", &lim, &skip, &hl), 400);
    ck_assert_int_eq(find("\r\n\n", &lim, &skip, &hl), 400);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nH: a\rb", &lim, &skip, &hl), 400);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\n H: a", &lim, &skip, &hl), 400);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\n\tH", &lim, &skip, &hl), 400);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nH: a\nX", &lim, &skip, &hl), 400);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nH: a\r\n\rX", &lim, &skip, &hl), 400);
    ck_assert_int_eq(find("GET / H\rTTP/1.1\r\n", &lim, &skip, &hl), 400);
    /* a line of exactly line_max is fine; one more is not (an incomplete
     * line may hold one more byte: its CR) */
    ck_assert_int_eq(find("GET /234567 HTTP/1.1\r\n\r\n", &lim, &skip, &hl), 1);
    ck_assert_int_eq(find("GET /2345678 HTTP/1.1\r\n\r\n", &lim, &skip, &hl), 414);
    ck_assert_int_eq(find("GET /2345678 HTTP/1.1", &lim, &skip, &hl), 0);
    ck_assert_int_eq(find("GET /23456789 HTTP/1.1", &lim, &skip, &hl), 414);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nX: 34567890123456789\r\n\r\n", &lim, &skip, &hl), 1);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nX: 345678901234567890\r\n\r\n", &lim, &skip, &hl),
                     431);
    ck_assert_int_eq(find("GET / HTTP/1.1\r\nX: 3456789012345678901", &lim, &skip, &hl), 431);
    /* the whole head: exactly head_max, then one more byte */
    const char *h64 = "GET / HTTP/1.1\r\nA: 0123456789\r\nB: 0123456789\r\nC: 01234567890\r\n\r\n";
    ck_assert_uint_eq(strlen(h64), 64);
    ck_assert_int_eq(find(h64, &lim, &skip, &hl), 1);
    ck_assert_uint_eq(hl, 64);
    const char *h65 = "GET / HTTP/1.1\r\nA: 0123456789\r\nB: 0123456789\r\nC: 012345678901\r\n\r\n";
    ck_assert_int_eq(find(h65, &lim, &skip, &hl), 431);
    ck_assert_int_eq(
        find("GET / HTTP/1.1\r\nA: 0123456789\r\nB: 0123456789\r\nC: 012345678901234\r\n", &lim,
             &skip, &hl),
        431);
}
END_TEST

/* A head of `n` fields "Xi: v" after a request line, in buf. */
static size_t many_fields(char *buf, size_t cap, int n)
{
    size_t o = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < n; i++)
        o += (size_t)snprintf(buf + o, cap - o, "X%d: v\r\n", i);
    o += (size_t)snprintf(buf + o, cap - o, "\r\n");
    return o;
}

START_TEST(field_limits)
{
    static char buf[16384];
    size_t n128 = many_fields(buf, sizeof(buf), 128);
    ck_assert_int_eq(judge(buf, n128, &PROXY_LIM), 0);
    ck_assert_int_eq(judge(buf, n128, &GW_LIM), 0);
    size_t n129 = many_fields(buf, sizeof(buf), 129);
    ck_assert_int_eq(judge(buf, n129, &PROXY_LIM), 431);
    ck_assert_int_eq(judge(buf, n129, &GW_LIM), 0);
    static const struct http1_limits gw_wide = {4096, 16384, 256};
    size_t n256 = many_fields(buf, sizeof(buf), 256);
    ck_assert_int_eq(judge(buf, n256, &gw_wide), 0);
    size_t n257 = many_fields(buf, sizeof(buf), 257);
    ck_assert_int_eq(judge(buf, n257, &gw_wide), 431);
    /* the gateway's head limit counts before its field limit does */
    ck_assert_int_eq(judge(buf, n257, &GW_LIM), 431);
    int nf = -1;
    const char *why = NULL;
    const char *fields = "A: 1\r\nB:\r\nC:\t3 \r\n\r\n";
    ck_assert_int_eq(http1_scan_fields(fields, fields + strlen(fields), &GW_LIM, &nf, &why), 0);
    ck_assert_int_eq(nf, 3);
    static const struct http1_limits two = {100, 100, 2};
    ck_assert_int_eq(http1_scan_fields(fields, fields + strlen(fields), &two, &nf, &why), 431);
    ck_assert_str_eq(why, "too many header fields");
}
END_TEST

START_TEST(request_line)
{
    struct http1_reqline rl;
    const char *why = NULL;
    const char *a = "QUERY /x?y HTTP/1.0\r\nHost: a\r\n\r\n";
    ck_assert_int_eq(http1_request_line(a, strlen(a), &rl, &why), 0);
    ck_assert(rl.method_len == 5 && memcmp(rl.method, "QUERY", 5) == 0);
    ck_assert(rl.target_len == 4 && memcmp(rl.target, "/x?y", 4) == 0);
    ck_assert_int_eq(rl.major, 1);
    ck_assert_int_eq(rl.minor, 0);
    ck_assert_uint_eq(rl.len, 21);
    /* only the line is needed */
    ck_assert_int_eq(http1_request_line(a, 21, &rl, &why), 0);
    ck_assert_int_eq(http1_request_line(a, 20, &rl, &why), 400);
    ck_assert_str_eq(why, "invalid HTTP version");
    ck_assert_int_eq(http1_request_line("GET / HTTP/3.0\r\n", 16, &rl, &why), 505);
    ck_assert_int_eq(http1_request_line("GET / HTTP/0.9\r\n", 16, &rl, &why), 400);
    ck_assert_int_eq(http1_request_line(" / HTTP/1.1\r\n", 13, &rl, &why), 400);
    ck_assert_str_eq(why, "invalid method");
    ck_assert_int_eq(http1_request_line("GET \x01 HTTP/1.1\r\n", 16, &rl, &why), 400);
    ck_assert_str_eq(why, "invalid request target");
}
END_TEST

static int target_of(const char *line, struct http1_target *t)
{
    struct http1_reqline rl;
    const char *why;
    int rc = http1_request_line(line, strlen(line), &rl, &why);
    return rc ? rc : http1_target(&rl, t, &why);
}

START_TEST(targets)
{
    struct http1_target t;
    ck_assert_int_eq(target_of("GET /a?b HTTP/1.1\r\n", &t), 0);
    ck_assert_int_eq(t.form, HTTP1_TARGET_ORIGIN);
    ck_assert(t.path_len == 4 && memcmp(t.path, "/a?b", 4) == 0);
    ck_assert_int_eq(target_of("GET http://u:p@Ex.com:81/p?q HTTP/1.1\r\n", &t), 0);
    ck_assert_int_eq(t.form, HTTP1_TARGET_ABSOLUTE);
    ck_assert(t.authority_len == 9 && memcmp(t.authority, "Ex.com:81", 9) == 0);
    ck_assert(t.path_len == 4 && memcmp(t.path, "/p?q", 4) == 0);
    ck_assert_int_eq(target_of("GET https://a?q HTTP/1.1\r\n", &t), 0);
    ck_assert(t.authority_len == 1 && t.path_len == 2);
    ck_assert_int_eq(target_of("OPTIONS * HTTP/1.1\r\n", &t), 0);
    ck_assert_int_eq(t.form, HTTP1_TARGET_ASTERISK);
    ck_assert_int_eq(target_of("M-SEARCH * HTTP/1.1\r\n", &t), 0);
    ck_assert_int_eq(target_of("options * HTTP/1.1\r\n", &t), 400);
    ck_assert_int_eq(target_of("GET ** HTTP/1.1\r\n", &t), 400);
    ck_assert_int_eq(target_of("GET a.b:80 HTTP/1.1\r\n", &t), 400);
    ck_assert_int_eq(target_of("GET http:// HTTP/1.1\r\n", &t), 400);
    ck_assert_int_eq(target_of("GET http://x@ HTTP/1.1\r\n", &t), 400);
    ck_assert_int_eq(target_of("GET ws://a/ HTTP/1.1\r\n", &t), 400);
}
END_TEST

START_TEST(hosts)
{
    size_t n = 99;
    ck_assert_int_eq(http1_host("Example.com:80", 14, &n), 0);
    ck_assert_uint_eq(n, 11);
    ck_assert_int_eq(http1_host("a.b.:80", 7, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(http1_host("[::1]:8080", 10, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(http1_host("[::1]", 5, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(http1_host("", 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    static const char *const bad[] = {"a/b",  "a\\b", "a@b",  "a?b",    "a#b",   "a b",
                                      "a..b", ".a",   "[::1", "[::1]x", "a\x7f", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(http1_host(bad[i], strlen(bad[i]), &n) == -1, "host %s accepted", bad[i]);
}
END_TEST

/* Runs the framing over NULL-ended name, value pairs. */
static int framing(struct http1_framing *f, int minor, const char *const *nv, bool *ka)
{
    const char *why, *host;
    size_t host_len;
    http1_framing_init(f);
    for (int i = 0; nv[i]; i += 2) {
        int rc = http1_framing_field(f, nv[i], strlen(nv[i]), nv[i + 1], strlen(nv[i + 1]), &why);
        if (rc)
            return rc;
    }
    return http1_framing_end(f, minor, NULL, ka, &host, &host_len, &why);
}

START_TEST(framing_fields)
{
    struct http1_framing f;
    bool ka;
    const char *const a[] = {
        "Host", "a", "content-length", "42", "Expect", "100-Continue", "Upgrade", "h2c", NULL};
    ck_assert_int_eq(framing(&f, 1, a, &ka), 0);
    ck_assert_int_eq((int)f.content_length, 42);
    ck_assert(f.expect_continue && f.upgrade && !f.chunked && ka);
    const char *const b[] = {
        "Host", "a", "Transfer-Encoding", "gzip, deflate", "TRANSFER-ENCODING", "chunked", NULL};
    ck_assert_int_eq(framing(&f, 1, b, &ka), 0);
    ck_assert(f.chunked);
    ck_assert_int_eq((int)f.content_length, -1);
    ck_assert(f.codings_len == 13 && memcmp(f.codings, "gzip, deflate", 13) == 0);
    const char *const c[] = {"Host", "a", "Transfer-Encoding", "identity, chunked", NULL};
    ck_assert_int_eq(framing(&f, 1, c, &ka), 0);
    ck_assert(f.chunked && !f.codings);
    /* persistence: RFC 9112 §9.3 */
    const char *const d[] = {"Host", "a", "Connection", "foo, Close", NULL};
    ck_assert_int_eq(framing(&f, 1, d, &ka), 0);
    ck_assert(!ka);
    const char *const e[] = {"Connection", "keep-alive", NULL};
    ck_assert_int_eq(framing(&f, 0, e, &ka), 0);
    ck_assert(ka);
    const char *const g[] = {"Connection", "keep-alive, close", NULL};
    ck_assert_int_eq(framing(&f, 0, g, &ka), 0);
    ck_assert(!ka);
    const char *const h[] = {NULL};
    ck_assert_int_eq(framing(&f, 0, h, &ka), 0);
    ck_assert(!ka);
    /* refusals, with the reason */
    const char *why = NULL;
    http1_framing_init(&f);
    ck_assert_int_eq(http1_framing_field(&f, "Content-Length", 14, "1 ", 2, &why), 400);
    ck_assert_str_eq(why, "invalid Content-Length");
    ck_assert_int_eq(http1_framing_field(&f, "Transfer-Encoding", 17, "br", 2, &why), 501);
    ck_assert_str_eq(why, "unknown transfer coding");
    const char *const i[] = {"Host", "a", "Transfer-Encoding", "gzip", NULL};
    ck_assert_int_eq(framing(&f, 1, i, &ka), 400);
    /* the host: the target's authority wins over Host */
    struct http1_target t = {
        .form = HTTP1_TARGET_ABSOLUTE, .authority = "Up:1", .authority_len = 4};
    const char *host;
    size_t hl;
    http1_framing_init(&f);
    ck_assert_int_eq(http1_framing_field(&f, "Host", 4, "a/b", 3, &why), 0);
    ck_assert_int_eq(http1_framing_end(&f, 1, &t, &ka, &host, &hl, &why), 0);
    ck_assert(hl == 2 && memcmp(host, "Up", 2) == 0);
    ck_assert_int_eq(http1_framing_end(&f, 1, NULL, &ka, &host, &hl, &why), 400);
    ck_assert_str_eq(why, "invalid Host");
}
END_TEST

START_TEST(lists)
{
    ck_assert(http1_list_has("a, Keep-Alive ,b", 16, "keep-alive"));
    ck_assert(http1_list_has("close", 5, "close"));
    ck_assert(!http1_list_has("closed, x", 9, "close"));
    ck_assert(!http1_list_has("", 0, "close"));
    /* every element, trimmed, empty ones too; none after a final comma */
    static const char l[] = " a ,,\tb c\t, ,d,";
    static const char *const want[] = {"a", "", "b c", "", "d"};
    const char *lp = l, *e;
    size_t el, k = 0;
    while (http1_list_next(&lp, l + sizeof(l) - 1, &e, &el)) {
        ck_assert_uint_lt(k, 5);
        ck_assert_msg(el == strlen(want[k]) && memcmp(e, want[k], el) == 0, "element %zu", k);
        k++;
    }
    ck_assert_uint_eq(k, 5);
    ck_assert(lp == l + sizeof(l) - 1);
    const char *p = " \t a b\t ";
    size_t n = strlen(p);
    http1_trim(&p, &n);
    ck_assert(n == 3 && memcmp(p, "a b", 3) == 0);
}
END_TEST

START_TEST(trailers)
{
    static const char *const forbidden[] = {
        "content-length",
        "transfer-encoding",
        "host",
        "trailer",
        "te",
        "content-type",
        "content-encoding",
        "content-range",
        "authorization",
        "expect",
        "range",
        "cookie",
        "connection",
        "upgrade",
        "keep-alive",
        "max-forwards",
        "proxy-authorization",
    };
    size_t nf = sizeof(forbidden) / sizeof(forbidden[0]);
    ck_assert_uint_eq(nf, 17);
    for (size_t i = 0; i < nf; i++) {
        char up[32];
        size_t n = strlen(forbidden[i]);
        for (size_t k = 0; k <= n; k++)
            up[k] = (char)(forbidden[i][k] >= 'a' && forbidden[i][k] <= 'z'
                               ? forbidden[i][k] - 'a' + 'A'
                               : forbidden[i][k]);
        ck_assert_msg(http1_forbidden_trailer(forbidden[i], n), "%s allowed", forbidden[i]);
        ck_assert_msg(http1_forbidden_trailer(up, n), "%s allowed", up);
        /* and each refused in a body's trailers, in either case */
        char body[96];
        snprintf(body, sizeof(body), "0\r\n%s: x\r\n\r\n", up);
        struct http1_chunked c;
        http1_chunked_init(&c);
        ck_assert_msg(http1_chunked_frame(&c, body, strlen(body)) == -1, "trailer %s taken", up);
    }
    static const char *const allowed[] = {"x-checksum", "etag",          "content-lengths",
                                          "hos",        "server-timing", NULL};
    for (int i = 0; allowed[i]; i++)
        ck_assert_msg(!http1_forbidden_trailer(allowed[i], strlen(allowed[i])), "%s refused",
                      allowed[i]);
}
END_TEST

/* Decodes raw (len bytes) showing the decoder at most `piece` bytes at a
 * time, or splitting once at `split` when piece is 0.  Returns the data
 * length (*rest: bytes left after the body), -1 on an error, -2 when
 * incomplete; data goes to out. */
static long decode(const char *raw, size_t len, size_t piece, size_t split, char *out, size_t *rest)
{
    struct http1_chunked c;
    http1_chunked_init(&c);
    size_t i = 0, o = 0;
    while (!http1_chunked_done(&c)) {
        size_t avail = len - i;
        if (piece)
            avail = avail < piece ? avail : piece;
        else if (i < split)
            avail = split - i;
        if (avail == 0)
            return -2;
        if (http1_chunked_in_data(&c)) {
            size_t n = avail < c.remaining ? avail : (size_t)c.remaining;
            memcpy(out + o, raw + i, n);
            o += n;
            i += n;
            http1_chunked_consumed(&c, n);
            continue;
        }
        long k = http1_chunked_frame(&c, raw + i, avail);
        if (k < 0)
            return -1;
        ck_assert_int_gt(k, 0);
        i += (size_t)k;
    }
    ck_assert_uint_eq(c.total, o);
    *rest = len - i;
    return (long)o;
}

START_TEST(chunked_vectors)
{
    for (int v = 0; http1_body_vectors[v].raw; v++) {
        const struct http1_body_vector *bv = &http1_body_vectors[v];
        size_t len = strlen(bv->raw), rest = 0;
        size_t want_rest = len >= 4 && memcmp(bv->raw + len - 4, "NEXT", 4) == 0 ? 4 : 0;
        char whole[256], out[256];
        long n = decode(bv->raw, len, 0, 0, whole, &rest);
        ck_assert_msg(n == bv->len, "body vector %d: %ld, want %ld", v, n, bv->len);
        if (n >= 0)
            ck_assert_msg(rest == want_rest, "body vector %d left %zu", v, rest);
        /* the same verdict and data however the bytes arrive */
        for (size_t piece = 1; piece <= 3; piece++) {
            long m = decode(bv->raw, len, piece, 0, out, &rest);
            ck_assert_msg(m == n, "body vector %d in pieces of %zu: %ld", v, piece, m);
            if (n > 0)
                ck_assert(memcmp(out, whole, (size_t)n) == 0);
        }
        for (size_t split = 1; split < len; split++) {
            long m = decode(bv->raw, len, 0, split, out, &rest);
            ck_assert_msg(m == n, "body vector %d split at %zu: %ld", v, split, m);
            if (n > 0)
                ck_assert(memcmp(out, whole, (size_t)n) == 0);
        }
    }
}
END_TEST

START_TEST(chunked_limits)
{
    static char buf[20000];
    size_t rest;
    char *out = malloc(sizeof(buf));
    /* a size line of 4 KiB with its extensions is taken, one byte more not */
    size_t o = (size_t)snprintf(buf, sizeof(buf), "1;");
    while (o < 4094)
        buf[o++] = 'a';
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\r\nx\r\n0\r\n\r\n");
    ck_assert_int_eq(decode(buf, o, 0, 0, out, &rest), 1);
    o = (size_t)snprintf(buf, sizeof(buf), "1;");
    while (o < 4095)
        buf[o++] = 'a';
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\r\nx\r\n0\r\n\r\n");
    ck_assert_int_eq(decode(buf, o, 0, 0, out, &rest), -1);
    /* the trailer section: 16 KiB in all, however many lines */
    for (size_t upto = 16000; upto <= 16500; upto += 500) {
        o = (size_t)snprintf(buf, sizeof(buf), "0\r\n");
        while (o < upto)
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "X: 0123456789012345678901234567\r\n");
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\r\n");
        ck_assert_int_eq(decode(buf, o, 0, 0, out, &rest), upto < 16384 ? 0 : -1);
    }
    /* 15 hex digits is the most */
    const char *big = "00000000000000F\r\n";
    struct http1_chunked c;
    http1_chunked_init(&c);
    ck_assert_int_eq(http1_chunked_frame(&c, big, strlen(big)), (long)strlen(big));
    ck_assert(http1_chunked_in_data(&c));
    ck_assert_uint_eq(c.remaining, 15);
    free(out);
}
END_TEST

START_TEST(reasons)
{
    ck_assert_str_eq(http1_reason(200), "OK");
    ck_assert_str_eq(http1_reason(400), "Bad Request");
    ck_assert_str_eq(http1_reason(404), "Not Found");
    ck_assert_str_eq(http1_reason(414), "Request-URI Too Large");
    ck_assert_str_eq(http1_reason(431), "Request Header Fields Too Large");
    ck_assert_str_eq(http1_reason(501), "Not Implemented");
    ck_assert_str_eq(http1_reason(505), "HTTP Version Not Supported");
    ck_assert_str_eq(http1_reason(299), "OK");
    ck_assert_str_eq(http1_reason(399), "Redirect");
    ck_assert_str_eq(http1_reason(418), "Client Error");
    ck_assert_str_eq(http1_reason(599), "Server Error");
}
END_TEST

START_TEST(methods_and_chars)
{
    ck_assert(http_method_known("GET", 3));
    ck_assert(http_method_known("M-SEARCH", 8));
    ck_assert(!http_method_known("get", 3));
    ck_assert(!http_method_known("QUERYX", 6));
    ck_assert(http_method_is("HEAD", 4, "HEAD"));
    ck_assert(!http_method_is("head", 4, "HEAD"));
    ck_assert(!http_method_is("HEADX", 5, "HEAD"));
    ck_assert(HTTP_IEQ("Content-Length", 14, "content-length"));
    ck_assert(!HTTP_IEQ("Content-Lengt", 13, "content-length"));
    const char *tchars = "!#$%&'*+-.^_`|~09azAZ";
    for (size_t i = 0; tchars[i]; i++)
        ck_assert(http1_is_tchar((unsigned char)tchars[i]));
    const char *not_t = " \t\"(),/:;<=>?@[\\]{}\x7f\x80";
    for (size_t i = 0; not_t[i]; i++)
        ck_assert_msg(!http1_is_tchar((unsigned char)not_t[i]), "tchar %02x", not_t[i]);
    ck_assert(!http1_is_tchar(0));
    ck_assert(http1_is_vchar('\t') && http1_is_vchar(' ') && http1_is_vchar(0xff));
    ck_assert(!http1_is_vchar(0) && !http1_is_vchar('\r') && !http1_is_vchar(0x7f));
    ck_assert_int_eq(http1_hexval('0'), 0);
    ck_assert_int_eq(http1_hexval('a'), 10);
    ck_assert_int_eq(http1_hexval('F'), 15);
    ck_assert_int_eq(http1_hexval('g'), -1);
    ck_assert_int_eq(http1_hexval('G'), -1);
    ck_assert_int_eq(http1_hexval('@'), -1);
    ck_assert_int_eq(http1_hexval(' '), -1);
}
END_TEST

Suite *http1_suite(void)
{
    Suite *s = suite_create("http1");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, head_vectors);
    tcase_add_test(tc, find_head);
    tcase_add_test(tc, field_limits);
    tcase_add_test(tc, request_line);
    tcase_add_test(tc, targets);
    tcase_add_test(tc, hosts);
    tcase_add_test(tc, framing_fields);
    tcase_add_test(tc, lists);
    tcase_add_test(tc, trailers);
    tcase_add_test(tc, chunked_vectors);
    tcase_add_test(tc, chunked_limits);
    tcase_add_test(tc, reasons);
    tcase_add_test(tc, methods_and_chars);
    suite_add_tcase(s, tc);
    return s;
}
