/* tmpbuf: a byte queue held in memory up to a limit, then in a temporary
 * file up to another: what a response read from the upstream faster than
 * the client takes it waits in (nginx's proxy_buffers, proxy_temp_path and
 * proxy_max_temp_file_size).
 *
 * Order is kept: bytes are appended to memory while the file holds nothing
 * unread and memory has room, else to the file; they come out of memory
 * first, then out of the file.  Once everything in the file was read, the
 * file is emptied and used again.  The file is created on first need as
 * DIR/[levels/]NNNNNNNNNN (nginx's layout; the level folders are created as
 * needed) and unlinked at once: it disappears with its descriptor, however
 * the process ends.  Memory never grows beyond mem_max except by what a
 * caller appends past tmpbuf_room() (it is told how much fits). */
#ifndef PROXY_TMPBUF_H
#define PROXY_TMPBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

struct tmpbuf_conf {
    size_t mem_max;    /* bytes kept in memory */
    int64_t file_max;  /* bytes the file may hold; 0: no file */
    size_t write_size; /* at most this many bytes per write to the file */
    const char *dir;   /* folder of the file (borrowed) */
    const int *levels; /* 3 subfolder levels of 1 or 2 digits, 0 ends (borrowed; may be NULL) */
};

struct tmpbuf;

/* An empty queue; NULL when memory runs out.  The conf is borrowed until
 * tmpbuf_reset() or tmpbuf_free(). */
struct tmpbuf *tmpbuf_new(const struct tmpbuf_conf *c);
/* Drops what is held, closes the file, and takes another conf (NULL: the
 * same). */
void tmpbuf_reset(struct tmpbuf *tb, const struct tmpbuf_conf *c);
void tmpbuf_free(struct tmpbuf *tb);

/* Bytes held (memory and file). */
size_t tmpbuf_len(const struct tmpbuf *tb);
/* Bytes that may be appended now within the limits. */
size_t tmpbuf_room(const struct tmpbuf *tb);
/* Moves n bytes (at most what src holds) from src to the end of the queue.
 * 0, or -1 when the file could not be created or written (errno set,
 * logged; the bytes stay in src). */
int tmpbuf_add(struct tmpbuf *tb, struct evbuffer *src, size_t n);
/* Moves up to max bytes from the front of the queue to the end of dst.
 * The bytes moved, or -1 when the file could not be read (errno set). */
long tmpbuf_out(struct tmpbuf *tb, struct evbuffer *dst, size_t max);
/* Did the queue ever use its file since the last reset? */
bool tmpbuf_used_file(const struct tmpbuf *tb);

#endif
