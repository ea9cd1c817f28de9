/* conf_main: main and events directives (see conf_main.h). */
#include "conf_main.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static int set_worker_processes(struct conf_build *b, const struct conf_cmd *cmd,
                                struct conf_node *n, struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    if (strcmp(n->args[1], "auto") == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        b->cf->worker_processes = c > 0 ? (int)c : 1;
        return 0;
    }
    int v;
    if (conf_parse_int(n->args[1], &v) < 0 || v < 1 || v > 1024)
        return conf_bad_value(b, n, n->args[1]);
    b->cf->worker_processes = v;
    return 0;
}

static int set_pid(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                   struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    b->cf->pid_file = conf_prefixed(b, n->args[1]);
    return b->cf->pid_file ? 0 : conf_oom(b->R);
}

/* daemon must be off and master_process on: what the proxy always does. */
static int set_daemon(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                      struct conf_scope *s)
{
    if (conf_set_ignored_flag(b, cmd, n, s) < 0)
        return -1;
    bool want = strcmp(CONF_NAME(n), "daemon") == 0 ? false : true;
    if ((strcmp(n->args[1], "on") == 0) != want)
        return conf_error(b->R, n->file, n->line, "\"%s %s\" is not supported (the proxy %s)",
                          CONF_NAME(n), n->args[1],
                          want ? "always runs a master process" : "stays in the foreground");
    return 0;
}

/* Accepted without effect: workers keep the master's user (see conf.h), as
 * nginx ignores it too when not run as root. */
static int set_user(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                    struct conf_scope *s)
{
    (void)b;
    (void)cmd;
    (void)n;
    (void)s;
    return 0;
}

/* worker_connections, worker_rlimit_nofile: an int of at least 1. */
static int set_positive(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                        struct conf_scope *s)
{
    int v;
    if (conf_parse_int(n->args[1], &v) < 0 || v < 1)
        return conf_bad_value(b, n, n->args[1]);
    (void)s;
    *(int *)((char *)b->cf + cmd->off) = v;
    return 0;
}

/* events { use epoll; }: libevent picks epoll on Linux; other methods are refused. */
static int set_use(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                   struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    if (strcmp(n->args[1], "epoll") != 0)
        return conf_error(b->R, n->file, n->line, "invalid event type \"%s\" (only \"epoll\")",
                          n->args[1]);
    return 0;
}

static int set_events(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                      struct conf_scope *s)
{
    (void)cmd;
    struct conf_scope in = *s;
    in.ctx = CONF_EVENTS;
    return conf_run_block(b, n, &in);
}

static int set_http(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                    struct conf_scope *s)
{
    (void)cmd;
    struct conf_scope in = *s;
    in.ctx = CONF_HTTP;
    in.lc = b->http;
    return conf_run_block(b, n, &in);
}

#define MAIN_OFF(f) offsetof(struct cf_main, f)

static const struct conf_cmd cmds[] = {
    {.name = "worker_processes",
     .ctx = CONF_MAIN,
     .min = 1,
     .max = 1,
     .set = set_worker_processes,
     .store = CONF_ST_MAIN,
     .bit = MAIN_WORKER_PROCESSES,
     .dup = CONF_ONCE},
    {.name = "pid",
     .ctx = CONF_MAIN,
     .min = 1,
     .max = 1,
     .set = set_pid,
     .store = CONF_ST_MAIN,
     .bit = MAIN_PID,
     .dup = CONF_ONCE},
    {.name = "daemon",
     .ctx = CONF_MAIN,
     .min = 1,
     .max = 1,
     .set = set_daemon,
     .store = CONF_ST_MAIN,
     .bit = MAIN_DAEMON,
     .dup = CONF_ONCE},
    {.name = "master_process",
     .ctx = CONF_MAIN,
     .min = 1,
     .max = 1,
     .set = set_daemon,
     .store = CONF_ST_MAIN,
     .bit = MAIN_MASTER_PROCESS,
     .dup = CONF_ONCE},
    {.name = "user",
     .ctx = CONF_MAIN,
     .min = 1,
     .max = 2,
     .set = set_user,
     .store = CONF_ST_MAIN,
     .bit = MAIN_USER,
     .dup = CONF_ONCE},
    {.name = "events",
     .ctx = CONF_MAIN,
     .block = true,
     .set = set_events,
     .store = CONF_ST_MAIN,
     .bit = MAIN_EVENTS,
     .dup = CONF_ONCE},
    {.name = "worker_rlimit_nofile",
     .ctx = CONF_MAIN,
     .min = 1,
     .max = 1,
     .set = set_positive,
     .store = CONF_ST_MAIN,
     .off = MAIN_OFF(worker_rlimit_nofile),
     .bit = MAIN_RLIMIT_NOFILE,
     .dup = CONF_ONCE},
    {.name = "use", .ctx = CONF_EVENTS, .min = 1, .max = 1, .set = set_use, .bit = -1},
    {.name = "multi_accept",
     .ctx = CONF_EVENTS,
     .min = 1,
     .max = 1,
     .set = conf_set_flag,
     .store = CONF_ST_MAIN,
     .off = MAIN_OFF(multi_accept),
     .bit = MAIN_MULTI_ACCEPT,
     .dup = CONF_ONCE},
    {.name = "accept_mutex",
     .ctx = CONF_EVENTS,
     .min = 1,
     .max = 1,
     .set = conf_set_ignored_flag,
     .bit = -1},
    {.name = "worker_connections",
     .ctx = CONF_EVENTS,
     .min = 1,
     .max = 1,
     .set = set_positive,
     .store = CONF_ST_MAIN,
     .off = MAIN_OFF(worker_connections),
     .bit = MAIN_WORKER_CONNECTIONS,
     .dup = CONF_ONCE},
    {.name = "yield",
     .ctx = CONF_EVENTS,
     .min = 1,
     .max = 1,
     .set = conf_set_flag,
     .store = CONF_ST_MAIN,
     .off = MAIN_OFF(yield),
     .bit = MAIN_YIELD,
     .dup = CONF_ONCE},
    {.name = "http",
     .ctx = CONF_MAIN,
     .block = true,
     .set = set_http,
     .store = CONF_ST_MAIN,
     .bit = MAIN_HTTP,
     .dup = CONF_ONCE},
};

const struct conf_cmds conf_main_cmds = CONF_CMDS(cmds);
