/* fuzz_uwsgi_head: the head a uwsgi gateway answers with, as the proxy
 * reads it (proxy/handlers/h_proxy.c): a head that does not start with
 * "HTTP/" is a CGI head ("Status: 404 Not Found" instead of a status
 * line), rewritten by uwsgi_cgi_head (h_uwsgi.c) into an HTTP/1.0 head,
 * then parsed by http_parse_response.
 *
 * Invariants beyond "no crash":
 *  - the rewritten head is a status line followed by the input's bytes;
 *  - when it parses, its status is the last Status field's three digits,
 *    or 200 without one, and its version 1.0;
 *  - a Status field whose value does not start with a status of three
 *    digits makes the head invalid (502, as nginx), never some other
 *    status. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fuzz_check.h"
#include "h_uwsgi.h"
#include "http.h"
#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The status the head's last Status field gives: 200 without one, -1 when
 * the value of one (after spaces) does not start with a status of three
 * digits, 100 to 599. */
static int expected_status(const char *p, size_t len)
{
    int status = 200;
    const char *s = p, *end = p + len;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e)
            break;
        if ((size_t)(e - s) > 7 && strncasecmp(s, "Status:", 7) == 0) {
            const char *v = s + 7;
            while (v < e && *v == ' ')
                v++;
            if (e - v >= 3 && v[0] >= '1' && v[0] <= '5' && v[1] >= '0' && v[1] <= '9' &&
                v[2] >= '0' && v[2] <= '9')
                status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
            else
                return -1;
        }
        s = e + 1;
    }
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct http1_limits lim = {65536, 65536, HTTP_MAX_HEADERS};
    size_t skip = 0, hl = 0;
    if (http1_find_head((const char *)data, size, &lim, &skip, &hl) != 1)
        return 0;
    const char *p = (const char *)data + skip;
    if (hl >= 5 && memcmp(p, "HTTP/", 5) == 0)
        return 0; /* a status line: fuzz_response's */
    struct buf out = {0};
    int rc = uwsgi_cgi_head(p, hl, &out);
    FUZZ_CHECK(rc == 0 || rc == -2);
    if (rc == 0) {
        FUZZ_CHECK(out.len > hl && memcmp(out.data, "HTTP/1.0 ", 9) == 0);
        FUZZ_CHECK(memcmp(out.data + out.len - hl, p, hl) == 0);
        FUZZ_CHECK(memcmp(out.data + out.len - hl - 2, "\r\n", 2) == 0);
        struct http_resp rp;
        http_resp_init(&rp);
        if (http_parse_response(&rp, out.data, out.len) == 0) {
            int want = expected_status(p, hl);
            if (want != rp.status)
                fprintf(stderr, "status %d, the head says %d\n", rp.status, want);
            FUZZ_CHECK(rp.status == want);
            FUZZ_CHECK(rp.http_major == 1 && rp.http_minor == 0);
        }
        http_resp_free(&rp);
    } else {
        FUZZ_CHECK(expected_status(p, hl) == -1);
    }
    buf_free(&out);
    return 0;
}
