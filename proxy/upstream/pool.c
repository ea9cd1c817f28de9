/* pool: upstream connections and the idle keep-alive cache (see pool.h). */
#define _GNU_SOURCE
#include "pool.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

struct pool_slot { /* the idle connections of one upstream */
    const struct cf_upstream *up;
    struct pconn *head, *tail; /* most recently used first */
    int count;
};

static struct pool_slot *slots;
static int nslots, capslots;

static struct pool_slot *slot_for(const struct cf_upstream *up, bool create)
{
    for (int i = 0; i < nslots; i++)
        if (slots[i].up == up)
            return &slots[i];
    if (!create)
        return NULL;
    if (nslots == capslots) {
        int nc = capslots ? capslots * 2 : 8;
        struct pool_slot *ns = realloc(slots, (size_t)nc * sizeof(*ns));
        if (!ns)
            return NULL;
        /* idle connections point at their slot: fix them up */
        for (int i = 0; i < nslots; i++)
            for (struct pconn *p = ns[i].head; p; p = p->next)
                p->slot = &ns[i];
        slots = ns;
        capslots = nc;
    }
    slots[nslots] = (struct pool_slot){up, NULL, NULL, 0};
    return &slots[nslots++];
}

static void unlink_idle(struct pconn *pc)
{
    struct pool_slot *s = pc->slot;
    if (!s)
        return;
    if (pc->prev)
        pc->prev->next = pc->next;
    else
        s->head = pc->next;
    if (pc->next)
        pc->next->prev = pc->prev;
    else
        s->tail = pc->prev;
    pc->next = pc->prev = NULL;
    pc->slot = NULL;
    s->count--;
}

void pool_free(struct pconn *pc)
{
    if (!pc)
        return;
    unlink_idle(pc);
    sock_free(pc->sk);
    free(pc);
}

/* An idle connection heard something: the peer closed it, timed out, or
 * sent bytes nobody asked for.  Either way it is no longer reusable. */
static void on_idle_read(struct sock *sk, void *ud)
{
    (void)sk;
    pool_free(ud);
}

static void on_idle_event(struct sock *sk, short what, void *ud)
{
    (void)sk;
    (void)what;
    pool_free(ud);
}

struct pconn *pool_take(const struct cf_upstream *up, int peer)
{
    struct pool_slot *s = slot_for(up, false);
    if (!s)
        return NULL;
    for (struct pconn *pc = s->head; pc; pc = pc->next) {
        if (pc->peer != peer)
            continue;
        unlink_idle(pc);
        /* reading stays enabled: the new owner sets its callbacks and
         * timeouts at once (the idle keepalive_timeout is not cleared first:
         * two timer operations less) */
        sock_setcb(pc->sk, NULL, NULL, NULL, NULL);
        pc->reused = true;
        return pc;
    }
    return NULL;
}

struct pconn *pool_connect(struct event_base *base, const struct cf_upstream *up, int peer,
                           const struct addr *a)
{
    struct pconn *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return NULL;
    pc->up = up;
    pc->peer = peer;
    /* connect() here rather than waiting for writability first: a unix
     * socket connects at once (or fails: EAGAIN is a full listen queue), and
     * then the request can go out now, with no wait for writability and no
     * SO_ERROR query, which matters for uwsgi_pass's connection per request */
    int fd = addr_connect(a, &pc->ready);
    if (fd < 0)
        goto fail;
    /* level-triggered (sock.h says why upstreams are) */
    pc->sk = sock_new(base, fd, 0);
    fd = -1; /* the sock's now (closed by sock_new() on failure) */
    if (!pc->sk) {
        errno = ENOMEM;
        goto fail;
    }
    if (pc->ready) /* writing off, as for a pooled one: px_try writes at once */
        sock_disable(pc->sk, EV_WRITE);
    else if (sock_connect_wait(pc->sk) < 0) /* reports the handshake */
        goto fail;
    return pc;
fail:;
    int e = errno ? errno : ECONNREFUSED;
    if (fd >= 0)
        close(fd);
    sock_free(pc->sk);
    free(pc);
    errno = e;
    return NULL;
}

void pool_put(struct pconn *pc)
{
    const struct cf_upstream *up = pc->up;
    pc->nreq++;
    if (up->keepalive <= 0 ||
        (up->keepalive_requests > 0 && pc->nreq >= (unsigned)up->keepalive_requests) ||
        evbuffer_get_length(sock_input(pc->sk)) > 0 ||
        evbuffer_get_length(sock_output(pc->sk)) > 0) {
        pool_free(pc);
        return;
    }
    struct pool_slot *s = slot_for(up, true);
    if (!s) {
        pool_free(pc);
        return;
    }
    pc->prev = NULL;
    pc->next = s->head;
    if (s->head)
        s->head->prev = pc;
    s->head = pc;
    if (!s->tail)
        s->tail = pc;
    pc->slot = s;
    s->count++;
    sock_setcb(pc->sk, on_idle_read, NULL, on_idle_event, pc);
    int ms = up->keepalive_timeout_ms > 0 ? up->keepalive_timeout_ms : 60000;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    sock_set_timeouts_lazy(pc->sk, &tv, NULL);
    /* watermarks stay as h_proxy.c set them (an idle connection reads
     * nothing: any byte closes it); writing off, so that the next owner's
     * request does not arm the write event before it writes directly */
    sock_disable(pc->sk, EV_WRITE);
    if (!(sock_enabled(pc->sk) & EV_READ))
        sock_enable(pc->sk, EV_READ);
    while (s->count > up->keepalive)
        pool_free(s->tail);
}

void pool_free_all(void)
{
    for (int i = 0; i < nslots; i++)
        while (slots[i].head)
            pool_free(slots[i].head);
    free(slots);
    slots = NULL;
    nslots = capslots = 0;
}
