/* accesslog: request log lines (see accesslog.h). */
#include "gw_accesslog.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static size_t put_escaped(char *out, size_t o, size_t n, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len && o + 5 < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        } else
            out[o++] = (char)ch;
    }
    return o;
}

size_t gw_access_format(const struct gw_access *a, char *out, size_t n)
{
    static char date[40];
    static time_t last;
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%d/%b/%Y:%H:%M:%S +0000", &tm);
        last = now;
    }
    int w = snprintf(out, n, "%s - [%s] \"", a->addr && *a->addr ? a->addr : "-", date);
    size_t o = w < 0 ? 0 : (size_t)w >= n ? n - 1 : (size_t)w;
    o = put_escaped(out, o, n, a->method, a->method_len);
    if (o + 1 < n)
        out[o++] = ' ';
    o = put_escaped(out, o, n, a->uri, a->uri_len);
    if (o < n) {
        w = snprintf(out + o, n - o, " %s\" %d %llu %lld w%d\n", a->proto, a->status,
                     (unsigned long long)a->bytes, (long long)a->duration_us, a->worker_id);
        o = w < 0 ? o : o + (size_t)w >= n ? n - 1 : o + (size_t)w;
    }
    if (o > n - 1)
        o = n - 1;
    if (o == 0 || out[o - 1] != '\n') {
        if (o == n - 1)
            out[o - 1] = '\n';
        else
            out[o++] = '\n';
    }
    out[o] = '\0';
    return o;
}

void gw_access_write(int fd, const struct gw_access *a)
{
    char line[1024];
    size_t n = gw_access_format(a, line, sizeof(line));
    ssize_t rc = write(fd, line, n);
    (void)rc; /* a full log disk must not take the request down */
}
