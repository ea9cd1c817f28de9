/* uwsgi: packet codec (see uwsgi.h).  Lengths are little-endian on the wire
 * whatever the host order, so they are assembled byte by byte. */
#include "uwsgi.h"

void uwsgi_hdr_decode(const uint8_t *p, struct uwsgi_hdr *h)
{
    h->mod1 = p[0];
    h->size = (uint16_t)(p[1] | (p[2] << 8));
    h->mod2 = p[3];
}

void uwsgi_hdr_encode(uint8_t *p, const struct uwsgi_hdr *h)
{
    p[0] = h->mod1;
    p[1] = (uint8_t)(h->size & 0xff);
    p[2] = (uint8_t)(h->size >> 8);
    p[3] = h->mod2;
}

int uwsgi_enc_begin(struct buf *b)
{
    static const uint8_t zero[UWSGI_HDR_LEN];
    buf_reset(b);
    return buf_append(b, zero, sizeof(zero));
}

static int put_str(struct buf *b, const char *s, size_t n)
{
    uint8_t len[2] = {(uint8_t)(n & 0xff), (uint8_t)(n >> 8)};
    if (buf_append(b, len, 2) < 0)
        return -1;
    return buf_append(b, s, n);
}

int uwsgi_enc_add(struct buf *b, const char *k, size_t kl, const char *v, size_t vl)
{
    if (kl > UWSGI_MAX_DATA || vl > UWSGI_MAX_DATA ||
        b->len - UWSGI_HDR_LEN + 4 + kl + vl > UWSGI_MAX_DATA)
        return -1;
    if (put_str(b, k, kl) < 0 || put_str(b, v, vl) < 0)
        return -1;
    return 0;
}

int uwsgi_enc_end(struct buf *b, uint8_t mod1, uint8_t mod2)
{
    if (b->len < UWSGI_HDR_LEN || b->len - UWSGI_HDR_LEN > UWSGI_MAX_DATA)
        return -1;
    struct uwsgi_hdr h = {mod1, (uint16_t)(b->len - UWSGI_HDR_LEN), mod2};
    uwsgi_hdr_encode((uint8_t *)b->data, &h);
    return 0;
}

int uwsgi_decode_vars(const uint8_t *p, size_t len, uwsgi_var_cb cb, void *ud)
{
    size_t i = 0;
    while (i < len) {
        if (len - i < 2)
            return -1;
        size_t kl = (size_t)(p[i] | (p[i + 1] << 8));
        i += 2;
        if (len - i < kl + 2)
            return -1;
        const char *k = (const char *)p + i;
        i += kl;
        size_t vl = (size_t)(p[i] | (p[i + 1] << 8));
        i += 2;
        if (len - i < vl)
            return -1;
        const char *v = (const char *)p + i;
        i += vl;
        int rc = cb(ud, k, kl, v, vl);
        if (rc)
            return rc;
    }
    return 0;
}
