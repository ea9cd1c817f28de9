/* main: the gateway's master process.
 *
 * Reads the options, binds every socket, optionally imports the app
 * (--preload), forks the workers and then only supervises: it respawns a
 * worker that died (and logs why), kills a worker stuck past --harakiri
 * (backstop to the worker's own alarm), reloads the workers one by one on
 * HUP (a new worker must be ready before the old one is told to stop, so no
 * request fails and new app code is picked up), stops gracefully on TERM,
 * INT and QUIT, logs every worker's state on USR1, and serves the --stats
 * JSON.  Signals reach the loop through a self-pipe. */
#define _GNU_SOURCE /* accept4, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "gw_handoff.h"
#include "gw_opts.h"
#include "gw_priv.h"
#include "gw_py.h"
#include "gw_scoreboard.h"
#include "gw_stats.h"
#include "gw_version.h"
#include "gw_worker.h"

#define STOP_TIMEOUT_MS   30000 /* graceful stop: then SIGKILL */
#define HARAKIRI_GRACE_MS 3000  /* the worker's own alarm comes first */
#define RESPAWN_DELAY_MS  1000  /* for a worker that died right after starting */

enum rec_state {
    WR_FREE,
    WR_RUNNING,  /* serving (or starting) */
    WR_NEW,      /* a reload's replacement, not ready yet */
    WR_RETIRING, /* told to stop; not respawned */
    WR_PENDING,  /* dead, to be respawned at respawn_at */
};

struct rec {
    int id; /* 1-based worker number */
    pid_t pid;
    enum rec_state state;
    int64_t spawned_ms;
    int64_t respawn_at;
    bool hk_killed; /* the master killed it for harakiri */
};

static struct gw_opts opts;
static struct gw_listener *lst;
static int handoff[2] = {-1, -1}; /* idle connections between workers (gw_handoff.h) */
static int nlst;
static int stats_fd = -1;
static int sigpipe_fds[2] = {-1, -1};
static struct gw_slot *sb;
static struct rec *recs;
static int nrecs;
static int *respawns, *harakiris; /* per worker id */
static PyObject *preloaded;       /* owned */
static pid_t master_pid;
static bool stopping, any_ready, startup_failed;
static int64_t stop_deadline;
/* reload state */
static bool reloading;
static int reload_next_id;  /* next worker id to replace */
static int reload_new = -1; /* record of the replacement being started */

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t rc = write(sigpipe_fds[1], &b, 1);
    (void)rc;
    errno = saved;
}

static void describe_exit(int status, char *out, size_t n)
{
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        const char *why = code == GW_EXIT_OK         ? "stopped"
                          : code == GW_EXIT_LOAD     ? "the app could not be loaded"
                          : code == GW_EXIT_HARAKIRI ? "harakiri"
                          : code == GW_EXIT_FATAL    ? "start-up failure"
                                                     : "exited";
        snprintf(out, n, "%s (exit code %d)", why, code);
    } else if (WIFSIGNALED(status))
        snprintf(out, n, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(out, n, "status %d", status);
}

static long pick_max_requests(void)
{
    if (!opts.max_requests)
        return 0;
    long j = opts.max_requests_jitter ? random() % (opts.max_requests_jitter + 1) : 0;
    return opts.max_requests + j;
}

/* Forks worker `id` into record i.  0 or -1. */
static int spawn(int i, int id, enum rec_state state)
{
    memset(&sb[i], 0, sizeof(sb[i]));
    sb[i].state = GW_WS_STARTING;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    long maxr = pick_max_requests();
    pid_t pid = fork();
    if (pid == 0) {
        close(sigpipe_fds[0]);
        close(sigpipe_fds[1]);
        if (stats_fd >= 0)
            close(stats_fd);
        struct gw_worker_cfg cfg = {&opts, lst, nlst, preloaded,  &sb[i],     sb,
                                    nrecs, id,  maxr, master_pid, handoff[0], handoff[1]};
        gw_worker_main(&cfg);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        log_error("cannot fork worker %d: %s", id, strerror(errno));
        recs[i].id = id;
        recs[i].state = WR_PENDING;
        recs[i].respawn_at = gw_sb_now_ms() + RESPAWN_DELAY_MS;
        return -1;
    }
    recs[i].id = id;
    recs[i].pid = pid;
    recs[i].state = state;
    recs[i].spawned_ms = gw_sb_now_ms();
    recs[i].hk_killed = false;
    log_info("worker %d started (pid %d)", id, (int)pid);
    return 0;
}

static int free_rec(void)
{
    for (int i = 0; i < nrecs; i++)
        if (recs[i].state == WR_FREE)
            return i;
    return -1;
}

static bool live(const struct rec *r)
{
    return r->state == WR_RUNNING || r->state == WR_NEW || r->state == WR_RETIRING;
}

static void signal_all(int sig)
{
    for (int i = 0; i < nrecs; i++)
        if (live(&recs[i]))
            kill(recs[i].pid, sig);
}

static void begin_stop(const char *why)
{
    if (stopping)
        return;
    stopping = true;
    reloading = false;
    stop_deadline = gw_sb_now_ms() + STOP_TIMEOUT_MS;
    log_notice("stopping (%s): waiting for the workers to finish their requests", why);
    for (int i = 0; i < nrecs; i++)
        if (recs[i].state == WR_PENDING)
            recs[i].state = WR_FREE;
    signal_all(SIGTERM);
}

static void reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int i;
        for (i = 0; i < nrecs; i++)
            if (recs[i].pid == pid && recs[i].state != WR_FREE && recs[i].state != WR_PENDING)
                break;
        if (i == nrecs)
            continue;
        struct rec *r = &recs[i];
        char why[128];
        describe_exit(status, why, sizeof(why));
        bool harakiri =
            r->hk_killed || (WIFEXITED(status) && WEXITSTATUS(status) == GW_EXIT_HARAKIRI);
        if (harakiri) {
            harakiris[r->id]++;
            log_error("worker %d (pid %d): harakiri on \"%s\": replaced", r->id, (int)pid,
                      sb[i].req);
        }
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        sb[i].state = GW_WS_FREE;
        sb[i].pid = 0;
        if (r->state == WR_RETIRING || stopping) {
            log_info("worker %d (pid %d) %s", r->id, (int)pid, why);
            r->state = WR_FREE;
            continue;
        }
        if (r->state == WR_NEW) {
            log_error("reload: the new worker %d (pid %d) %s; keeping the running workers", r->id,
                      (int)pid, why);
            r->state = WR_FREE;
            reloading = false;
            reload_new = -1;
            continue;
        }
        if (!any_ready && (code == GW_EXIT_LOAD || code == GW_EXIT_FATAL)) {
            log_crit("worker %d (pid %d) %s: giving up", r->id, (int)pid, why);
            startup_failed = true;
            begin_stop("start-up failed");
            r->state = WR_FREE;
            continue;
        }
        if (code == GW_EXIT_OK)
            log_info("worker %d (pid %d) %s: respawning", r->id, (int)pid, why);
        else
            log_error("worker %d (pid %d) %s: respawning", r->id, (int)pid, why);
        respawns[r->id]++;
        int64_t now = gw_sb_now_ms();
        if (code != GW_EXIT_OK && !harakiri && now - r->spawned_ms < RESPAWN_DELAY_MS) {
            r->state = WR_PENDING;
            r->respawn_at = now + RESPAWN_DELAY_MS;
        } else
            spawn(i, r->id, WR_RUNNING);
    }
}

static void check_workers(void)
{
    int64_t now = gw_sb_now_ms();
    for (int i = 0; i < nrecs; i++) {
        struct rec *r = &recs[i];
        if (r->state == WR_PENDING && now >= r->respawn_at && !stopping)
            spawn(i, r->id, WR_RUNNING);
        if (!live(r))
            continue;
        if (sb[i].state == GW_WS_IDLE || sb[i].state == GW_WS_BUSY)
            any_ready = true;
        int64_t start = sb[i].req_start_ms;
        if (opts.harakiri && start && !r->hk_killed &&
            now - start > (int64_t)opts.harakiri * 1000 + HARAKIRI_GRACE_MS) {
            log_error("worker %d (pid %d) stuck on \"%s\" for %lld ms: killing it", r->id,
                      (int)r->pid, sb[i].req, (long long)(now - start));
            r->hk_killed = true;
            kill(r->pid, SIGKILL);
        }
    }
}

/* One reload step: start the next replacement, or retire the worker it
 * replaces once it is ready. */
static void reload_step(void)
{
    if (!reloading || stopping)
        return;
    if (reload_new < 0) {
        if (reload_next_id > opts.processes) {
            reloading = false;
            log_notice("reload done");
            return;
        }
        int i = free_rec();
        if (i < 0)
            return; /* a retiring worker still holds a record: next tick */
        if (spawn(i, reload_next_id, WR_NEW) == 0)
            reload_new = i;
        else
            recs[i].state = WR_FREE;
        return;
    }
    int st = sb[reload_new].state;
    if (st != GW_WS_IDLE && st != GW_WS_BUSY)
        return;
    int id = recs[reload_new].id;
    for (int i = 0; i < nrecs; i++) {
        if (i == reload_new || recs[i].id != id)
            continue;
        if (recs[i].state == WR_RUNNING) {
            kill(recs[i].pid, SIGTERM);
            recs[i].state = WR_RETIRING;
        } else if (recs[i].state == WR_PENDING)
            recs[i].state = WR_FREE;
    }
    recs[reload_new].state = WR_RUNNING;
    reload_new = -1;
    reload_next_id++;
}

static void begin_reload(void)
{
    if (stopping)
        return;
    if (preloaded)
        log_warn("reload with --preload: the workers restart with the app the master imported "
                 "at start-up (restart the gateway to load new code)");
    log_notice("reloading the workers one by one");
    reloading = true;
    reload_next_id = 1;
    if (reload_new >= 0 && live(&recs[reload_new])) {
        kill(recs[reload_new].pid, SIGTERM);
        recs[reload_new].state = WR_RETIRING;
    }
    reload_new = -1;
}

static void log_states(void)
{
    int64_t now = gw_sb_now_ms();
    for (int i = 0; i < nrecs; i++) {
        struct rec *r = &recs[i];
        if (!live(r))
            continue;
        const struct gw_slot *s = &sb[i];
        int64_t start = s->req_start_ms;
        if (s->state == GW_WS_BUSY && start)
            log_notice("worker %d (pid %d): busy for %lld ms on \"%s\"; %llu requests, %llu "
                       "exceptions, %d respawns",
                       r->id, (int)r->pid, (long long)(now - start), s->req,
                       (unsigned long long)s->requests, (unsigned long long)s->exceptions,
                       respawns[r->id]);
        else
            log_notice("worker %d (pid %d): %s; %llu requests, %llu exceptions, %d respawns", r->id,
                       (int)r->pid, gw_sb_state_name(s->state), (unsigned long long)s->requests,
                       (unsigned long long)s->exceptions, respawns[r->id]);
    }
}

static void serve_stats(void)
{
    for (;;) {
        int fd = accept4(stats_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct timeval tv = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        struct gw_stats_sock socks[64];
        int ns = 0;
        for (int i = 0; i < nlst && ns < 64; i++, ns++)
            socks[ns] = (struct gw_stats_sock){lst[i].spec,
                                               lst[i].proto == GW_PROTO_HTTP ? "http" : "uwsgi",
                                               lst[i].fd, opts.listen_backlog};
        struct gw_stats_worker *ws = calloc((size_t)nrecs, sizeof(*ws));
        int nw = 0;
        for (int id = 1; ws && id <= opts.processes; id++)
            for (int i = 0; i < nrecs; i++)
                if (recs[i].id == id && live(&recs[i]))
                    ws[nw++] = (struct gw_stats_worker){id, &sb[i], respawns[id], harakiris[id]};
        char *json = ws ? gw_stats_render(master_pid, socks, ns, ws, nw) : NULL;
        free(ws);
        if (json) {
            size_t len = strlen(json), off = 0;
            while (off < len) {
                ssize_t w = write(fd, json + off, len - off);
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
            free(json);
        }
        close(fd);
    }
}

static int bind_all(void)
{
    char err[256];
    lst = calloc((size_t)opts.nsocks, sizeof(*lst));
    if (!lst)
        return -1;
    for (int i = 0; i < opts.nsocks; i++) {
        struct gw_listener *l = &lst[i];
        l->spec = opts.socks[i].spec;
        l->proto = opts.socks[i].proto;
        if (addr_parse(l->spec, -1, &l->addr, err, sizeof(err)) < 0) {
            log_crit("bad address for %s: %s",
                     l->proto == GW_PROTO_HTTP ? "--http-socket" : "--socket", err);
            return -1;
        }
        l->fd = addr_listen(&l->addr, opts.listen_backlog, 0, err, sizeof(err));
        if (l->fd < 0) {
            log_crit("%s", err);
            return -1;
        }
        nlst++;
        log_info("%s on %s", l->proto == GW_PROTO_HTTP ? "HTTP" : "uwsgi", l->spec);
    }
    if (opts.stats) {
        struct addr a;
        if (addr_parse(opts.stats, -1, &a, err, sizeof(err)) < 0) {
            log_crit("bad address for --stats: %s", err);
            return -1;
        }
        stats_fd = addr_listen(&a, 64, 0, err, sizeof(err));
        if (stats_fd < 0) {
            log_crit("%s", err);
            return -1;
        }
    }
    return 0;
}

static void cleanup(void)
{
    for (int i = 0; i < nlst; i++) {
        close(lst[i].fd);
        if (opts.vacuum && lst[i].addr.ss.ss_family == AF_UNIX)
            unlink(((struct sockaddr_un *)&lst[i].addr.ss)->sun_path);
    }
    if (stats_fd >= 0)
        close(stats_fd);
    if (opts.pidfile)
        unlink(opts.pidfile);
    free(lst);
    free(recs);
    free(respawns);
    free(harakiris);
    gw_sb_destroy(sb, nrecs);
    if (preloaded) {
        Py_CLEAR(preloaded);
        gw_py_fini();
    }
    gw_opts_free(&opts);
}

int main(int argc, char **argv)
{
    char err[1024];
    gw_opts_init(&opts);
    log_open(NULL, LL_INFO);
    if (gw_opts_parse_argv(&opts, argc, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, "gateway: %s\n", err);
        gw_opts_free(&opts);
        return 2;
    }
    if (opts.help || argc == 1) {
        gw_opts_usage(stdout);
        gw_opts_free(&opts);
        return argc == 1 ? 2 : 0;
    }
    if (opts.version) {
        printf("gateway %s (Python %s)\n", GW_VERSION, PY_VERSION);
        gw_opts_free(&opts);
        return 0;
    }
    if (gw_opts_check(&opts, err, sizeof(err)) < 0) {
        fprintf(stderr, "gateway: %s\n", err);
        gw_opts_free(&opts);
        return 2;
    }
    if (opts.logto) {
        if (log_open(opts.logto, LL_INFO) < 0) {
            fprintf(stderr, "gateway: --logto %s: %s\n", opts.logto, strerror(errno));
            gw_opts_free(&opts);
            return 1;
        }
        /* Python's tracebacks and print() go to the log too */
        dup2(log_fd(), 2);
        dup2(log_fd(), 1);
    }
    for (int i = 0; i < opts.nenv; i++) {
        char *eq = strchr(opts.env[i], '=');
        *eq = '\0';
        int rc = setenv(opts.env[i], eq + 1, 1);
        *eq = '=';
        if (rc < 0) {
            log_crit("--env %s: %s", opts.env[i], strerror(errno));
            return 1;
        }
    }
    /* the embedded interpreter must not see a pyenv's settings */
    unsetenv("PYTHONHOME");
    unsetenv("PYTHONPATH");
    if (opts.chdir_dir && chdir(opts.chdir_dir) < 0) {
        log_crit("--chdir %s: %s", opts.chdir_dir, strerror(errno));
        gw_opts_free(&opts);
        return 1;
    }
    master_pid = getpid();
    nrecs = opts.processes * 2;
    recs = calloc((size_t)nrecs, sizeof(*recs));
    respawns = calloc((size_t)opts.processes + 1, sizeof(int));
    harakiris = calloc((size_t)opts.processes + 1, sizeof(int));
    sb = gw_sb_create(nrecs);
    if (!recs || !respawns || !harakiris || !sb) {
        log_crit("out of memory");
        return 1;
    }
    if (bind_all() < 0) {
        cleanup();
        return 1;
    }
    if (opts.pidfile) {
        FILE *f = fopen(opts.pidfile, "w");
        if (!f || fprintf(f, "%d\n", (int)master_pid) < 0 || fclose(f) != 0) {
            log_crit("--pidfile %s: %s", opts.pidfile, strerror(errno));
            cleanup();
            return 1;
        }
    }
    if (gw_priv_socket_perms(&opts, lst, nlst) < 0 || gw_priv_drop(&opts) < 0) {
        cleanup();
        return 1;
    }
    if (opts.virtualenv) {
        char exe[4096];
        snprintf(exe, sizeof(exe), "%s/bin/python3", opts.virtualenv);
        if (access(exe, X_OK) < 0) {
            log_crit("--virtualenv %s: %s: %s", opts.virtualenv, exe, strerror(errno));
            cleanup();
            return 1;
        }
    }
    if (opts.preload) {
        if (gw_py_init(&opts) < 0 || !(preloaded = gw_py_load_app(&opts))) {
            log_crit("start-up failed: the app could not be loaded");
            cleanup();
            return 1;
        }
    }
    if (opts.idle_handoff_ms > 0 && opts.processes > 1 && gw_handoff_pair(handoff) < 0) {
        log_crit("socketpair: %s", strerror(errno));
        cleanup();
        return 1;
    }
    if (pipe2(sigpipe_fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_crit("pipe: %s", strerror(errno));
        cleanup();
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    int sigs[] = {SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    srandom((unsigned)(time(NULL) ^ master_pid));

    log_notice("gateway %s: master pid %d, %d worker%s, app %s%s", GW_VERSION, (int)master_pid,
               opts.processes, opts.processes > 1 ? "s" : "",
               opts.wsgi_file ? opts.wsgi_file : opts.module, opts.preload ? " (preloaded)" : "");
    for (int id = 1; id <= opts.processes; id++)
        spawn(id - 1, id, WR_RUNNING);

    int exit_code = 0;
    for (;;) {
        struct pollfd pfd[2] = {{sigpipe_fds[0], POLLIN, 0}, {stats_fd, POLLIN, 0}};
        int timeout = (reloading || !any_ready || stopping) ? 50 : 500;
        int rc = poll(pfd, stats_fd >= 0 ? 2 : 1, timeout);
        if (rc < 0 && errno != EINTR) {
            log_crit("poll: %s", strerror(errno));
            break;
        }
        unsigned char sigbuf[64];
        ssize_t n;
        while ((n = read(sigpipe_fds[0], sigbuf, sizeof(sigbuf))) > 0) {
            for (ssize_t k = 0; k < n; k++) {
                switch (sigbuf[k]) {
                case SIGCHLD:
                    break; /* reaped below */
                case SIGHUP:
                    begin_reload();
                    break;
                case SIGTERM:
                    begin_stop("SIGTERM");
                    break;
                case SIGINT:
                    begin_stop("SIGINT");
                    break;
                case SIGQUIT:
                    begin_stop("SIGQUIT");
                    break;
                case SIGUSR1:
                    log_states();
                    break;
                }
            }
        }
        reap();
        if (!stopping)
            check_workers();
        reload_step();
        if (stats_fd >= 0 && (pfd[1].revents & POLLIN))
            serve_stats();
        if (stopping) {
            bool any = false;
            for (int i = 0; i < nrecs; i++)
                any = any || live(&recs[i]);
            if (!any)
                break;
            if (gw_sb_now_ms() > stop_deadline) {
                log_error("workers still running after %d s: killing them", STOP_TIMEOUT_MS / 1000);
                signal_all(SIGKILL);
                stop_deadline = gw_sb_now_ms() + 5000;
            }
        }
    }
    if (startup_failed)
        exit_code = 1;
    log_notice("gateway stopped");
    cleanup();
    return exit_code;
}
