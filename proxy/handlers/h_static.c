/* h_static: files from root/alias/index (see h_static.h). */
#define _GNU_SOURCE
#include "h_static.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"
#include "request.h"
#include "httpmethod.h"
#include "log.h"

static void http_date(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static time_t parse_http_date(const char *v, size_t len)
{
    char tmp[64];
    if (len >= sizeof(tmp))
        return -1;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *e = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!e || *e)
        return -1;
    return timegm(&tm);
}

/* Parses a single "bytes=a-b" range against size.  Returns 1 with the
 * range, 0 when the header is to be ignored (syntax, several ranges), -1
 * when unsatisfiable. */
static int parse_range(const char *v, size_t len, int64_t size, int64_t *start, int64_t *end)
{
    if (len < 7 || strncasecmp(v, "bytes=", 6) != 0)
        return 0;
    v += 6;
    len -= 6;
    if (memchr(v, ',', len))
        return 0; /* several ranges: answer the whole file */
    size_t i = 0;
    int64_t a = -1, b = -1;
    if (i < len && v[i] >= '0' && v[i] <= '9') {
        a = 0;
        while (i < len && v[i] >= '0' && v[i] <= '9') {
            if (a > (INT64_MAX - 9) / 10)
                return 0;
            a = a * 10 + (v[i++] - '0');
        }
    }
    if (i >= len || v[i] != '-')
        return 0;
    i++;
    if (i < len) {
        b = 0;
        while (i < len && v[i] >= '0' && v[i] <= '9') {
            if (b > (INT64_MAX - 9) / 10)
                return 0;
            b = b * 10 + (v[i++] - '0');
        }
        if (i != len)
            return 0;
    }
    if (a < 0) {
        /* suffix: the last b bytes */
        if (b <= 0)
            return b == 0 ? -1 : 0;
        *start = b >= size ? 0 : size - b;
        *end = size - 1;
    } else {
        if (b >= 0 && b < a)
            return 0;
        if (a >= size)
            return -1;
        *start = a;
        *end = (b < 0 || b >= size) ? size - 1 : b;
    }
    return size > 0 ? 1 : -1;
}

static int open_errno_status(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:
        return 404;
    case EACCES:
    case EPERM:
        return 403;
    default:
        return 500;
    }
}

static void send_file(struct request *q, int fd, const struct stat *stb, const char *path)
{
    struct req *r = &q->r;
    char lm[64], etag[64];
    http_date(stb->st_mtime, lm, sizeof(lm));
    int el = snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)stb->st_mtime,
                      (unsigned long long)stb->st_size);
    /* types { } or the built-in mime.types, then default_type (conf.h) */
    const char *ctype = conf_mime_type(r->loc, path);
    int64_t size = stb->st_size;

    const struct req_header *inm = req_find_header(r, "If-None-Match", 13);
    const struct req_header *ims = req_find_header(r, "If-Modified-Since", 17);
    bool not_modified = false;
    if (inm)
        not_modified =
            (inm->value_len == (size_t)el && memcmp(inm->value, etag, (size_t)el) == 0) ||
            (inm->value_len == 1 && inm->value[0] == '*');
    else if (ims)
        not_modified = parse_http_date(ims->value, ims->value_len) == stb->st_mtime;
    if (not_modified) {
        close(fd);
        request_head_begin(q, 304, NULL, 0);
        request_head_add(q, "Last-Modified", 13, lm, strlen(lm));
        request_head_add(q, "ETag", 4, etag, (size_t)el);
        request_head_end(q, -1, false);
        request_done(q);
        return;
    }

    int64_t start = 0, end = size - 1;
    int status = 200;
    const struct req_header *rh = req_find_header(r, "Range", 5);
    const struct req_header *ifr = req_find_header(r, "If-Range", 8);
    if (rh &&
        (!ifr || (ifr->value_len == (size_t)el && memcmp(ifr->value, etag, (size_t)el) == 0) ||
         parse_http_date(ifr->value, ifr->value_len) == stb->st_mtime)) {
        int pr = parse_range(rh->value, rh->value_len, size, &start, &end);
        if (pr < 0) {
            close(fd);
            char cr[64];
            int n = snprintf(cr, sizeof(cr), "bytes */%lld", (long long)size);
            static const char body[] = "<html>\r\n<head><title>416 Requested Range Not "
                                       "Satisfiable</title></head>\r\n<body>\r\n<center><h1>416 "
                                       "Requested Range Not Satisfiable</h1></center>\r\n</body>"
                                       "\r\n</html>\r\n";
            request_head_begin(q, 416, NULL, 0);
            request_head_add(q, "Content-Type", 12, "text/html", 9);
            request_head_add(q, "Content-Range", 13, cr, (size_t)n);
            request_head_end(q, (int64_t)sizeof(body) - 1, false);
            if (!request_is_head(q))
                request_body_add(q, body, sizeof(body) - 1);
            request_done(q);
            return;
        }
        if (pr > 0)
            status = 206;
    }
    int64_t len = size > 0 ? end - start + 1 : 0;
    request_head_begin(q, status, NULL, 0);
    request_head_add(q, "Content-Type", 12, ctype, strlen(ctype));
    request_head_add(q, "Last-Modified", 13, lm, strlen(lm));
    request_head_add(q, "ETag", 4, etag, (size_t)el);
    request_head_add(q, "Accept-Ranges", 13, "bytes", 5);
    if (status == 206) {
        char cr[96];
        int n = snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", (long long)start, (long long)end,
                         (long long)size);
        request_head_add(q, "Content-Range", 13, cr, (size_t)n);
    }
    request_head_end(q, len, false);
    bool head = request_is_head(q);
    if (head || len == 0) {
        close(fd);
    } else if (request_body_file(q, fd, start, len) < 0) {
        log_error("sending \"%s\" failed", path);
        request_close(q);
        return;
    }
    request_done(q);
}

static void static_start(struct request *q)
{
    if (!request_body_discard(q))
        return;
    struct req *r = &q->r;
    const struct cf_loc *loc = r->loc;
    bool head = request_is_head(q);
    bool get = http_method_is(r->method.p, r->method.len, "GET");
    if (!get && !head) {
        request_fail(q, 405);
        return;
    }
    struct buf path = BUF_INIT;
    int rc = 0;
    if (loc->alias) {
        size_t skip = loc->path_len < r->uri.len ? loc->path_len : r->uri.len;
        rc |= buf_puts(&path, loc->alias);
        rc |= buf_append(&path, r->uri.p + skip, r->uri.len - skip);
    } else {
        rc |= buf_puts(&path, loc->root ? loc->root : "html");
        rc |= buf_append(&path, r->uri.p, r->uri.len);
    }
    if (rc < 0) {
        buf_free(&path);
        request_fail(q, 500);
        return;
    }
    size_t base_len = path.len;
    int fd = -1;
    if (r->uri.len && r->uri.p[r->uri.len - 1] == '/') {
        /* a directory: its first existing index file */
        for (int i = 0; i < loc->nindex && fd < 0; i++) {
            path.len = base_len;
            if (buf_puts(&path, loc->index[i]) < 0)
                break;
            fd = open(buf_cstr(&path), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0 && errno != ENOENT) {
                int st = open_errno_status(errno);
                buf_free(&path);
                request_fail(q, st);
                return;
            }
        }
        if (fd < 0) {
            path.len = base_len;
            struct stat sd;
            int st = stat(buf_cstr(&path), &sd) == 0 && S_ISDIR(sd.st_mode) ? 403 : 404;
            buf_free(&path);
            request_fail(q, st);
            return;
        }
    } else {
        fd = open(buf_cstr(&path), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            int st = open_errno_status(errno);
            if (st == 500)
                log_error("open(\"%s\"): %s", buf_cstr(&path), strerror(errno));
            buf_free(&path);
            request_fail(q, st);
            return;
        }
    }
    struct stat stb;
    if (fstat(fd, &stb) < 0) {
        log_error("fstat(\"%s\"): %s", buf_cstr(&path), strerror(errno));
        close(fd);
        buf_free(&path);
        request_fail(q, 500);
        return;
    }
    if (S_ISDIR(stb.st_mode)) {
        close(fd);
        buf_free(&path);
        struct buf loc_url = BUF_INIT;
        if (buf_append(&loc_url, r->uri.p, r->uri.len) < 0 || buf_puts(&loc_url, "/") < 0 ||
            (r->args.len &&
             (buf_puts(&loc_url, "?") < 0 || buf_append(&loc_url, r->args.p, r->args.len) < 0))) {
            buf_free(&loc_url);
            request_fail(q, 500);
            return;
        }
        static const char page[] =
            "<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
            "<center><h1>301 Moved Permanently</h1></center>\r\n</body>\r\n</html>\r\n";
        request_send_simple(q, 301, "text/html", page, sizeof(page) - 1, buf_cstr(&loc_url));
        buf_free(&loc_url);
        return;
    }
    if (!S_ISREG(stb.st_mode)) {
        close(fd);
        buf_free(&path);
        request_fail(q, 404);
        return;
    }
    send_file(q, fd, &stb, buf_cstr(&path));
    buf_free(&path);
}

static const struct h_ops static_ops = {
    .name = "static",
    .start = static_start,
};

int h_static_init(void)
{
    return h_register(&static_ops);
}
