/* accesslog: one line per request on the log (stderr or --logto):
 *   ADDR - [22/Nov/2026:21:14:18 +0000] "METHOD URI PROTO" STATUS BYTES DURATION_US wID
 * written with one write(2) so workers do not interleave.  Bytes in the
 * method and URI that are not printable ASCII, and '"' and '\', are written
 * as \xHH. */
#ifndef GW_ACCESSLOG_H
#define GW_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

struct gw_access {
    const char *addr;   /* client address text (borrowed) */
    const char *method; /* borrowed, method_len bytes */
    size_t method_len;
    const char *uri; /* borrowed, uri_len bytes */
    size_t uri_len;
    const char *proto; /* "HTTP/1.1", "uwsgi" */
    int status;
    uint64_t bytes;
    int64_t duration_us;
    int worker_id;
};

/* Formats the line into out (size n, NUL-terminated, ends with '\n').
 * Returns its length (truncated lines still end with '\n'). */
size_t gw_access_format(const struct gw_access *a, char *out, size_t n);
/* Formats and writes the line to fd. */
void gw_access_write(int fd, const struct gw_access *a);

#endif
