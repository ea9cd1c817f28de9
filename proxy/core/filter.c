/* filter: the chain engine (see filter.h).  The chain is a static array
 * filled at init; passing a piece down is an index walk with one indirect
 * call per filter, never per byte. */
#include "filter.h"

#include <stddef.h>

#include "log.h"

static struct {
    const char *name;
    f_header_fn header;
    f_body_fn body;
    f_end_fn end;
} chain[FILTER_MAX];
static int nchain;
static f_sink_fn sink;

int filter_add(const char *name, f_header_fn header, f_body_fn body, f_end_fn end)
{
    for (int i = 0; i < nchain; i++)
        if (chain[i].header == header && chain[i].body == body && chain[i].end == end)
            return 0; /* registered already: a module initialised twice */
    if (nchain >= FILTER_MAX)
        return -1;
    chain[nchain].name = name;
    chain[nchain].header = header;
    chain[nchain].body = body;
    chain[nchain].end = end;
    nchain++;
    return 0;
}

void filter_set_sink(f_sink_fn fn)
{
    sink = fn;
}

void filter_reset(void)
{
    nchain = 0;
    sink = NULL;
}

int filter_count(void)
{
    return nchain;
}

int filter_header_run(struct request *q)
{
    for (int i = 0; i < nchain; i++)
        if (chain[i].header && chain[i].header(q) < 0) {
            log_error("header filter \"%s\" failed; the response goes on without the fields "
                      "of the filters after it",
                      chain[i].name);
            return -1;
        }
    return 0;
}

int filter_body_pass(struct request *q, const struct f_piece *pc, int from)
{
    for (int i = from; i < nchain; i++)
        if (chain[i].body)
            return chain[i].body(q, pc, i);
    return sink ? sink(q, pc) : -1;
}

int filter_end_pass(struct request *q, int from)
{
    for (int i = from; i < nchain; i++)
        if (chain[i].end)
            return chain[i].end(q, i);
    return 0;
}
