/* handoff: passing idle connections between workers (see gw_handoff.h). */
#include "gw_handoff.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int gw_handoff_pair(int fds[2])
{
    return socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
}

int gw_handoff_send(int fd, int conn_fd, const struct gw_handoff_msg *m)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = {(void *)m, sizeof(*m)};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &conn_fd, sizeof(int));
    for (;;) {
        ssize_t n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == (ssize_t)sizeof(*m))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n >= 0)
            errno = EMSGSIZE;
        return -1;
    }
}

int gw_handoff_recv(int fd, int *conn_fd, struct gw_handoff_msg *m)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {m, sizeof(*m)};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    ssize_t n;
    do
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    int got = -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(&got, CMSG_DATA(cm), sizeof(int));
    if (got < 0 || n != (ssize_t)sizeof(*m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        if (got >= 0)
            close(got);
        errno = EPROTO;
        return -1;
    }
    *conn_fd = got;
    return 0;
}

/* The watch: shared between the main thread and the watchdog, under lock. */
static struct {
    pthread_mutex_t lock;
    bool started;
    bool running;     /* the app is running (main thread between begin and end) */
    uint64_t seq;     /* requests begun */
    uint64_t done;    /* seq of the last request fn() finished with */
    int64_t start_ms; /* when the current request began (monotonic) */
    int after_ms;
    gw_watch_fn fn;
    void *arg;
} Wt = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps half the threshold without the lock, then takes it: while the main
 * thread is on its event loop (it holds the lock) this waits there without
 * spinning, and wakes when the next request begins. */
static void *watchdog(void *unused)
{
    (void)unused;
    int period = Wt.after_ms / 2 > 0 ? Wt.after_ms / 2 : 1;
    struct timespec ts = {period / 1000, (long)(period % 1000) * 1000000};
    pthread_mutex_lock(&Wt.lock);
    for (;;) {
        pthread_mutex_unlock(&Wt.lock);
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&Wt.lock);
        if (Wt.running && Wt.done != Wt.seq && mono_ms() - Wt.start_ms >= Wt.after_ms &&
            Wt.fn(Wt.arg))
            Wt.done = Wt.seq;
    }
    return NULL;
}

int gw_watch_start(int after_ms, gw_watch_fn fn, void *arg)
{
    Wt.after_ms = after_ms;
    Wt.fn = fn;
    Wt.arg = arg;
    pthread_mutex_lock(&Wt.lock);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t at;
    int rc = pthread_attr_init(&at);
    if (rc == 0) {
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 64 * 1024);
        rc = pthread_create(&t, &at, watchdog, NULL);
        pthread_attr_destroy(&at);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_unlock(&Wt.lock);
        errno = rc;
        return -1;
    }
    Wt.started = true;
    return 0;
}

void gw_watch_app_begin(void)
{
    if (!Wt.started)
        return;
    Wt.seq++;
    Wt.running = true;
    Wt.start_ms = mono_ms();
    pthread_mutex_unlock(&Wt.lock);
}

void gw_watch_app_end(void)
{
    if (!Wt.started)
        return;
    pthread_mutex_lock(&Wt.lock);
    Wt.running = false;
}
