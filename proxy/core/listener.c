/* listener: the master's listen sockets (see listener.h). */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"

struct lsock {
    struct addr addr;
    bool reuseport;
    int *fds; /* one, or one per worker with reuseport */
    int nfds;
    bool used;  /* by the last successful listener_open_all() */
    bool fresh; /* opened by the call in progress */
};

static struct lsock *socks;
static int nsocks;

static void close_sock(struct lsock *s, int from)
{
    for (int i = from; i < s->nfds; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    if (from == 0 && addr_is_unix(&s->addr)) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)&s->addr.ss;
        if (un->sun_path[0])
            unlink(un->sun_path);
    }
    s->nfds = from;
}

static void drop(int i)
{
    close_sock(&socks[i], 0);
    free(socks[i].fds);
    socks[i] = socks[--nsocks];
}

/* `listen ... deferred`: the kernel hands a connection over once its first
 * data arrived, as nginx sets it (TCP_DEFER_ACCEPT, 1 s), and takes it off
 * again on a reload without it.  A failure is logged and ignored, as nginx
 * does. */
static void set_deferred(const struct lsock *k, const struct cf_listen *ls)
{
    if (addr_is_unix(&k->addr))
        return;
    int v = ls->deferred ? 1 : 0;
    for (int i = 0; i < k->nfds; i++)
        if (setsockopt(k->fds[i], IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v)) < 0)
            log_warn("setsockopt(TCP_DEFER_ACCEPT, %d) for %s:%d failed, ignored: %s", v,
                     ls->where.file, ls->where.line, strerror(errno));
}

int listener_open_all(struct cf_main *cf, int nworkers, char *err, size_t errlen)
{
    int old_n = nsocks;
    int *old_nfds = calloc((size_t)(nsocks ? nsocks : 1), sizeof(int));
    bool *old_used = calloc((size_t)(nsocks ? nsocks : 1), sizeof(bool));
    if (!old_nfds || !old_used) {
        free(old_nfds);
        free(old_used);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < nsocks; i++) {
        old_nfds[i] = socks[i].nfds;
        old_used[i] = socks[i].used;
        socks[i].used = false;
        socks[i].fresh = false;
    }
    for (int s = 0; s < cf->nservers; s++) {
        for (int l = 0; l < cf->servers[s].nlistens; l++) {
            struct cf_listen *ls = &cf->servers[s].listens[l];
            struct lsock *k = NULL;
            for (int i = 0; i < nsocks && !k; i++)
                if (addr_equal(&socks[i].addr, &ls->addr) &&
                    (socks[i].reuseport == ls->reuseport || socks[i].used))
                    k = &socks[i];
            if (!k) {
                struct lsock *p = realloc(socks, (size_t)(nsocks + 1) * sizeof(*p));
                if (!p)
                    goto oom;
                socks = p;
                k = &socks[nsocks++];
                memset(k, 0, sizeof(*k));
                k->addr = ls->addr;
                k->reuseport = ls->reuseport;
                k->fresh = true;
            }
            k->used = true;
            int want = k->reuseport ? nworkers : 1;
            if (k->nfds < want) {
                int *f = realloc(k->fds, (size_t)want * sizeof(int));
                if (!f)
                    goto oom;
                k->fds = f;
                while (k->nfds < want) {
                    char e[256];
                    int fd = addr_listen(&k->addr, ls->backlog, k->reuseport ? ADDR_REUSEPORT : 0,
                                         e, sizeof(e));
                    if (fd < 0) {
                        snprintf(err, errlen, "%s:%d: %s", ls->where.file, ls->where.line, e);
                        goto fail;
                    }
                    k->fds[k->nfds++] = fd;
                }
            }
            ls->fd = k->fds[0];
            set_deferred(k, ls);
            if (!k->fresh) /* kept from the last configuration: its backlog= now */
                for (int i = 0; i < k->nfds; i++)
                    if (listen(k->fds[i], ls->backlog) < 0)
                        log_warn("listen() for %s:%d failed, ignored: %s", ls->where.file,
                                 ls->where.line, strerror(errno));
        }
    }
    free(old_nfds);
    free(old_used);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    for (int i = nsocks - 1; i >= 0; i--) {
        if (socks[i].fresh || i >= old_n) {
            drop(i);
            continue;
        }
        close_sock(&socks[i], old_nfds[i]); /* extra reuseport sockets of this call */
        socks[i].used = old_used[i];
    }
    free(old_nfds);
    free(old_used);
    for (int s = 0; s < cf->nservers; s++)
        for (int l = 0; l < cf->servers[s].nlistens; l++)
            cf->servers[s].listens[l].fd = -1;
    return -1;
}

void listener_for_worker(struct cf_main *cf, int index)
{
    for (int s = 0; s < cf->nservers; s++)
        for (int l = 0; l < cf->servers[s].nlistens; l++) {
            struct cf_listen *ls = &cf->servers[s].listens[l];
            for (int i = 0; i < nsocks; i++) {
                struct lsock *k = &socks[i];
                if (!k->used || !k->reuseport || k->fds[0] != ls->fd)
                    continue;
                if (index < k->nfds)
                    ls->fd = k->fds[index];
            }
        }
    /* sockets of other workers and of old configurations are not ours */
    for (int i = 0; i < nsocks; i++) {
        struct lsock *k = &socks[i];
        for (int j = 0; j < k->nfds; j++) {
            bool mine = k->used && (!k->reuseport || j == index);
            if (!mine && k->fds[j] >= 0) {
                close(k->fds[j]);
                k->fds[j] = -1;
            }
        }
    }
}

void listener_close_unused(void)
{
    for (int i = nsocks - 1; i >= 0; i--)
        if (!socks[i].used)
            drop(i);
}

void listener_close_all(void)
{
    while (nsocks)
        drop(nsocks - 1);
    free(socks);
    socks = NULL;
}
