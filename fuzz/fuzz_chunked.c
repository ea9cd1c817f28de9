/* fuzz_chunked: the chunked body decoder (common/http1.c), fed as the
 * programs feed it: in pieces as they arrive, data bytes moved by the
 * caller, framing bytes shown to http1_chunked_frame.
 *
 * The input's first byte picks a piece size (1..256 bytes); the rest is the
 * body.  Invariants beyond "no crash":
 *  - the decoder never claims more bytes than it was shown, and never
 *    stops making progress while it is neither in data nor done;
 *  - the data it yields is never longer than the input, and c.total counts
 *    exactly those bytes;
 *  - the verdict (done, error, or wants more), the bytes consumed up to the
 *    end and the data are the same whether the body comes whole, one byte
 *    at a time or in the chosen pieces;
 *  - a decoded body, re-encoded as one chunk with no trailer, decodes to
 *    the same data and ends exactly where the encoding ends. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fuzz_check.h"
#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum verdict { V_MORE, V_DONE, V_ERROR };

struct result {
    enum verdict v;
    size_t used;     /* bytes consumed when done or in error */
    struct buf data; /* the body's data bytes */
    uint64_t total;
};

/* Decodes p[0..n) arriving `piece` bytes at a time. */
static void decode(const uint8_t *p, size_t n, size_t piece, struct result *res)
{
    struct http1_chunked c;
    http1_chunked_init(&c);
    buf_reset(&res->data);
    res->v = V_MORE;
    size_t off = 0, avail = 0; /* consumed; arrived so far */
    for (;;) {
        if (http1_chunked_done(&c)) {
            res->v = V_DONE;
            break;
        }
        if (off == avail) {
            if (avail == n)
                break;
            avail = n - avail < piece ? n : avail + piece;
        }
        if (http1_chunked_in_data(&c)) {
            FUZZ_CHECK(c.remaining > 0);
            size_t k = avail - off;
            if ((uint64_t)k > c.remaining)
                k = (size_t)c.remaining;
            FUZZ_CHECK(buf_append(&res->data, p + off, k) == 0);
            http1_chunked_consumed(&c, k);
            off += k;
            continue;
        }
        long r = http1_chunked_frame(&c, (const char *)p + off, avail - off);
        if (r < 0) {
            res->v = V_ERROR;
            break;
        }
        FUZZ_CHECK(r > 0 && (size_t)r <= avail - off);
        off += (size_t)r;
    }
    res->used = off;
    res->total = c.total;
    FUZZ_CHECK(off <= n && res->data.len <= n && res->data.len <= off);
    FUZZ_CHECK(c.total == res->data.len);
}

static void same(const struct result *a, const struct result *b)
{
    FUZZ_CHECK(a->v == b->v);
    if (a->v == V_DONE)
        FUZZ_CHECK(a->used == b->used);
    FUZZ_CHECK(a->data.len == b->data.len);
    FUZZ_CHECK(a->data.len == 0 || memcmp(a->data.data, b->data.data, a->data.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    struct result whole = {0}, bytes = {0}, pieces = {0}, again = {0};
    decode(body, n, n ? n : 1, &whole);
    decode(body, n, 1, &bytes);
    decode(body, n, piece, &pieces);
    same(&whole, &bytes);
    same(&whole, &pieces);
    if (whole.v == V_DONE) {
        struct buf enc = {0};
        if (whole.data.len)
            FUZZ_CHECK(buf_printf(&enc, "%zx\r\n", whole.data.len) == 0 &&
                       buf_append(&enc, whole.data.data, whole.data.len) == 0 &&
                       buf_append(&enc, "\r\n", 2) == 0);
        FUZZ_CHECK(buf_append(&enc, "0\r\n\r\n", 5) == 0);
        decode((const uint8_t *)enc.data, enc.len, enc.len, &again);
        FUZZ_CHECK(again.v == V_DONE && again.used == enc.len);
        FUZZ_CHECK(again.data.len == whole.data.len);
        FUZZ_CHECK(again.data.len == 0 ||
                   memcmp(again.data.data, whole.data.data, again.data.len) == 0);
        buf_free(&enc);
    }
    buf_free(&whole.data);
    buf_free(&bytes.data);
    buf_free(&pieces.data);
    buf_free(&again.data);
    return 0;
}
