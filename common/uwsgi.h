/* uwsgi: the uwsgi binary protocol's request packet, both directions.
 *
 * A packet is a 4-byte header (modifier1: u8, datasize: u16 little-endian,
 * modifier2: u8) followed by `datasize` bytes of variables, each a u16 LE key
 * length, the key, a u16 LE value length, the value.  For a WSGI request
 * modifier1 and modifier2 are 0 and the request body follows the packet
 * (its length is the CONTENT_LENGTH variable).  The proxy encodes packets,
 * the gateway decodes them. */
#ifndef CHAIN_UWSGI_H
#define CHAIN_UWSGI_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define UWSGI_HDR_LEN 4
#define UWSGI_MAX_DATA 65535 /* datasize is 16 bits */

struct uwsgi_hdr {
    uint8_t mod1;  /* 0 = WSGI request */
    uint16_t size; /* bytes of variables after the header */
    uint8_t mod2;  /* 0 */
};

void uwsgi_hdr_decode(const uint8_t *p, struct uwsgi_hdr *h);
void uwsgi_hdr_encode(uint8_t *p, const struct uwsgi_hdr *h);

/* Encoding: uwsgi_enc_begin() empties `b` and reserves the header;
 * uwsgi_enc_add() appends one variable (borrows k and v); uwsgi_enc_end()
 * fills in the header.  add/end return -1 when the packet would exceed 64 KiB
 * (or memory runs out); `b` then holds no valid packet. */
int uwsgi_enc_begin(struct buf *b);
int uwsgi_enc_add(struct buf *b, const char *k, size_t kl, const char *v, size_t vl);
int uwsgi_enc_end(struct buf *b, uint8_t mod1, uint8_t mod2);

/* Called for each variable; k and v point into the packet (borrowed, not
 * NUL-terminated).  Return 0 to go on, non-zero to stop decoding. */
typedef int (*uwsgi_var_cb)(void *ud, const char *k, size_t kl, const char *v, size_t vl);

/* Walks the `len` bytes of variables that follow a header.  Returns 0 when
 * all were read, -1 when the data is malformed (a length runs past the end),
 * or the callback's non-zero result. */
int uwsgi_decode_vars(const uint8_t *p, size_t len, uwsgi_var_cb cb, void *ud);

#endif
