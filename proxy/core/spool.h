/* spool: a request body kept while it is read, so that it can be sent (and
 * sent again) once it is whole: nginx's client body buffer and temp file.
 *
 * The body stays in memory while it fits in `mem_max` bytes; the first
 * append that would pass that moves what was kept into a temp file and
 * everything after it goes there too, so a spool never holds more than
 * mem_max bytes of RAM.  With SPOOL_FILE_CLEAN or SPOOL_FILE_ON the body
 * goes to a file from the first byte (client_body_in_file_only).
 *
 * Temp files are named as nginx names them: a 10-digit number under the
 * directory, with `levels` subdirectories taken from the number's last
 * digits ("dir/7/45/0000012457" for levels 1 2).  They are opened
 * O_EXCL, mode 0600; missing directories are made on the way (0700).  A
 * SPOOL_FILE_OFF file is unlinked as soon as it is open (only the fd keeps
 * it); a CLEAN one is unlinked when the spool is reset or freed; an ON one
 * is left on disk.
 *
 * Reading never consumes: spool_copy() reads from any offset, and a cursor
 * (spool_rewind, spool_send) lets a sender go through the body again for a
 * retry.  Ownership: the spool owns its evbuffer, fd and path; nothing it
 * returns outlives the next append or reset. */
#ifndef PROXY_SPOOL_H
#define PROXY_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct evbuffer;

enum spool_file {                   /* client_body_in_file_only */
                  SPOOL_FILE_OFF,   /* memory first; a file (unlinked at once) past mem_max */
                  SPOOL_FILE_CLEAN, /* always a named file, removed with the spool */
                  SPOOL_FILE_ON,    /* always a named file, kept on disk */
};

struct spool_conf {
    size_t mem_max;       /* client_body_buffer_size */
    const char *dir;      /* client_body_temp_path (borrowed; must outlive the spool's use) */
    const int *levels;    /* subdirectory name lengths (at most 10 in all), borrowed */
    int nlevels;          /* 0..3 */
    enum spool_file mode; /* client_body_in_file_only */
};

struct spool {
    struct spool_conf c;
    struct evbuffer *mem; /* the body while it is in memory; kept for reuse */
    int fd;               /* the temp file, -1 while in memory */
    char *path;           /* its name (even once unlinked), NULL without a file */
    uint64_t len;         /* bytes appended */
    uint64_t pos;         /* the sending cursor (spool_send) */
};

/* A spool that holds nothing and owns nothing yet. */
void spool_init(struct spool *sp);
/* Starts a body with settings c (copied; its strings borrowed): empties sp
 * first, and opens the file now for CLEAN and ON.  0, or -1 with errno set
 * (memory, or the temp file could not be made). */
int spool_open(struct spool *sp, const struct spool_conf *c);
/* Moves n bytes from the start of `in` into the spool.  0, or
 * -1 with errno set (a failed write to the temp file); the spool must not
 * be used for this body after an error. */
int spool_append(struct spool *sp, struct evbuffer *in, size_t n);
/* Bytes appended so far. */
uint64_t spool_length(const struct spool *sp);
/* Is the body in a temp file?  Its name (borrowed), or NULL in memory. */
bool spool_in_file(const struct spool *sp);
const char *spool_path(const struct spool *sp);
/* The in-memory body as one contiguous piece (borrowed until the next
 * append or reset); -1 when the body is in a file. */
int spool_mem(struct spool *sp, const char **p, size_t *n);
/* Adds up to n bytes of the body from offset `off` to `out`.  The number
 * added (0 at the end), or -1 with errno set. */
ssize_t spool_copy(struct spool *sp, uint64_t off, size_t n, struct evbuffer *out);
/* The sending cursor: back to the first byte; adds up to n bytes from the
 * cursor to `out` and moves it on (the number, 0 when all was sent, -1 on a
 * read error); the bytes still to send. */
void spool_rewind(struct spool *sp);
ssize_t spool_send(struct spool *sp, struct evbuffer *out, size_t n);
uint64_t spool_left(const struct spool *sp);
/* Ends the body: closes the file (unlinking a CLEAN one), drops the memory
 * (the evbuffer is kept for the next body). */
void spool_reset(struct spool *sp);
/* spool_reset, and frees the evbuffer. */
void spool_free(struct spool *sp);

/* Makes `dir` and its missing parents, mode 0700 (existing ones are left
 * as they are).  0, or -1 with errno set. */
int spool_mkdir(const char *dir);

#endif
