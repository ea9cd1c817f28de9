/* health: active HTTP health checks (see health.h). */
#include "health.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "sock.h"

struct probe {
    struct hc *h;
    int peer;
    struct sock *s; /* NULL when idle */
};

struct hc {
    struct event_base *base;
    struct hc_peers peers;
    struct event *timer;
    int interval_ms, timeout_ms;
    const char *uri;
    struct probe *pr;
    int n;
};

static void probe_end(struct probe *p, bool ok, const char *why)
{
    if (p->s) {
        sock_free(p->s);
        p->s = NULL;
    }
    p->h->peers.result(p->h->peers.ud, p->peer, ok, why);
}

static void on_read(struct sock *s, void *ud)
{
    struct probe *p = ud;
    struct evbuffer *in = sock_input(s);
    size_t len = 0;
    char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
    if (!line) {
        if (evbuffer_get_length(in) > 4096)
            probe_end(p, false, "status line too long");
        return;
    }
    int st = 0;
    bool ok = sscanf(line, "HTTP/%*d.%*d %d", &st) == 1 && st >= 200 && st < 400;
    char why[64];
    snprintf(why, sizeof(why), "status %d", st);
    free(line);
    probe_end(p, ok, ok ? NULL : why);
}

static void on_event(struct sock *s, short what, void *ud)
{
    struct probe *p = ud;
    (void)s;
    if (what & SOCK_CONNECTED)
        return;
    probe_end(p, false,
              what & SOCK_TIMEOUT ? "timed out"
              : what & SOCK_EOF   ? "closed before a status line"
                                  : strerror(errno));
}

static void probe_start(struct probe *p)
{
    struct hc *h = p->h;
    if (p->s) /* the last one is still running: it times out on its own */
        return;
    if (h->peers.is_down(h->peers.ud, p->peer))
        return;
    int fd = addr_connect(h->peers.addr(h->peers.ud, p->peer), NULL);
    if (fd < 0) {
        h->peers.result(h->peers.ud, p->peer, false, strerror(errno));
        return;
    }
    p->s = sock_new(h->base, fd, 0); /* closes fd when it fails */
    if (!p->s)
        return;
    struct timeval tv = {h->timeout_ms / 1000, (h->timeout_ms % 1000) * 1000};
    sock_set_timeouts(p->s, &tv, &tv);
    sock_setcb(p->s, on_read, NULL, on_event, p);
    if (evbuffer_add_printf(sock_output(p->s),
                            "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: proxy-health-check\r\n"
                            "Connection: close\r\n\r\n",
                            h->uri, h->peers.host(h->peers.ud, p->peer)) < 0 ||
        sock_enable(p->s, EV_READ | EV_WRITE) < 0)
        probe_end(p, false, "out of memory");
}

static void on_timer(evutil_socket_t fd, short what, void *ud)
{
    (void)fd, (void)what;
    struct hc *h = ud;
    for (int i = 0; i < h->n; i++)
        probe_start(&h->pr[i]);
}

struct hc *hc_start(struct event_base *base, const struct hc_peers *peers,
                    const struct cf_upstream *u, char *err, size_t errlen)
{
    struct hc *h = calloc(1, sizeof(*h));
    if (!h || !(h->pr = calloc((size_t)(u->npeers ? u->npeers : 1), sizeof(*h->pr)))) {
        free(h);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->base = base;
    h->peers = *peers;
    h->n = u->npeers;
    h->interval_ms = u->hc.interval_ms > 0 ? u->hc.interval_ms : 5000;
    h->timeout_ms = u->hc.timeout_ms > 0 ? u->hc.timeout_ms : 1000;
    h->uri = u->hc.uri && u->hc.uri[0] ? u->hc.uri : "/";
    for (int i = 0; i < h->n; i++) {
        h->pr[i].h = h;
        h->pr[i].peer = i;
    }
    h->timer = event_new(base, -1, EV_PERSIST, on_timer, h);
    struct timeval tv = {h->interval_ms / 1000, (h->interval_ms % 1000) * 1000};
    if (!h->timer || event_add(h->timer, &tv) < 0) {
        snprintf(err, errlen, "cannot start the health check timer of upstream \"%s\"", u->name);
        hc_free(h);
        return NULL;
    }
    on_timer(-1, 0, h); /* a first round at once */
    return h;
}

void hc_free(struct hc *h)
{
    if (!h)
        return;
    if (h->timer)
        event_free(h->timer);
    for (int i = 0; i < h->n; i++)
        sock_free(h->pr[i].s);
    free(h->pr);
    free(h);
}
