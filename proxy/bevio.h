/* bevio: two shortcuts around libevent's socket bufferevent on the request
 * path, each saving syscalls per request.
 *
 * - Reads: libevent's socket reader asks the kernel how many bytes are
 *   readable (ioctl FIONREAD) before every read and reads at most 4 KiB at a
 *   time.  bevio_own_reads() keeps the bufferevent as it is (enable/disable,
 *   the read watermark and the read timeout still act on its ev_read) but
 *   makes ev_read's callback ours: one recv() of up to 16 KiB into the input
 *   buffer, then the bufferevent's read callback, or its event callback with
 *   BEV_EVENT_READING | EOF, ERROR or TIMEOUT, exactly as libevent reports
 *   them (reading is disabled first, as libevent does).
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
 * - Writes: bevio_write_now() writes queued output at once instead of on
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

/* Takes over the reads of a socket bufferevent that has its fd (call it
 * again after bufferevent_setfd() or bufferevent_socket_connect(), which
 * reset ev_read).  Borrows bev. */
void bevio_own_reads(struct bufferevent *bev);
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
 * trip); true when all of it went.  Errors are left to libevent's write.
 * `no_files`: the caller knows the output never held a file segment
 * (evbuffer_add_file); then output in one extent goes out with send(), a
 * shorter way through the kernel than writev()'s VFS path.  Borrows bev. */
bool bevio_write_now(struct bufferevent *bev, bool no_files);

#endif
