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
 * - Writes: bevio_write_now() writes queued output at once instead of on
 *   the next loop turn.
 *
 * Both reach into struct bufferevent (event2/bufferevent_struct.h, which
 * libevent 2.1 keeps public); Debian's libevent 2.1.12 is what we build on. */
#ifndef PROXY_BEVIO_H
#define PROXY_BEVIO_H

#include <stdbool.h>

struct bufferevent;

/* Takes over the reads of a socket bufferevent that has its fd (call it
 * again after bufferevent_setfd() or bufferevent_socket_connect(), which
 * reset ev_read).  Borrows bev. */
void bevio_own_reads(struct bufferevent *bev);
/* Writes bev's output to its socket now (saves the write event's round
 * trip); true when all of it went.  Errors are left to libevent's write. */
bool bevio_write_now(struct bufferevent *bev);

#endif
