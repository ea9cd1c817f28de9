/* log: nginx-style error log (see log.h). */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"debug", "info", "notice", "warn",
                                          "error", "crit", "alert",  "emerg"};

static int log_fd_ = 2;          /* where lines go */
static char *log_path;           /* NULL when stderr */
static enum log_level log_min = LL_NOTICE;

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *log_level_name(enum log_level l)
{
    return (unsigned)l < sizeof(level_names) / sizeof(level_names[0]) ? level_names[l] : "?";
}

static int open_path(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int log_open(const char *path, enum log_level min)
{
    if (!path || strcmp(path, "stderr") == 0) {
        if (log_fd_ > 2)
            close(log_fd_);
        log_fd_ = 2;
        free(log_path);
        log_path = NULL;
        log_min = min;
        return 0;
    }
    int fd = open_path(path);
    if (fd < 0)
        return -1;
    char *copy = strdup(path);
    if (!copy) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    if (log_fd_ > 2)
        close(log_fd_);
    log_fd_ = fd;
    free(log_path);
    log_path = copy;
    log_min = min;
    return 0;
}

int log_reopen(void)
{
    if (!log_path)
        return 0;
    int fd = open_path(log_path);
    if (fd < 0)
        return -1;
    if (log_fd_ > 2)
        close(log_fd_);
    log_fd_ = fd;
    return 0;
}

int log_fd(void)
{
    return log_fd_;
}

void log_set_level(enum log_level min)
{
    log_min = min;
}

enum log_level log_get_level(void)
{
    return log_min;
}

void log_vmsg(enum log_level l, const char *fmt, va_list ap)
{
    if (l < log_min)
        return;
    int saved = errno;
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof(line), "%Y/%m/%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, " [%s] %d#0: ", log_level_name(l),
                  (int)getpid());
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(log_fd_, line, (size_t)n);
    (void)w; /* nowhere left to report a failing log write */
    errno = saved;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(l, fmt, ap);
    va_end(ap);
}
