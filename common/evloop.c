/* evloop: the workers' event loop (see evloop.h). */
#include "evloop.h"

#include <event2/event.h>
#include <sched.h>

int evloop_run(struct event_base *base, bool yield)
{
    if (!yield)
        return event_base_dispatch(base);
    int r;
    while ((r = event_base_loop(base, EVLOOP_ONCE)) == 0 && !event_base_got_exit(base) &&
           !event_base_got_break(base))
        sched_yield();
    return r;
}
