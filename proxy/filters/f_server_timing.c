/* f_server_timing: the Server-Timing field (see f_server_timing.h). */
#include "f_server_timing.h"

#include "filter.h"
#include "request.h"

static int server_timing_header(struct request *q)
{
    if (!request_loc(q)->server_timing)
        return 0;
    char st[256];
    size_t n = timing_format(&q->tm, timing_now(), st, sizeof(st));
    request_filter_head_add(q, "Server-Timing", 13, st, n);
    return 0;
}

int f_server_timing_init(void)
{
    return filter_add("server_timing", server_timing_header, NULL, NULL);
}
