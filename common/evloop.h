/* evloop: the workers' event loop, shared by the proxy and the gateway.
 *
 * With `yield`, the loop runs one turn at a time (an epoll_wait and the
 * callbacks it made ready) and calls sched_yield() between turns, letting
 * whatever else is runnable on this core go first: when every core is busy
 * (workers, upstreams, the load itself), a worker that keeps its whole time
 * slice makes all its connections wait for it (bench/gateway_bench.md: p99
 * 4.8-7.3 ms without, 1.1-1.2 ms with).  With a core to itself,
 * sched_yield() returns at once. */
#ifndef COMMON_EVLOOP_H
#define COMMON_EVLOOP_H

#include <stdbool.h>

struct event_base;

/* Runs `base` until event_base_loopexit/loopbreak or no events are left;
 * returns what event_base_dispatch() would (-1 on an error). */
int evloop_run(struct event_base *base, bool yield);

#endif
