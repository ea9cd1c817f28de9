/* loop_until: an event loop driven by its sockets only (see loop_until.h). */
#define _GNU_SOURCE
#include "loop_until.h"

#include <event2/event.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>

/* Turns in a row with nothing moved while a socket is ready: one turn may
 * legitimately move nothing (an event that finds its output empty deletes
 * itself; a read put off to the next turn), three cannot. */
#define STALL_TURNS 3
/* Looks (with a yield of the CPU between them) at sockets none of which is
 * ready while no timer is pending, before calling it a stall: on loopback a
 * transfer completes inside the system call, except what the kernel leaves
 * to its softirq thread (a TCP window update), which a yield lets run. */
#define STALL_LOOKS 10000

struct ready {
    int fd;     /* a ready socket, -1: none */
    short what; /* what its event waits for */
    int timers; /* events with a timeout pending */
};

/* Is ev added, on a socket, and that socket ready (level) for what ev
 * waits for?  Then its report is due in the next turn.  Counts timers. */
static int find_ready(const struct event_base *b, const struct event *ev, void *ud)
{
    (void)b;
    struct ready *r = ud;
    if (event_pending(ev, EV_TIMEOUT, NULL))
        r->timers++;
    evutil_socket_t fd = event_get_fd(ev);
    short what = event_get_events(ev) & (EV_READ | EV_WRITE);
    if (fd < 0 || !what || !event_pending(ev, what, NULL))
        return 0;
    struct pollfd p = {.fd = fd};
    if (what & EV_READ)
        p.events |= POLLIN | POLLRDHUP;
    if (what & EV_WRITE)
        p.events |= POLLOUT;
    if (poll(&p, 1, 0) != 1 || !(p.revents & (p.events | POLLHUP | POLLERR)))
        return 0;
    r->fd = fd;
    r->what = what;
    return 1; /* stops the walk */
}

const char *loop_until(struct event_base *b, bool (*done)(void), unsigned long (*progress)(void))
{
    static char why[128];
    int still = 0;
    while (!done()) {
        unsigned long before = progress();
        /* one turn: what is reported now, what is active, due timers */
        int r = event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        if (done())
            return NULL;
        if (r == 1)
            return "stalled: nothing left to wait for";
        if (progress() != before) {
            still = 0;
            continue;
        }
        struct ready rd = {-1, 0, 0};
        event_base_foreach_event(b, find_ready, &rd);
        /* nothing ready and no timer: only the kernel can still move
         * something (a socket that becomes ready); else nothing will */
        for (int look = 0; rd.fd < 0 && rd.timers == 0; look++) {
            if (look == STALL_LOOKS)
                return "stalled: no socket is ready for its events and no timer is pending";
            sched_yield();
            event_base_foreach_event(b, find_ready, &rd);
        }
        if (rd.fd >= 0) {
            if (++still >= STALL_TURNS) {
                snprintf(why, sizeof(why),
                         "stalled: socket %d is ready for %s, nothing moved in %d turns", rd.fd,
                         rd.what & EV_WRITE ? "writing" : "reading", still);
                return why;
            }
            continue;
        }
        still = 0;
        /* nothing ready: wait for a timer of the code under test */
        if (event_base_loop(b, EVLOOP_ONCE) == 1 && !done())
            return "stalled: nothing left to wait for";
    }
    return NULL;
}
