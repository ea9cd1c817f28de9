/* stats: the JSON statistics document (see stats.h). */
#include "stats.h"

#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "version.h"

int gw_stats_listen_queue(int fd)
{
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
