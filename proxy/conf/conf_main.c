/* conf_main: main and events directives (see conf_main.h). */
#include "conf_main.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

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

/* Looks user (and group) up; uid/gid out.  0, or -1 with the error
 * written at n (nginx's words). */
static int resolve_user(struct conf_build *b, const struct conf_node *n, const char *user,
                        const char *group, bool group_given)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw)
        return conf_error(b->R, n ? n->file : b->cf->conf_file, n ? n->line : 1,
                          "getpwnam(\"%s\") failed%s%s", user, errno ? ": " : "",
                          errno ? strerror(errno) : "");
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    errno = 0;
    struct group *gr = getgrnam(group);
    if (gr)
        gid = gr->gr_gid;
    else if (group_given)
        return conf_error(b->R, n ? n->file : b->cf->conf_file, n ? n->line : 1,
                          "getgrnam(\"%s\") failed%s%s", group, errno ? ": " : "",
                          errno ? strerror(errno) : "");
    b->cf->user_uid = uid;
    b->cf->user_gid = gid;
    b->cf->user_name = conf_strdup(b->R->A, user);
    if (!b->cf->user_name)
        return conf_oom(b->R);
    b->cf->user_set = true;
    return 0;
}

/* user USER [GROUP]: what the workers run as when the master is root; the
 * group defaults to the user's name, as nginx's does (falling back to the
 * user's own group when there is none of that name).  Not root: ignored,
 * as nginx does (with its warning). */
static int set_user(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                    struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    if (geteuid() != 0) {
        log_warn("the \"user\" directive makes sense only if the master process runs with "
                 "super-user privileges, ignored in %s:%d",
                 n->file, n->line);
        return 0;
    }
    bool group_given = n->nargs > 2;
    return resolve_user(b, n, n->args[1], group_given ? n->args[2] : n->args[1], group_given);
}

int conf_main_finish(struct conf_build *b)
{
    /* a root master's workers run as nobody unless told otherwise (nginx's
     * default user, with Debian's nogroup) */
    if (!(b->main_set & (1ULL << MAIN_USER)) && geteuid() == 0)
        return resolve_user(b, NULL, "nobody", "nogroup", false);
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

#define MAIN_ONCE(nm, ctx_, mn, mx, setter, off_, bit_)                                            \
    CONF_ONCE_CMD(nm, ctx_, mn, mx, setter, CONF_ST_MAIN, off_, bit_)

static const struct conf_cmd cmds[] = {
    MAIN_ONCE("worker_processes", CONF_MAIN, 1, 1, set_worker_processes, 0, MAIN_WORKER_PROCESSES),
    MAIN_ONCE("pid", CONF_MAIN, 1, 1, set_pid, 0, MAIN_PID),
    MAIN_ONCE("daemon", CONF_MAIN, 1, 1, set_daemon, 0, MAIN_DAEMON),
    MAIN_ONCE("master_process", CONF_MAIN, 1, 1, set_daemon, 0, MAIN_MASTER_PROCESS),
    MAIN_ONCE("user", CONF_MAIN, 1, 2, set_user, 0, MAIN_USER),
    MAIN_ONCE("worker_rlimit_nofile", CONF_MAIN, 1, 1, set_positive, MAIN_OFF(worker_rlimit_nofile),
              MAIN_RLIMIT_NOFILE),
    {.name = "events",
     .ctx = CONF_MAIN,
     .block = true,
     .set = set_events,
     .store = CONF_ST_MAIN,
     .bit = MAIN_EVENTS,
     .dup = CONF_ONCE},
    CONF_CMD("use", CONF_EVENTS, 1, 1, set_use),
    CONF_CMD("accept_mutex", CONF_EVENTS, 1, 1, conf_set_ignored_flag),
    MAIN_ONCE("multi_accept", CONF_EVENTS, 1, 1, conf_set_flag, MAIN_OFF(multi_accept),
              MAIN_MULTI_ACCEPT),
    MAIN_ONCE("worker_connections", CONF_EVENTS, 1, 1, set_positive, MAIN_OFF(worker_connections),
              MAIN_WORKER_CONNECTIONS),
    MAIN_ONCE("yield", CONF_EVENTS, 1, 1, conf_set_flag, MAIN_OFF(yield), MAIN_YIELD),
    MAIN_ONCE("worker_shutdown_timeout", CONF_MAIN, 1, 1, conf_set_msec,
              MAIN_OFF(worker_shutdown_timeout_ms), MAIN_SHUTDOWN_TIMEOUT),
    {.name = "http",
     .ctx = CONF_MAIN,
     .block = true,
     .set = set_http,
     .store = CONF_ST_MAIN,
     .bit = MAIN_HTTP,
     .dup = CONF_ONCE},
};

const struct conf_cmds conf_main_cmds = CONF_CMDS(cmds);
