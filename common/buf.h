/* buf: a growable byte buffer owned by whoever embeds it.
 *
 * Used where an evbuffer does not fit (building a uwsgi packet, formatting a
 * log line, a config token).  The buffer owns `data`; buf_free() releases it
 * and leaves an empty, reusable buffer.  All functions return 0 on success and
 * -1 when memory runs out, leaving the contents as they were. */
#ifndef CHAIN_BUF_H
#define CHAIN_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
    char *data; /* owned; NUL-terminated when len < cap (buf_cstr guarantees it) */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Makes room for `extra` more bytes (plus a NUL). */
int buf_reserve(struct buf *b, size_t extra);
/* Appends `n` bytes (borrows p).  Inline when they fit: response heads and
 * upstream requests are built from dozens of small appends. */
int buf_append_grow(struct buf *b, const void *p, size_t n);
static inline int buf_append(struct buf *b, const void *p, size_t n)
{
    if (b->cap - b->len <= n) /* room for n bytes and the NUL? (0 when nothing allocated) */
        return buf_append_grow(b, p, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}
/* Appends a NUL-terminated string (borrows s). */
static inline int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}
/* Appends printf-formatted text. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends v in decimal. */
int buf_append_u64(struct buf *b, uint64_t v);
/* Writes v in decimal (fmt_u64) or lower-case hex (fmt_hex) to out, which
 * has room for FMT_U64_MAX bytes; no NUL.  Returns the length.  For hot paths
 * where printf's parsing shows in profiles. */
#define FMT_U64_MAX 20
size_t fmt_u64(char *out, uint64_t v);
size_t fmt_hex(char *out, uint64_t v);
/* Returns data as a C string (always NUL-terminated; "" for an empty buffer
 * that never allocated).  The pointer is valid until the next change. */
const char *buf_cstr(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);

#endif
