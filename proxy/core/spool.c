/* spool: a request body in memory, then in a temp file (see spool.h). */
#define _GNU_SOURCE
#include "spool.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NAME_DIGITS 10  /* nginx's temp file names: %010u */
#define OPEN_TRIES  128 /* names tried before giving up (EEXIST) */
#define READ_PIECE  (64 * 1024)

void spool_init(struct spool *sp)
{
    memset(sp, 0, sizeof(*sp));
    sp->fd = -1;
}

int spool_mkdir(const char *dir)
{
    char p[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(p)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(p, dir, n + 1);
    /* each parent in turn: a component that exists is fine whoever owns it */
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -1;
        p[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* The next temp file number: a per-process sequence from a seed that
 * differs between processes, as nginx's ngx_temp_number. */
static uint32_t next_number(void)
{
    static uint32_t seq;
    static bool seeded;
    if (!seeded) {
        seq = (uint32_t)getpid() * 100003u + (uint32_t)time(NULL);
        seeded = true;
    }
    return ++seq;
}

/* Writes dir/L1/L2/NNNNNNNNNN for number k into p (levels from the
 * number's end, nginx's ngx_create_hashed_filename).  The length of the
 * directory part (the end of the last level) in *dirlen. */
static int make_name(const struct spool_conf *c, uint32_t k, char *p, size_t cap, size_t *dirlen)
{
    char num[NAME_DIGITS + 1];
    snprintf(num, sizeof(num), "%0*u", NAME_DIGITS, k);
    int n = snprintf(p, cap, "%s", c->dir);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    size_t at = (size_t)n, from = NAME_DIGITS;
    for (int i = 0; i < c->nlevels; i++) {
        size_t l = (size_t)c->levels[i];
        if (l < 1 || from < l || at + 1 + l >= cap)
            return -1;
        from -= l;
        p[at++] = '/';
        memcpy(p + at, num + from, l);
        at += l;
    }
    *dirlen = at;
    if (at + 1 + NAME_DIGITS >= cap)
        return -1;
    p[at++] = '/';
    memcpy(p + at, num, NAME_DIGITS + 1);
    return 0;
}

/* Creates the temp file: a fresh name, its directories made on ENOENT;
 * unlinked at once for SPOOL_FILE_OFF. */
static int open_file(struct spool *sp)
{
    char p[4096];
    for (int t = 0; t < OPEN_TRIES; t++) {
        size_t dl;
        if (!sp->c.dir || make_name(&sp->c, next_number(), p, sizeof(p), &dl) < 0) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == ENOENT) {
            p[dl] = '\0';
            int rc = spool_mkdir(p);
            p[dl] = '/';
            if (rc < 0)
                return -1;
            fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        }
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            return -1;
        }
        char *name = strdup(p);
        if (!name) {
            unlink(p);
            close(fd);
            errno = ENOMEM;
            return -1;
        }
        if (sp->c.mode == SPOOL_FILE_OFF)
            (void)unlink(p); /* only the fd keeps it: nothing is left behind */
        sp->fd = fd;
        sp->path = name;
        return 0;
    }
    errno = EEXIST;
    return -1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Writes n bytes from the start of b into the file, draining them. */
static int write_buffer(int fd, struct evbuffer *b, size_t n)
{
    while (n > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(b, (ev_ssize_t)n, NULL, &v, 1) < 1) {
            errno = EIO;
            return -1;
        }
        size_t k = v.iov_len < n ? v.iov_len : n;
        if (write_all(fd, v.iov_base, k) < 0)
            return -1;
        evbuffer_drain(b, k);
        n -= k;
    }
    return 0;
}

/* Copies n bytes from the start of b into mem, draining them.  Copied, not
 * moved: a slow client's bytes arrive a few per read, each in its own
 * input chain, and moving those chains would keep a whole chain's room per
 * few bytes; copies fill mem's chains, so memory stays near mem_max. */
static int copy_buffer(struct evbuffer *mem, struct evbuffer *b, size_t n)
{
    while (n > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(b, (ev_ssize_t)n, NULL, &v, 1) < 1) {
            errno = EIO;
            return -1;
        }
        size_t k = v.iov_len < n ? v.iov_len : n;
        if (evbuffer_add(mem, v.iov_base, k) < 0) {
            errno = ENOMEM;
            return -1;
        }
        evbuffer_drain(b, k);
        n -= k;
    }
    return 0;
}

/* Moves what memory holds into a new temp file. */
static int spill(struct spool *sp)
{
    if (open_file(sp) < 0)
        return -1;
    return write_buffer(sp->fd, sp->mem, evbuffer_get_length(sp->mem));
}

int spool_open(struct spool *sp, const struct spool_conf *c)
{
    spool_reset(sp);
    sp->c = *c;
    if (!sp->mem && !(sp->mem = evbuffer_new())) {
        errno = ENOMEM;
        return -1;
    }
    if (c->mode != SPOOL_FILE_OFF)
        return open_file(sp);
    return 0;
}

int spool_append(struct spool *sp, struct evbuffer *in, size_t n)
{
    if (n == 0)
        return 0;
    if (sp->fd < 0 && evbuffer_get_length(sp->mem) + n > sp->c.mem_max && spill(sp) < 0)
        return -1;
    if (sp->fd >= 0) {
        if (write_buffer(sp->fd, in, n) < 0)
            return -1;
    } else if (copy_buffer(sp->mem, in, n) < 0) {
        return -1;
    }
    sp->len += n;
    return 0;
}

uint64_t spool_length(const struct spool *sp)
{
    return sp->len;
}

bool spool_in_file(const struct spool *sp)
{
    return sp->fd >= 0;
}

const char *spool_path(const struct spool *sp)
{
    return sp->fd >= 0 ? sp->path : NULL;
}

int spool_mem(struct spool *sp, const char **p, size_t *n)
{
    if (sp->fd >= 0)
        return -1;
    *n = sp->mem ? evbuffer_get_length(sp->mem) : 0;
    *p = *n ? (const char *)evbuffer_pullup(sp->mem, -1) : "";
    return *p ? 0 : -1;
}

ssize_t spool_copy(struct spool *sp, uint64_t off, size_t n, struct evbuffer *out)
{
    if (off >= sp->len || n == 0)
        return 0;
    if (n > sp->len - off)
        n = (size_t)(sp->len - off);
    if (sp->fd < 0) {
        struct evbuffer_ptr at;
        if (evbuffer_ptr_set(sp->mem, &at, (size_t)off, EVBUFFER_PTR_SET) < 0)
            return -1;
        struct evbuffer_iovec v[8];
        int k = evbuffer_peek(sp->mem, (ev_ssize_t)n, &at, v, 8);
        size_t done = 0;
        for (int i = 0; i < k && i < 8 && done < n; i++) {
            size_t m = v[i].iov_len < n - done ? v[i].iov_len : n - done;
            if (evbuffer_add(out, v[i].iov_base, m) < 0)
                return -1;
            done += m;
        }
        return (ssize_t)done;
    }
    if (n > READ_PIECE)
        n = READ_PIECE;
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) < 1)
        return -1;
    ssize_t k;
    do
        k = pread(sp->fd, v.iov_base, n, (off_t)off);
    while (k < 0 && errno == EINTR);
    if (k <= 0) {
        if (k == 0)
            errno = EIO; /* the file is shorter than what was written */
        return -1;
    }
    v.iov_len = (size_t)k;
    if (evbuffer_commit_space(out, &v, 1) < 0)
        return -1;
    return k;
}

void spool_rewind(struct spool *sp)
{
    sp->pos = 0;
}

ssize_t spool_send(struct spool *sp, struct evbuffer *out, size_t n)
{
    ssize_t k = spool_copy(sp, sp->pos, n, out);
    if (k > 0)
        sp->pos += (uint64_t)k;
    return k;
}

uint64_t spool_left(const struct spool *sp)
{
    return sp->len - sp->pos;
}

void spool_reset(struct spool *sp)
{
    if (sp->fd >= 0) {
        close(sp->fd);
        if (sp->c.mode == SPOOL_FILE_CLEAN && sp->path)
            (void)unlink(sp->path);
        sp->fd = -1;
    }
    free(sp->path);
    sp->path = NULL;
    if (sp->mem)
        evbuffer_drain(sp->mem, evbuffer_get_length(sp->mem));
    sp->len = 0;
    sp->pos = 0;
}

void spool_free(struct spool *sp)
{
    spool_reset(sp);
    if (sp->mem)
        evbuffer_free(sp->mem);
    sp->mem = NULL;
}
