/* sock: a connection's socket and its transport, owned outright: the fd, an
 * input and an output evbuffer, a read and a write event, and callbacks for
 * "input arrived", "output drained" and "something happened" (EOF, error,
 * timeout, connected).  It replaces libevent's socket bufferevent (whose reader
 * and writer could be changed only through libevent's internal struct) with
 * the rules below, so that nothing depends on the layout of one
 * libevent release.
 *
 * - Transport: the bytes go through a small table of functions (struct
 *   sock_io: recv, send, write from an evbuffer, shutdown).  Plain sockets
 *   use sock_plain; a TLS transport fills the same table.
 * - Reads: one recv() of up to 16 KiB into the input, then the read
 *   callback; or the event callback with SOCK_READING | SOCK_EOF, SOCK_ERROR
 *   or SOCK_TIMEOUT (reading is disabled first).  Reading is 16 KiB at a
 *   time, with no FIONREAD query first (libevent's reader asks the kernel
 *   before every read and reads at most 4 KiB).
 * - Writes: the writer writes until the output is empty or the socket full
 *   (EAGAIN); the write event goes when the output is empty, the write
 *   callback runs at the low watermark, and a failure disables writing and
 *   reports SOCK_WRITING | SOCK_ERROR, SOCK_EOF or SOCK_TIMEOUT.
 * - Edge-triggered (SOCK_EDGE: client connections, as nginx registers
 *   them).  Level-triggered epoll puts every reported socket back on the
 *   ready list to be polled again at the next epoll_wait(), where it keeps
 *   the place of its last report ahead of the sockets that became ready
 *   since: the served connections go first.  ET reports each socket once per
 *   arrival, in arrival order, and polls nothing twice.  ET reports nothing
 *   for bytes already there, so:
 *   - a read that filled its whole 16 KiB reads on, and so does a short
 *     read that came with the peer's FIN (asked for with EV_CLOSED:
 *     EPOLLRDHUP; one report may bring the last bytes and the FIN).  The
 *     read-on is a kick (event_active) behind the turn's other events while
 *     the turn's budget of reads lasts, else in the next turn, after its
 *     epoll_wait() and timers, so that a bulk transfer takes turns with the
 *     other connections;
 *   - the writer writes until the output is empty or the socket full and
 *     leaves its event armed whenever output is left (a full socket's
 *     wake-up is reported);
 *   - an event re-armed (enabled again, a read resumed below the high
 *     watermark, output queued while writing is enabled) would be polled by
 *     the EPOLL_CTL_ADD or _MOD that libevent's changelist makes of it, a
 *     loop turn later; sock_enable() for writing and a resumed read kick it
 *     instead (one attempt in this turn).
 *   libevent 2.1's epoll backend reports EPOLLHUP/EPOLLERR as plain
 *   EV_READ|EV_WRITE without EV_CLOSED, so bytes that arrive together with a
 *   reset are read and the reset is noticed at the next write or timeout.  A
 *   client's connection can take that (its reset shows when the response is
 *   written, or at the timeout of the state it waits in); an upstream's
 *   could not (its last bytes then a reset would leave the response waiting
 *   for proxy_read_timeout), so upstream connections stay level-triggered.
 * - The read high watermark acts only when crossed: the reader stops the
 *   read event when the input reaches it, and a callback put on the input
 *   only then restarts it (if reading is enabled) once a drain takes the
 *   input below it.  (libevent's re-adds the read event, a timer-heap
 *   operation with a read timeout, at every change below the mark.)
 * - Timeouts: per direction, restarted by every report of the event, as
 *   bufferevent_set_timeouts().  sock_set_timeouts_lazy() leaves an armed
 *   event alone when the value is the same and the deadline would move by
 *   little, as nginx's timers are lazy.
 * - sock_write_now() writes queued output at once instead of on the next
 *   loop turn.
 *
 * Ownership: a sock owns its fd (closed by sock_free()), its evbuffers and
 * its events.  Callbacks may call sock_free() on their own sock: the memory
 * goes when the callback returns.  Single-threaded (one worker, one loop).
 *
 * Porting from bufferevents (old call -> new call):
 *   bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)
 *                                    -> sock_new(base, fd, 0 or SOCK_EDGE)
 *       (new: reading off, writing on, as bufferevent_socket_new())
 *   bufferevent_socket_connect(bev, NULL, 0) -> sock_connect_wait(s)
 *   bufferevent_free(bev)            -> sock_free(s)
 *   bufferevent_setcb(bev, r, w, e, ud) -> sock_setcb(s, r, w, e, ud)
 *       (callbacks take struct sock *; what: SOCK_* = BEV_EVENT_* values)
 *   bufferevent_get_input/_output(bev) -> sock_input/sock_output(s)
 *   bufferevent_getfd(bev)           -> sock_fd(s)
 *   bufferevent_enable(bev, what)    -> sock_enable(s, what) (EV_READ/EV_WRITE)
 *   bufferevent_disable(bev, what)   -> sock_disable(s, what)
 *   bufferevent_get_enabled(bev)     -> sock_enabled(s)
 *   bufferevent_set_timeouts(bev, rt, wt) -> sock_set_timeouts(s, rt, wt)
 *       (lazy: sock_set_timeouts_lazy(s, rt, wt))
 *   bufferevent_setwatermark(bev, EV_READ, 0, n) -> sock_set_read_high(s, n)
 *   bufferevent_setwatermark(bev, EV_WRITE, low, 0) -> sock_set_write_low(s, low)
 *   shutdown(bufferevent_getfd(bev), SHUT_WR) -> sock_shutdown(s)
 *   BEV_EVENT_READING/WRITING/EOF/ERROR/TIMEOUT/CONNECTED
 *                                    -> SOCK_READING/... (same bits)
 *   EVUTIL_SOCKET_ERROR() in the event callback: errno, as before. */
#ifndef PROXY_SOCK_H
#define PROXY_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct evbuffer;
struct sock;
struct timeval;

/* What the event callback reports (the values of libevent's BEV_EVENT_*). */
#define SOCK_READING   0x01
#define SOCK_WRITING   0x02
#define SOCK_EOF       0x10
#define SOCK_ERROR     0x20
#define SOCK_TIMEOUT   0x40
#define SOCK_CONNECTED 0x80

/* sock_new() flags */
#define SOCK_EDGE 0x01 /* edge-triggered reads and writes (client connections) */

/* Most bytes one read takes. */
#define SOCK_READ_MAX (16 * 1024)
/* Kicked read-ons per loop turn, for all socks, before the rest waits a turn. */
#define SOCK_TURN_READS 16
/* sock_set_timeouts_lazy(): most an armed deadline may be off (also at most
 * an eighth of the timeout), as nginx's NGX_TIMER_LAZY_DELAY. */
#define SOCK_LAZY_MS 300

typedef void (*sock_data_cb)(struct sock *s, void *ud);
typedef void (*sock_event_cb)(struct sock *s, short what, void *ud);

/* The transport: how bytes cross the socket.  Each returns what the system
 * call it stands for returns (errno set on -1; EAGAIN: try when the socket
 * is ready again). */
struct sock_io {
    /* reads at most len bytes into buf; 0 at the peer's end */
    ssize_t (*recv)(struct sock *s, void *buf, size_t len);
    /* writes len bytes of buf (one extent) */
    ssize_t (*send)(struct sock *s, const void *buf, size_t len);
    /* writes from the start of out and drains what went: several extents,
     * file segments (evbuffer_add_file) */
    int (*write)(struct sock *s, struct evbuffer *out);
    /* no more writes (FIN after the output) */
    int (*shutdown)(struct sock *s);
};

/* A plain socket: recv(), send(MSG_NOSIGNAL), evbuffer_write() (writev,
 * sendfile), shutdown(SHUT_WR). */
extern const struct sock_io sock_plain;

/* A sock on connected (or connecting, see sock_connect_wait()) non-blocking
 * socket fd, in base: reading off, writing on (armed once output waits), no
 * timeouts, no watermarks, the plain transport.  Takes fd (closed by
 * sock_free(), and here on failure).  NULL when out of memory.  Borrows
 * base. */
struct sock *sock_new(struct event_base *base, int fd, int flags);
/* The connect() of the fd is in progress: the write event waits for it and
 * reports SOCK_CONNECTED (then writes what is queued) or SOCK_ERROR (errno:
 * the connect's error).  0, or -1 when the event cannot be armed. */
int sock_connect_wait(struct sock *s);
/* Closes the fd, frees the buffers (and what they hold) and s.  From inside
 * one of s's callbacks, s stays valid (and silent) until it returns.
 * Takes s; NULL is fine. */
void sock_free(struct sock *s);
/* Sets the callbacks (each may be NULL) and their argument.  Borrows ud. */
void sock_setcb(struct sock *s, sock_data_cb readcb, sock_data_cb writecb, sock_event_cb eventcb,
                void *ud);
/* Replaces the transport (a TLS one, set up on s's fd).  Borrows io: it
 * must outlive s. */
void sock_set_io(struct sock *s, const struct sock_io *io);

/* s's buffers (owned by s) and fd (-1 once closed). */
struct evbuffer *sock_input(const struct sock *s);
struct evbuffer *sock_output(const struct sock *s);
int sock_fd(const struct sock *s);

/* Turns reading and/or writing (EV_READ, EV_WRITE) on; writing with output
 * waiting on an edge-triggered sock kicks the writer (one attempt in this
 * turn).  0, or -1 when an event cannot be armed. */
int sock_enable(struct sock *s, short what);
/* Turns them off (their events and timeouts go).  0. */
int sock_disable(struct sock *s, short what);
/* EV_READ | EV_WRITE as enabled. */
short sock_enabled(const struct sock *s);

/* Read and write timeouts (NULL: none), restarted by every report of the
 * event; an armed event takes the new value now.  Borrows rt, wt. */
void sock_set_timeouts(struct sock *s, const struct timeval *rt, const struct timeval *wt);
/* sock_set_timeouts(), except that an armed event keeps its deadline when
 * the value is the same and re-arming would move it by less than
 * SOCK_LAZY_MS (at most an eighth of the timeout): a timeout may then fire
 * that much early.  Borrows rt, wt. */
void sock_set_timeouts_lazy(struct sock *s, const struct timeval *rt, const struct timeval *wt);
/* The input's high watermark (0: none): reading stops when the input
 * reaches it and resumes when a drain takes it below. */
void sock_set_read_high(struct sock *s, size_t high);
/* The write callback runs when a write leaves at most `low` bytes queued
 * (0: when the output is empty). */
void sock_set_write_low(struct sock *s, size_t low);

/* Writes the output now (saves the write event's round trip); true when
 * all of it went.  On false the caller enables writing (sock_enable()):
 * the writer sends the rest and reports errors.  `no_files`: the output
 * holds no file segment, so output in one extent goes with io->send(), a
 * shorter way through the kernel than writev()'s VFS path. */
bool sock_write_now(struct sock *s, bool no_files);
/* io->shutdown(): the peer reads an end after what was written.  0, or -1
 * with errno. */
int sock_shutdown(struct sock *s);

#endif
