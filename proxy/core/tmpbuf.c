/* tmpbuf: memory, then a temporary file (see tmpbuf.h). */
#define _GNU_SOURCE
#include "tmpbuf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

#define TB_READ_MAX (64 * 1024) /* bytes read from the file per tmpbuf_out() */
#define TB_IOV      16

struct tmpbuf {
    const struct tmpbuf_conf *c;
    struct evbuffer *mem;
    int fd;             /* -1 until the file is needed */
    int64_t roff, woff; /* file: next byte to read, end of the written bytes */
    bool used_file;
};

struct tmpbuf *tmpbuf_new(const struct tmpbuf_conf *c)
{
    struct tmpbuf *tb = calloc(1, sizeof(*tb));
    if (!tb)
        return NULL;
    tb->mem = evbuffer_new();
    if (!tb->mem) {
        free(tb);
        return NULL;
    }
    tb->c = c;
    tb->fd = -1;
    return tb;
}

void tmpbuf_reset(struct tmpbuf *tb, const struct tmpbuf_conf *c)
{
    evbuffer_drain(tb->mem, evbuffer_get_length(tb->mem));
    if (tb->fd >= 0)
        close(tb->fd);
    tb->fd = -1;
    tb->roff = tb->woff = 0;
    tb->used_file = false;
    if (c)
        tb->c = c;
}

void tmpbuf_free(struct tmpbuf *tb)
{
    if (!tb)
        return;
    tmpbuf_reset(tb, NULL);
    evbuffer_free(tb->mem);
    free(tb);
}

size_t tmpbuf_len(const struct tmpbuf *tb)
{
    return evbuffer_get_length(tb->mem) + (size_t)(tb->woff - tb->roff);
}

bool tmpbuf_used_file(const struct tmpbuf *tb)
{
    return tb->used_file;
}

size_t tmpbuf_room(const struct tmpbuf *tb)
{
    size_t m = evbuffer_get_length(tb->mem);
    size_t room = 0;
    if (tb->woff == tb->roff && m < tb->c->mem_max)
        room = tb->c->mem_max - m;
    if (tb->c->file_max > tb->woff)
        room += (size_t)(tb->c->file_max - tb->woff);
    return room;
}

/* mkdir -p of the folders of `path` (everything before its last '/'). */
static int make_dirs(char *path)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = 0;
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

/* Creates the file: DIR/[L1/[L2/[L3/]]]NAME, the levels taken from the end
 * of the name as nginx does, then unlinks it. */
static int open_file(struct tmpbuf *tb)
{
    static unsigned seq;
    char path[4096];
    for (int attempt = 0; attempt < 16; attempt++) {
        char name[16];
        snprintf(name, sizeof(name), "%010u", (unsigned)getpid() * 100000u + ++seq % 100000u);
        int n = snprintf(path, sizeof(path), "%s", tb->c->dir);
        size_t end = strlen(name);
        for (int i = 0; i < 3 && tb->c->levels && tb->c->levels[i] > 0; i++) {
            int l = tb->c->levels[i];
            end -= (size_t)l;
            n += snprintf(path + n, sizeof(path) - (size_t)n, "/%.*s", l, name + end);
            if (n >= (int)sizeof(path))
                break;
        }
        if (n + 12 >= (int)sizeof(path)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        snprintf(path + n, sizeof(path) - (size_t)n, "/%s", name);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == ENOENT && make_dirs(path) == 0)
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0) {
            log_error("cannot create the temporary file %s (%d: %s)", path, errno, strerror(errno));
            return -1;
        }
        unlink(path);
        log_warn("an upstream response is buffered to a temporary file %s", path);
        tb->fd = fd;
        tb->used_file = true;
        return 0;
    }
    errno = EEXIST;
    log_error("cannot create a temporary file in %s", tb->c->dir);
    return -1;
}

/* Writes n bytes of src at the end of the file and drains them. */
static int file_add(struct tmpbuf *tb, struct evbuffer *src, size_t n)
{
    if (tb->fd < 0 && open_file(tb) < 0)
        return -1;
    size_t wmax = tb->c->write_size ? tb->c->write_size : 8192;
    while (n > 0) {
        size_t want = n < wmax ? n : wmax;
        struct evbuffer_iovec v[TB_IOV];
        int k = evbuffer_peek(src, (ev_ssize_t)want, NULL, v, TB_IOV);
        if (k > TB_IOV)
            k = TB_IOV;
        size_t tot = 0;
        for (int i = 0; i < k; i++) {
            if (tot + v[i].iov_len > want)
                v[i].iov_len = want - tot;
            tot += v[i].iov_len;
        }
        ssize_t w = pwritev(tb->fd, (struct iovec *)v, k, tb->woff);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            log_error("cannot write the temporary file (%d: %s)", errno, strerror(errno));
            return -1;
        }
        evbuffer_drain(src, (size_t)w);
        tb->woff += w;
        n -= (size_t)w;
    }
    return 0;
}

int tmpbuf_add(struct tmpbuf *tb, struct evbuffer *src, size_t n)
{
    size_t have = evbuffer_get_length(src);
    if (n > have)
        n = have;
    if (tb->woff == tb->roff) { /* the file holds nothing unread: memory first */
        size_t m = evbuffer_get_length(tb->mem);
        size_t to_mem = m < tb->c->mem_max ? tb->c->mem_max - m : 0;
        if (to_mem > n || tb->c->file_max <= 0)
            to_mem = n;
        if (to_mem > 0 && evbuffer_remove_buffer(src, tb->mem, to_mem) != (int)to_mem)
            return -1;
        n -= to_mem;
    }
    return n > 0 ? file_add(tb, src, n) : 0;
}

long tmpbuf_out(struct tmpbuf *tb, struct evbuffer *dst, size_t max)
{
    size_t m = evbuffer_get_length(tb->mem);
    if (m > 0) {
        size_t k = m < max ? m : max;
        return evbuffer_remove_buffer(tb->mem, dst, k);
    }
    int64_t left = tb->woff - tb->roff;
    if (left <= 0 || max == 0)
        return 0;
    size_t want = (size_t)left < max ? (size_t)left : max;
    if (want > TB_READ_MAX)
        want = TB_READ_MAX;
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(dst, (ev_ssize_t)want, &v, 1) < 1)
        return -1;
    ssize_t r;
    do
        r = pread(tb->fd, v.iov_base, want, tb->roff);
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        if (r == 0)
            errno = EIO; /* the file is shorter than what was written */
        v.iov_len = 0;
        evbuffer_commit_space(dst, &v, 1);
        return -1;
    }
    v.iov_len = (size_t)r;
    evbuffer_commit_space(dst, &v, 1);
    tb->roff += r;
    if (tb->roff == tb->woff) { /* all read: the file starts over */
        tb->roff = tb->woff = 0;
        if (ftruncate(tb->fd, 0) < 0)
            log_warn("cannot truncate a temporary file (%d: %s)", errno, strerror(errno));
    }
    return (long)r;
}
