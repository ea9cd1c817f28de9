/* fuzz_uwsgi: the uwsgi packet codec (common/uwsgi.c), both directions,
 * and the gateway's uwsgi front end (gateway/gw_uwsgi.c).
 *
 * The input is a packet as a front server sends it: the 4-byte header,
 * then variables (all the rest is given to the decoders, whatever the
 * header's datasize says, so that short and long packets are both tried).
 * Invariants beyond "no crash":
 *  - the header encodes back to the same 4 bytes;
 *  - variables that decode, encoded again with uwsgi_enc_*, give back the
 *    input's bytes exactly, or are refused by the encoder exactly when they
 *    pass 64 KiB;
 *  - gw_uwsgi_parse refuses what the codec cannot decode; what it accepts
 *    has a method, CONTENT_LENGTH's digits as its length (-1 without one),
 *    and every kept variable is one of the packet's, in order, pointing into
 *    the packet. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fuzz_check.h"
#include "gw_req.h"
#include "gw_uwsgi.h"
#include "uwsgi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct var {
    const char *k, *v;
    size_t kl, vl;
};

struct vars {
    struct var *a;
    size_t n, cap;
};

static int on_var(void *ud, const char *k, size_t kl, const char *v, size_t vl)
{
    struct vars *vs = ud;
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 16;
        struct var *a = realloc(vs->a, cap * sizeof(*a));
        FUZZ_CHECK(a != NULL);
        vs->a = a;
        vs->cap = cap;
    }
    vs->a[vs->n++] = (struct var){k, v, kl, vl};
    return 0;
}

static bool is(const struct var *x, const char *lit)
{
    return x->kl == strlen(lit) && memcmp(x->k, lit, x->kl) == 0;
}

/* The packet's last non-empty CONTENT_LENGTH, as gw_uwsgi.h describes it. */
static const struct var *content_length(const struct vars *vs)
{
    const struct var *cl = NULL;
    for (size_t i = 0; i < vs->n; i++)
        if (is(&vs->a[i], "CONTENT_LENGTH") && vs->a[i].vl)
            cl = &vs->a[i];
    return cl;
}

static void reencode(const uint8_t *p, size_t len, const struct vars *vs)
{
    struct buf b = {0};
    FUZZ_CHECK(uwsgi_enc_begin(&b) == 0);
    size_t i;
    for (i = 0; i < vs->n; i++)
        if (uwsgi_enc_add(&b, vs->a[i].k, vs->a[i].kl, vs->a[i].v, vs->a[i].vl) < 0)
            break;
    if (len > UWSGI_MAX_DATA) {
        FUZZ_CHECK(i < vs->n); /* refused somewhere */
    } else {
        FUZZ_CHECK(i == vs->n);
        FUZZ_CHECK(uwsgi_enc_end(&b, 0, 0) == 0);
        FUZZ_CHECK(b.len == UWSGI_HDR_LEN + len);
        FUZZ_CHECK(len == 0 || memcmp(b.data + UWSGI_HDR_LEN, p, len) == 0);
        struct uwsgi_hdr h;
        uwsgi_hdr_decode((const uint8_t *)b.data, &h);
        FUZZ_CHECK(h.mod1 == 0 && h.mod2 == 0 && h.size == len);
    }
    buf_free(&b);
}

static void check_gateway(const uint8_t *p, size_t len, int dec, const struct vars *vs)
{
    struct gw_req r = {0};
    gw_req_reset(&r);
    int rc = gw_uwsgi_parse((const char *)p, len, &r);
    FUZZ_CHECK(rc == GW_UWSGI_OK || rc == GW_UWSGI_BAD);
    if (dec != 0)
        FUZZ_CHECK(rc == GW_UWSGI_BAD);
    if (rc == GW_UWSGI_OK) {
        FUZZ_CHECK(r.cgi && r.method && !r.keepalive);
        const struct var *cl = content_length(vs);
        if (!cl) {
            FUZZ_CHECK(r.content_length == -1);
        } else {
            FUZZ_CHECK(cl->vl <= 18);
            int64_t v = 0;
            for (size_t i = 0; i < cl->vl; i++) {
                FUZZ_CHECK(cl->v[i] >= '0' && cl->v[i] <= '9');
                v = v * 10 + (cl->v[i] - '0');
            }
            FUZZ_CHECK(r.content_length == v);
        }
        FUZZ_CHECK(r.nhdrs >= 0 && (size_t)r.nhdrs <= vs->n);
        size_t j = 0; /* each kept variable is the next matching one */
        for (int i = 0; i < r.nhdrs; i++) {
            const struct gw_hdr *h = &r.hdrs[i];
            FUZZ_CHECK(FUZZ_WITHIN(h->name, h->name_len, p, len));
            FUZZ_CHECK(h->value_len == 0 || FUZZ_WITHIN(h->value, h->value_len, p, len));
            while (j < vs->n && vs->a[j].k != h->name)
                j++;
            FUZZ_CHECK(j < vs->n && vs->a[j].kl == h->name_len && vs->a[j].vl == h->value_len);
            j++;
        }
    } else {
        /* refused: the codec could not decode it, or CONTENT_LENGTH is bad */
        const struct var *cl = dec == 0 ? content_length(vs) : NULL;
        if (dec == 0) {
            FUZZ_CHECK(cl != NULL);
            bool digits = cl->vl <= 18;
            for (size_t i = 0; i < cl->vl; i++)
                digits = digits && cl->v[i] >= '0' && cl->v[i] <= '9';
            FUZZ_CHECK(!digits);
        }
    }
    gw_req_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < UWSGI_HDR_LEN)
        return 0;
    struct uwsgi_hdr h;
    uint8_t back[UWSGI_HDR_LEN];
    uwsgi_hdr_decode(data, &h);
    uwsgi_hdr_encode(back, &h);
    FUZZ_CHECK(memcmp(back, data, UWSGI_HDR_LEN) == 0);

    const uint8_t *p = data + UWSGI_HDR_LEN;
    size_t len = size - UWSGI_HDR_LEN;
    struct vars vs = {0};
    int dec = uwsgi_decode_vars(p, len, on_var, &vs);
    FUZZ_CHECK(dec == 0 || dec == -1);
    for (size_t i = 0; i < vs.n; i++) {
        FUZZ_CHECK(vs.a[i].kl == 0 || FUZZ_WITHIN(vs.a[i].k, vs.a[i].kl, p, len));
        FUZZ_CHECK(vs.a[i].vl == 0 || FUZZ_WITHIN(vs.a[i].v, vs.a[i].vl, p, len));
    }
    if (dec == 0)
        reencode(p, len, &vs);
    check_gateway(p, len, dec, &vs);
    free(vs.a);
    return 0;
}
