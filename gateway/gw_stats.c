/* stats: the JSON statistics document (see stats.h). */
#include "gw_stats.h"

#include <jansson.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <string.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_version.h"

/* A listening unix socket's accept queue, asked of the kernel through
 * sock_diag (what `ss -xl` shows as Recv-Q).  -1 when unknown. */
static int unix_listen_queue(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req req;
    } msg;
    memset(&msg, 0, sizeof(msg));
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST;
    msg.req.sdiag_family = AF_UNIX;
    msg.req.udiag_states = 1u << 10; /* TCP_LISTEN */
    msg.req.udiag_ino = (unsigned)st.st_ino;
    msg.req.udiag_show = UDIAG_SHOW_RQLEN;
    msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u; /* no cookie */
    int queue = -1;
    struct timeval tv = {0, 200000};
    setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send(nl, &msg, sizeof(msg), 0) == (ssize_t)sizeof(msg)) {
        long buf[1024];
        ssize_t n = recv(nl, buf, sizeof(buf), 0);
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        if (n > 0 && NLMSG_OK(h, (size_t)n) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            struct unix_diag_msg *m = NLMSG_DATA(h);
            struct rtattr *a = (struct rtattr *)(m + 1);
            int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
            for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                if (a->rta_type == UNIX_DIAG_RQLEN &&
                    RTA_PAYLOAD(a) >= sizeof(struct unix_diag_rqlen))
                    queue = (int)((struct unix_diag_rqlen *)RTA_DATA(a))->udiag_rqueue;
        }
    }
    close(nl);
    return queue;
}

int gw_stats_listen_queue(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_UNIX) {
        int q = unix_listen_queue(fd);
        return q < 0 ? 0 : q;
    }
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    /* on a listening TCP socket tcpi_unacked is the accept queue's length */
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return 0;
    return (int)ti.tcpi_unacked;
}

/* rss and vsz of a process in bytes, 0 when unknown. */
static void proc_mem(pid_t pid, json_int_t *rss, json_int_t *vsz)
{
    char path[64];
    *rss = *vsz = 0;
    snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    long long size, res;
    if (fscanf(f, "%lld %lld", &size, &res) == 2) {
        long page = sysconf(_SC_PAGESIZE);
        *vsz = (json_int_t)(size * page);
        *rss = (json_int_t)(res * page);
    }
    fclose(f);
}

char *gw_stats_render(pid_t master, const struct gw_stats_sock *socks, int nsocks,
                      const struct gw_stats_worker *workers, int nworkers)
{
    json_t *root = json_object(), *jsocks = json_array(), *jworkers = json_array();
    char *out = NULL;
    if (!root || !jsocks || !jworkers)
        goto done;
    int total_queue = 0;
    for (int i = 0; i < nsocks; i++) {
        int q = gw_stats_listen_queue(socks[i].fd);
        total_queue += q;
        json_t *s = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i}", "name", socks[i].name, "proto",
                              socks[i].proto, "queue", q, "max_queue", socks[i].backlog, "shared",
                              0, "can_offload", 0);
        if (!s || json_array_append_new(jsocks, s) < 0)
            goto done;
    }
    time_t now = time(NULL);
    for (int i = 0; i < nworkers; i++) {
        const struct gw_slot *sl = workers[i].slot;
        json_int_t rss, vsz;
        proc_mem(sl->pid, &rss, &vsz);
        uint64_t reqs = sl->requests;
        json_t *w = json_pack(
            "{s:i, s:i, s:i, s:I, s:I, s:i, s:s, s:I, s:I, s:I, s:I, s:i, s:I, s:I, s:[], s:[]}",
            "id", workers[i].id, "pid", (int)sl->pid, "accepting", sl->accepting, "requests",
            (json_int_t)reqs, "exceptions", (json_int_t)sl->exceptions, "harakiri_count",
            workers[i].harakiri_count, "status", gw_sb_state_name(sl->state), "rss", rss, "vsz",
            vsz, "avg_rt", (json_int_t)(reqs ? sl->rt_total_us / reqs : 0), "tx",
            (json_int_t)sl->tx, "respawn_count", workers[i].respawn_count, "last_spawn",
            (json_int_t)sl->spawned, "running_time",
            (json_int_t)(sl->spawned ? now - sl->spawned : 0), "apps", "cores");
        if (!w || json_array_append_new(jworkers, w) < 0)
            goto done;
    }
    if (json_object_set_new(root, "version", json_string(GW_VERSION)) < 0 ||
        json_object_set_new(root, "pid", json_integer(master)) < 0 ||
        json_object_set_new(root, "listen_queue", json_integer(total_queue)) < 0 ||
        json_object_set_new(root, "listen_queue_errors", json_integer(0)) < 0 ||
        json_object_set_new(root, "load", json_integer(total_queue)) < 0 ||
        json_object_set_new(root, "sockets", jsocks) < 0)
        goto done;
    jsocks = NULL;
    if (json_object_set_new(root, "workers", jworkers) < 0)
        goto done;
    jworkers = NULL;
    out = json_dumps(root, JSON_COMPACT);
done:
    json_decref(jsocks);
    json_decref(jworkers);
    json_decref(root);
    return out;
}
