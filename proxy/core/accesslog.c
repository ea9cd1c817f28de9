/* accesslog: access_log files (see accesslog.h).
 *
 * Each distinct path is opened once per process; every cf_access_log naming
 * it points (rt) at the same open file.  Lines are formatted into one
 * reused buffer and written with a single write(2). */
#include "accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "request.h"
#include "vars.h"

struct al_file {
    struct al_file *next;
    char *path;
    int fd;
};

static struct al_file *files; /* this process's open access logs */
static struct buf line = BUF_INIT;

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static int attach(struct cf_access_log *al, char *err, size_t errlen)
{
    if (al->rt)
        return 0;
    for (struct al_file *f = files; f; f = f->next)
        if (strcmp(f->path, al->path) == 0) {
            al->rt = f;
            return 0;
        }
    struct al_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(al->path))) {
        free(f);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f->fd = open_log(al->path);
    if (f->fd < 0) {
        snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", al->path, errno, strerror(errno));
        free(f->path);
        free(f);
        return -1;
    }
    f->next = files;
    files = f;
    al->rt = f;
    return 0;
}

static int attach_loc(struct cf_loc *l, char *err, size_t errlen)
{
    for (int i = 0; i < l->naccess_logs; i++)
        if (attach(&l->access_logs[i], err, errlen) < 0)
            return -1;
    return 0;
}

int accesslog_open_all(struct cf_main *cf, char *err, size_t errlen)
{
    for (int s = 0; s < cf->nservers; s++) {
        struct cf_server *srv = &cf->servers[s];
        if (attach_loc(srv->def_loc, err, errlen) < 0)
            goto fail;
        for (int i = 0; i < srv->nlocs; i++)
            if (attach_loc(&srv->locs[i], err, errlen) < 0)
                goto fail;
    }
    return 0;
fail:
    accesslog_close_all(cf);
    return -1;
}

void accesslog_each_path(const struct cf_main *cf, void (*fn)(const char *path, void *ud), void *ud)
{
    for (int s = 0; s < cf->nservers; s++) {
        const struct cf_server *srv = &cf->servers[s];
        for (int i = -1; i < srv->nlocs; i++) {
            const struct cf_loc *l = i < 0 ? srv->def_loc : &srv->locs[i];
            for (int k = 0; k < l->naccess_logs; k++)
                fn(l->access_logs[k].path, ud);
        }
    }
}

void accesslog_reopen_all(struct cf_main *cf)
{
    (void)cf;
    for (struct al_file *f = files; f; f = f->next) {
        int fd = open_log(f->path);
        if (fd < 0) {
            log_error("reopening \"%s\" failed (%d: %s), keeping the old file", f->path, errno,
                      strerror(errno));
            continue;
        }
        if (dup2(fd, f->fd) < 0)
            log_error("dup2() for \"%s\" failed (%d: %s)", f->path, errno, strerror(errno));
        close(fd);
    }
}

static void detach_loc(struct cf_loc *l)
{
    for (int i = 0; i < l->naccess_logs; i++)
        l->access_logs[i].rt = NULL;
}

void accesslog_close_all(struct cf_main *cf)
{
    for (int s = 0; s < cf->nservers; s++) {
        detach_loc(cf->servers[s].def_loc);
        for (int i = 0; i < cf->servers[s].nlocs; i++)
            detach_loc(&cf->servers[s].locs[i]);
    }
    while (files) {
        struct al_file *f = files;
        files = f->next;
        close(f->fd);
        free(f->path);
        free(f);
    }
    buf_free(&line);
}

void accesslog_write(const struct cf_loc *loc, const struct req *r)
{
    for (int i = 0; i < loc->naccess_logs; i++) {
        const struct cf_access_log *al = &loc->access_logs[i];
        const struct al_file *f = al->rt;
        if (!f)
            continue;
        buf_reset(&line);
        if (tmpl_eval_log(al->format->fmt, r, &line, al->format->escape) < 0 ||
            buf_append(&line, "\n", 1) < 0) {
            log_error("access log line for \"%s\" lost: out of memory", al->path);
            continue;
        }
        ssize_t w = write(f->fd, line.data, line.len);
        if (w != (ssize_t)line.len)
            log_error("write() to \"%s\" failed (%s)", al->path,
                      w < 0 ? strerror(errno) : "short write");
    }
}

/* The log phase: the line of the location that answered (the default
 * server's when none was chosen). */
static enum phase_rc log_phase(void *rp)
{
    struct request *q = rp;
    accesslog_write(request_loc(q), &q->r);
    return PHASE_NEXT;
}

int accesslog_phase_init(void)
{
    return phase_add(PH_LOG, log_phase);
}
