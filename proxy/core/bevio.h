/* bevio: libevent's socket bufferevent with its reader and writer replaced,
 * saving syscalls and loop turns per request.
 *
 * - Reads: libevent's socket reader asks the kernel how many bytes are
 *   readable (ioctl FIONREAD) before every read and reads at most 4 KiB at a
 *   time.  bevio_own() keeps the bufferevent as it is (enable/disable, the
 *   read watermark and the read timeout still act on its ev_read) but makes
 *   ev_read's callback ours: one recv() of up to 16 KiB into the input
 *   buffer, then the bufferevent's read callback, or its event callback with
 *   BEV_EVENT_READING | EOF, ERROR or TIMEOUT, exactly as libevent reports
 *   them (reading is disabled first, as libevent does).
 * - Writes (bevio_own() with `writes`): ev_write's callback is ours too.  It
 *   writes until the output is empty or the socket is full (EAGAIN), then
 *   acts as libevent's writer does: the write event goes when the output is
 *   empty, the write callback runs at the low watermark, and a failure
 *   disables writing and reports BEV_EVENT_WRITING | ERROR, EOF or TIMEOUT.
 * - Edge-triggered events: with both, the socket's events are EV_ET, as
 *   nginx registers its connections.  Level-triggered epoll puts every
 *   reported socket back on the ready list, to be polled again at the next
 *   epoll_wait(), where it keeps the place of its last report ahead of the
 *   sockets that became ready since: the served connections go first.  ET
 *   reports each socket once per arrival, in arrival order, and polls
 *   nothing twice.  ET reports nothing for bytes already there, so bevio
 *   keeps these rules: the reader reads on after a read that filled its
 *   whole 16 KiB (below), and the writer writes until the output is empty
 *   or the socket full and leaves its event armed whenever output is left
 *   (a full socket's wake-up is reported).  An event re-armed (enabled
 *   again, a read resumed below the high watermark, output queued while
 *   writing is enabled) is polled again by the EPOLL_CTL_ADD or _MOD that
 *   libevent's changelist makes of it, a loop turn later; bevio_enable()
 *   for writing and a resumed read "kick" it instead (event_active(): one
 *   attempt in this turn).  A read that fills its whole 16 KiB (or
 *   comes with the peer's FIN, asked for with EV_CLOSED: EPOLLRDHUP) reads
 *   on, kicked behind the turn's other events, and past a budget of reads
 *   per turn in the next turn, so that a bulk transfer takes turns with the
 *   other connections.
 *   One thing ET cannot see here: libevent 2.1's epoll backend reports
 *   EPOLLHUP/EPOLLERR as plain EV_READ|EV_WRITE, without the EV_CLOSED that
 *   EPOLLRDHUP came with, so bytes that arrive together with a reset (RST)
 *   are read and the reset is noticed only at the next write or timeout.
 *   A client's connection can take that: its reset shows when the response
 *   is written, or at the timeout of the state it waits in (and a FIN, the
 *   usual end, is seen at once).  An upstream's could not (its last bytes
 *   then a reset would leave the response waiting for proxy_read_timeout),
 *   so the proxy owns upstream connections' reads only, level-triggered.
 * - The read high watermark: libevent's own one re-adds the read event
 *   (a timer-heap operation when a read timeout is set) after every change
 *   of the input below the mark, several times per request.
 *   bevio_set_read_high() keeps the mark in the same field
 *   (bev->wm_read.high) but acts only when it is crossed: the reader stops
 *   the read event when the input reaches it, and a callback put on the
 *   input only then restarts the event (if reading is enabled) once a drain
 *   takes the input below it.
 * - Timeouts: bevio_set_timeouts() is bufferevent_set_timeouts() made lazy
 *   as nginx's timers are: an upstream connection gets the same values
 *   back and forth (pool idle, request) and each call re-added its read
 *   event, a timer-heap operation.
 * - Writes now: bevio_write_now() writes queued output at once instead of on
 *   the next loop turn.
 *
 * All reach into struct bufferevent (event2/bufferevent_struct.h, which
 * libevent 2.1 keeps public); Debian's libevent 2.1.12 is what we build on. */
#ifndef PROXY_BEVIO_H
#define PROXY_BEVIO_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct timeval;

/* Takes over the reads and, with `writes`, the writes of a socket
 * bufferevent that has its fd (not one libevent is connecting: its writer
 * completes the connect); with both its events are edge-triggered.  Call it
 * again after bufferevent_setfd(), which resets both events.  Borrows bev. */
void bevio_own(struct bufferevent *bev, bool writes);
/* bufferevent_enable(bev, what), and with EV_WRITE, when output waits,
 * the kick: the writer's attempt in this loop turn.  Borrows bev. */
void bevio_enable(struct bufferevent *bev, short what);
/* Sets the input's high watermark (0: none) of a bufferevent whose reads are
 * bevio's; the low one stays libevent's.  Never together with
 * bufferevent_setwatermark(EV_READ).  Borrows bev. */
void bevio_set_read_high(struct bufferevent *bev, size_t high);
/* bufferevent_set_timeouts() (NULL: none), except that an armed event keeps
 * its deadline when the value is the same and re-arming would move the
 * deadline by less than BEVIO_LAZY_MS (at most an eighth of the timeout):
 * as nginx's NGX_TIMER_LAZY_DELAY, a timeout may fire that much early.
 * Borrows bev. */
#define BEVIO_LAZY_MS 300
void bevio_set_timeouts(struct bufferevent *bev, const struct timeval *rt,
                        const struct timeval *wt);
/* Writes bev's output to its socket now (saves the write event's round
 * trip); true when all of it went.  On false the caller enables writing
 * (bevio_enable()): the writer sends the rest and reports errors.
 * `no_files`: the caller knows the output never held a file segment
 * (evbuffer_add_file); then output in one extent goes out with send(), a
 * shorter way through the kernel than writev()'s VFS path.  Borrows bev. */
bool bevio_write_now(struct bufferevent *bev, bool no_files);

#endif
