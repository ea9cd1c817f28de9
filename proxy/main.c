/* main: the proxy's command line and master process.
 *
 * Like nginx: `-t` tests the configuration, `-s` signals a running master
 * through the pid file, otherwise the master opens the listeners, writes the
 * pid file and keeps `worker_processes` workers (worker.h) running:
 *   HUP   re-read the configuration; new workers start on the same sockets,
 *         then the old ones get QUIT (a bad configuration keeps the old ones)
 *   QUIT  graceful stop, TERM/INT fast stop, USR1 reopen logs (everywhere)
 *   CHLD  a worker that died unexpectedly is logged and replaced.
 * The master stays in the foreground (there is no daemon mode). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "accesslog.h"
#include "conf.h"
#include "f_chunked.h"
#include "f_headers.h"
#include "f_server_timing.h"
#include "h_proxy.h"
#include "h_return.h"
#include "h_static.h"
#include "h_status.h"
#include "listener.h"
#include "log.h"
#include "priv.h"
#include "request.h"
#include "route.h"
#include "tempdir.h"
#include "worker.h"

#define PROXY_VERSION "0.1"

struct wproc {
    pid_t pid;
    int index;
    int gen;       /* configuration generation it runs */
    bool retiring; /* told to stop (reload or shutdown) */
    struct timespec started;
};

static volatile sig_atomic_t sig_hup, sig_quit, sig_term, sig_usr1, sig_chld;

static void on_signal(int sig)
{
    switch (sig) {
    case SIGHUP:
        sig_hup = 1;
        break;
    case SIGQUIT:
        sig_quit = 1;
        break;
    case SIGTERM:
    case SIGINT:
        sig_term = 1;
        break;
    case SIGUSR1:
        sig_usr1 = 1;
        break;
    case SIGCHLD:
        sig_chld = 1;
        break;
    }
}

static const int master_sigs[] = {SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGCHLD};

struct master {
    const char *prefix, *conf_file, *globals, *elog;
    struct cf_main *cf;
    int gen;
    struct wproc *w;
    int nw, capw;
    bool stopping;
    int quick_deaths; /* workers in a row that died within a second of starting */
    char *pid_file;
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: proxy [-?hvVt] [-s signal] [-p prefix] [-e filename] [-c filename] "
               "[-g directives]\n\n"
               "Options:\n"
               "  -?,-h         : this help\n"
               "  -v            : show version and exit\n"
               "  -V            : show version and build information and exit\n"
               "  -t            : test configuration and exit\n"
               "  -s signal     : send signal to a master process: stop, quit, reopen, reload\n"
               "  -p prefix     : set prefix path (default: the folder holding conf/ above the "
               "binary, else the current folder)\n"
               "  -e filename   : set error log file (overrides error_log)\n"
               "  -c filename   : set configuration file (default: conf/proxy.conf)\n"
               "  -g directives : set global directives out of configuration file\n");
}

/* The folder above the binary that holds conf/, else the working folder. */
static char *default_prefix(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = 0;
        for (int up = 0; up < 4; up++) {
            char *s = strrchr(exe, '/');
            if (!s)
                break;
            *s = 0;
            char probe[PATH_MAX + 8];
            struct stat st;
            snprintf(probe, sizeof(probe), "%s/conf", exe[0] ? exe : "/");
            if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode))
                return strdup(exe[0] ? exe : "/");
        }
    }
    char cwd[PATH_MAX];
    return strdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
}

static int write_pid(const char *path)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    char b[32];
    int n = snprintf(b, sizeof(b), "%ld\n", (long)getpid());
    if (write(fd, b, (size_t)n) != n) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    return rename(tmp, path);
}

/* Every module joins the phases, the content handler registry and the
 * filter chain here, once, before a configuration is read (the reader looks
 * handlers up by name).  The filter order is fixed by this list: header and
 * body filters run in it, the session's writer last; gzip and charset go
 * before chunked. */
static int modules_init(void)
{
    request_init();
    if (route_phases_init() < 0 || accesslog_phase_init() < 0)
        return -1;
    if (h_static_init() < 0 || h_return_init() < 0 || h_status_init() < 0 || h_proxy_init() < 0)
        return -1;
    if (f_headers_init() < 0 || f_server_timing_init() < 0 || f_chunked_init() < 0)
        return -1;
    return 0;
}

static int load(struct master *m, struct cf_main **out, char *err, size_t errlen)
{
    if (conf_load(m->conf_file, m->prefix, m->globals, out, err, errlen) < 0)
        return -1;
    if (route_init(*out, err, errlen) < 0) {
        cf_free(*out);
        return -1;
    }
    return 0;
}

static void release(struct cf_main *cf)
{
    if (!cf)
        return;
    route_free(cf);
    cf_free(cf);
}

static void log_alert_rlimit(int n)
{
    log_msg(LL_ALERT, "setrlimit(RLIMIT_NOFILE, %d) failed (%d: %s), ignored", n, errno,
            strerror(errno));
}

static void spawn(struct master *m, int index)
{
    if (m->nw == m->capw) {
        int cap = m->capw ? m->capw * 2 : 8;
        struct wproc *p = realloc(m->w, (size_t)cap * sizeof(*p));
        if (!p) {
            log_crit("cannot start worker %d: out of memory", index);
            return;
        }
        m->w = p;
        m->capw = cap;
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_crit("fork() failed (%d: %s)", errno, strerror(errno));
        return;
    }
    if (pid == 0) {
        for (size_t i = 0; i < sizeof(master_sigs) / sizeof(master_sigs[0]); i++)
            signal(master_sigs[i], SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        listener_for_worker(m->cf, index);
        if (m->cf->worker_rlimit_nofile) {
            struct rlimit rl = {(rlim_t)m->cf->worker_rlimit_nofile,
                                (rlim_t)m->cf->worker_rlimit_nofile};
            if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_alert_rlimit(m->cf->worker_rlimit_nofile);
        }
        _exit(worker_run(m->cf, index));
    }
    struct wproc *w = &m->w[m->nw++];
    w->pid = pid;
    w->index = index;
    w->gen = m->gen;
    w->retiring = false;
    clock_gettime(CLOCK_MONOTONIC, &w->started);
    log_notice("start worker process %ld", (long)pid);
}

static void signal_workers(struct master *m, int sig, bool old_only)
{
    for (int i = 0; i < m->nw; i++) {
        if (old_only && m->w[i].gen == m->gen)
            continue;
        if (sig == SIGQUIT || sig == SIGTERM)
            m->w[i].retiring = true;
        if (kill(m->w[i].pid, sig) < 0 && errno != ESRCH)
            log_error("kill(%ld, %d) failed (%d: %s)", (long)m->w[i].pid, sig, errno,
                      strerror(errno));
    }
}

static void reap(struct master *m)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        int k = -1;
        for (int i = 0; i < m->nw; i++)
            if (m->w[i].pid == pid)
                k = i;
        if (k < 0)
            continue;
        struct wproc w = m->w[k];
        m->w[k] = m->w[--m->nw];
        bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (WIFSIGNALED(st))
            log_msg(w.retiring ? LL_NOTICE : LL_ALERT, "worker process %ld exited on signal %d%s",
                    (long)pid, WTERMSIG(st), WCOREDUMP(st) ? " (core dumped)" : "");
        else
            log_msg(ok || w.retiring ? LL_NOTICE : LL_ALERT,
                    "worker process %ld exited with code %d", (long)pid, WEXITSTATUS(st));
        if (w.retiring || m->stopping || w.gen != m->gen)
            continue;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - w.started.tv_sec < 1)
            m->quick_deaths++;
        else
            m->quick_deaths = 0;
        if (m->quick_deaths > 10) {
            log_crit("worker process %d keeps dying at start, not respawning it", w.index);
            continue;
        }
        log_notice("respawning worker %d", w.index);
        spawn(m, w.index);
    }
}

static void reload(struct master *m)
{
    log_notice("reconfiguring");
    char err[1024];
    struct cf_main *cf;
    if (load(m, &cf, err, sizeof(err)) < 0)
        goto fail;
    if (listener_open_all(cf, cf->worker_processes, err, sizeof(err)) < 0) {
        release(cf);
        goto fail;
    }
    if (tempdir_make_all(cf, err, sizeof(err)) < 0) {
        release(cf);
        goto fail;
    }
    if (!m->elog && (strcmp(cf->error_log, m->cf->error_log) != 0 ||
                     cf->error_log_level != m->cf->error_log_level)) {
        if (log_open(cf->error_log, cf->error_log_level) < 0)
            log_error("open() \"%s\" failed (%d: %s), keeping the old error log", cf->error_log,
                      errno, strerror(errno));
    }
    if (strcmp(cf->pid_file, m->pid_file) != 0) {
        if (write_pid(cf->pid_file) < 0) {
            log_error("open() \"%s\" failed (%d: %s), keeping the old pid file", cf->pid_file,
                      errno, strerror(errno));
        } else {
            unlink(m->pid_file);
            free(m->pid_file);
            m->pid_file = strdup(cf->pid_file);
        }
    }
    struct cf_main *old = m->cf;
    m->cf = cf;
    m->gen++;
    m->quick_deaths = 0;
    priv_hand_logs(cf, m->elog ? m->elog : cf->error_log);
    for (int i = 0; i < cf->worker_processes; i++)
        spawn(m, i);
    signal_workers(m, SIGQUIT, true);
    listener_close_unused();
    release(old);
    return;
fail:
    log_msg(LL_EMERG, "%s", err);
    log_msg(LL_ALERT, "the configuration is not reloaded, the old workers keep serving");
}

static int send_signal(const char *pid_file, const char *name)
{
    int sig = strcmp(name, "stop") == 0     ? SIGTERM
              : strcmp(name, "quit") == 0   ? SIGQUIT
              : strcmp(name, "reload") == 0 ? SIGHUP
              : strcmp(name, "reopen") == 0 ? SIGUSR1
                                            : 0;
    FILE *f = fopen(pid_file, "r");
    if (!f) {
        fprintf(stderr, "proxy: [error] open() \"%s\" failed (%d: %s)\n", pid_file, errno,
                strerror(errno));
        return 1;
    }
    char line[64] = "";
    if (!fgets(line, sizeof(line), f))
        line[0] = 0;
    fclose(f);
    line[strcspn(line, "\r\n")] = 0;
    char *end;
    long pid = strtol(line, &end, 10);
    if (!line[0] || *end || pid <= 0) {
        fprintf(stderr, "proxy: [error] invalid PID number \"%s\" in \"%s\"\n", line, pid_file);
        return 1;
    }
    if (kill((pid_t)pid, sig) < 0) {
        fprintf(stderr, "proxy: [alert] kill(%ld, %d) failed (%d: %s)\n", pid, sig, errno,
                strerror(errno));
        return 1;
    }
    return 0;
}

static int run_master(struct master *m)
{
    char err[1024];
    sigset_t block, none;
    sigemptyset(&block);
    sigemptyset(&none);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(master_sigs) / sizeof(master_sigs[0]); i++) {
        sigaddset(&block, master_sigs[i]);
        if (sigaction(master_sigs[i], &sa, NULL) < 0) {
            fprintf(stderr, "proxy: [emerg] sigaction() failed (%s)\n", strerror(errno));
            return 1;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &block, NULL) < 0) {
        fprintf(stderr, "proxy: [emerg] sigprocmask() failed (%s)\n", strerror(errno));
        return 1;
    }
    const char *elog = m->elog ? m->elog : m->cf->error_log;
    if (log_open(elog, m->cf->error_log_level) < 0) {
        fprintf(stderr, "proxy: [emerg] open() \"%s\" failed (%d: %s)\n", elog, errno,
                strerror(errno));
        return 1;
    }
    /* workers that drop to `user` reopen these on USR1: they are theirs */
    priv_hand_logs(m->cf, elog);
    if (listener_open_all(m->cf, m->cf->worker_processes, err, sizeof(err)) < 0) {
        fprintf(stderr, "proxy: [emerg] %s\n", err);
        log_msg(LL_EMERG, "%s", err);
        return 1;
    }
    if (tempdir_make_all(m->cf, err, sizeof(err)) < 0) {
        fprintf(stderr, "proxy: [emerg] %s\n", err);
        log_msg(LL_EMERG, "%s", err);
        listener_close_all();
        return 1;
    }
    if (write_pid(m->cf->pid_file) < 0) {
        fprintf(stderr, "proxy: [emerg] open() \"%s\" failed (%d: %s)\n", m->cf->pid_file, errno,
                strerror(errno));
        log_msg(LL_EMERG, "open() \"%s\" failed (%d: %s)", m->cf->pid_file, errno, strerror(errno));
        listener_close_all();
        return 1;
    }
    m->pid_file = strdup(m->cf->pid_file);
    log_notice("proxy/%s started, %d worker(s)", PROXY_VERSION, m->cf->worker_processes);
    for (int i = 0; i < m->cf->worker_processes; i++)
        spawn(m, i);

    bool fast = false;
    for (;;) {
        if (m->stopping && m->nw == 0)
            break;
        if (!sig_hup && !sig_quit && !sig_term && !sig_usr1 && !sig_chld)
            sigsuspend(&none);
        if (sig_chld) {
            sig_chld = 0;
            reap(m);
        }
        if (sig_term) {
            sig_term = 0;
            if (!fast) {
                log_notice("fast shutdown");
                fast = true;
            }
            m->stopping = true;
            signal_workers(m, SIGTERM, false);
        }
        if (sig_quit) {
            sig_quit = 0;
            if (!m->stopping)
                log_notice("graceful shutdown");
            m->stopping = true;
            signal_workers(m, SIGQUIT, false);
        }
        if (sig_hup) {
            sig_hup = 0;
            if (!m->stopping)
                reload(m);
        }
        if (sig_usr1) {
            sig_usr1 = 0;
            log_notice("reopening logs");
            if (log_reopen() < 0)
                log_error("reopening the error log failed (%d: %s)", errno, strerror(errno));
            priv_hand_logs(m->cf, m->elog ? m->elog : m->cf->error_log);
            signal_workers(m, SIGUSR1, false);
        }
    }
    log_notice("exit");
    unlink(m->pid_file);
    listener_close_all();
    free(m->pid_file);
    free(m->w);
    return 0;
}

int main(int argc, char **argv)
{
    struct master m = {0};
    bool test = false;
    const char *sig = NULL;
    int opt;
    if (modules_init() < 0) {
        fprintf(stderr, "proxy: cannot register the modules\n");
        return 1;
    }
    opterr = 0;
    while ((opt = getopt(argc, argv, "?hvVtqs:p:c:g:e:")) != -1) {
        switch (opt) {
        case 'h':
        case '?':
            if (opt == '?' && optopt) {
                fprintf(stderr, "proxy: invalid option: \"%c\"\n", optopt);
                usage(stderr);
                return 1;
            }
            fprintf(stderr, "proxy version: proxy/%s\n", PROXY_VERSION);
            usage(stderr);
            return 0;
        case 'v':
        case 'V':
            fprintf(stderr, "proxy version: proxy/%s\n", PROXY_VERSION);
            if (opt == 'V')
                fprintf(stderr,
                        "built with libevent %s (running %s), llhttp (Debian)\n"
                        "configure arguments: cmake (see CMakeLists.txt)\n",
                        LIBEVENT_VERSION, event_get_version());
            return 0;
        case 't':
            test = true;
            break;
        case 'q':
            break;
        case 's':
            if (strcmp(optarg, "stop") && strcmp(optarg, "quit") && strcmp(optarg, "reload") &&
                strcmp(optarg, "reopen")) {
                fprintf(stderr, "proxy: invalid option: \"-s %s\"\n", optarg);
                return 1;
            }
            sig = optarg;
            break;
        case 'p':
            m.prefix = optarg;
            break;
        case 'c':
            m.conf_file = optarg;
            break;
        case 'g':
            m.globals = optarg;
            break;
        case 'e':
            m.elog = optarg;
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "proxy: invalid option: \"%s\"\n", argv[optind]);
        return 1;
    }
    char *defprefix = NULL;
    if (!m.prefix)
        m.prefix = defprefix = default_prefix();
    if (!m.conf_file)
        m.conf_file = "conf/proxy.conf";

    char err[1024];
    if (load(&m, &m.cf, err, sizeof(err)) < 0) {
        fprintf(stderr, "proxy: [emerg] %s\n", err);
        if (test)
            fprintf(stderr, "proxy: configuration file %s test failed\n", m.conf_file);
        free(defprefix);
        return 1;
    }
    int rc;
    if (test) {
        fprintf(stderr, "proxy: the configuration file %s syntax is ok\n", m.cf->conf_file);
        fprintf(stderr, "proxy: configuration file %s test is successful\n", m.cf->conf_file);
        rc = 0;
    } else if (sig) {
        rc = send_signal(m.cf->pid_file, sig);
    } else {
        rc = run_master(&m);
    }
    release(m.cf);
    free(defprefix);
    return rc;
}
