/* opts: the gateway's settings, from uWSGI-style command-line options and
 * from the [uwsgi] section of an ini file (same keys, without the dashes).
 *
 * gw_opts_init() fills defaults; gw_opts_parse_argv() and gw_opts_load_ini()
 * apply options in order (repeatable ones append); gw_opts_check() validates
 * the result.  The struct owns every string it holds; gw_opts_free()
 * releases them.  Errors are written to `err` as one line (for ini files
 * "FILE:LINE: message"). */
#ifndef GW_OPTS_H
#define GW_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum gw_proto {
    GW_PROTO_HTTP,  /* HTTP/1.1 (--http-socket) */
    GW_PROTO_UWSGI, /* the uwsgi binary protocol (--socket) */
};

struct gw_sock_opt {
    char *spec;          /* as the user wrote it (owned) */
    enum gw_proto proto; /* which front end serves it */
};

struct gw_opts {
    struct gw_sock_opt *socks; /* listening sockets, in order (owned) */
    int nsocks;
    char *wsgi_file;   /* --wsgi-file: a script defining the callable */
    char *module;      /* --module pkg.mod[:callable] */
    char *callable;    /* --callable (default "application") */
    char *chdir_dir;   /* --chdir, applied before anything is loaded */
    char **pythonpath; /* --pythonpath, prepended to sys.path in order */
    int npythonpath;
    char **env; /* --env K=V */
    int nenv;
    int processes;            /* --processes / --workers (default 1) */
    int harakiri;             /* seconds, 0 = off */
    long max_requests;        /* 0 = unlimited */
    long max_requests_jitter; /* a random 0..N added per worker */
    char *stats;              /* --stats ADDR */
    char *pidfile;            /* --pidfile */
    char *logto;              /* --logto FILE (default stderr) */
    char *virtualenv;         /* --virtualenv/--home DIR: a venv made from Debian's Python */
    char *uid, *gid;          /* --uid/--gid: user and group to run as after binding */
    int listen_backlog;       /* --listen (default 1024) */
    int buffer_size;          /* --buffer-size: max request head bytes (default 65536) */
    int keepalive_timeout;    /* --http-keepalive-timeout seconds (default 60) */
    int socket_timeout;       /* --socket-timeout: body read/response write stall (default 30) */
    bool disable_logging;     /* --disable-logging: no access log */
    bool preload;             /* --preload: import the app in the master before forking */
    bool vacuum;              /* --vacuum: remove unix sockets and pidfile at exit */
    bool yield;               /* --yield (default on): sched_yield() after each loop turn */
    long limit_post;          /* --limit-post: max request body bytes, 0 = no limit (413) */
    char *chown_socket;       /* --chown-socket USER[:GROUP]: owner of the unix sockets */
    char *chmod_socket;       /* --chmod-socket MODE: octal mode of the unix sockets */
    int idle_handoff_ms;      /* --idle-handoff: pass idle connections on after MS (0 = off) */
    bool help, version;
};

void gw_opts_init(struct gw_opts *o);
void gw_opts_free(struct gw_opts *o);

/* Sets one option by its name without dashes ("http-socket").  `val` is
 * NULL for a bare flag.  Returns 0, or -1 with a message in err. */
int gw_opts_set(struct gw_opts *o, const char *name, const char *val, char *err, size_t errlen);

/* Applies argv[1..] ("--name value", "--name=value", flags alone; --ini FILE
 * loads the file at that point).  0 or -1. */
int gw_opts_parse_argv(struct gw_opts *o, int argc, char **argv, char *err, size_t errlen);

/* Applies the [uwsgi] section of an ini file (other sections are ignored).
 * 0 or -1 with "FILE:LINE: message" in err. */
int gw_opts_load_ini(struct gw_opts *o, const char *path, char *err, size_t errlen);

/* Checks the whole: at least one socket, exactly one app source.  0 or -1. */
int gw_opts_check(const struct gw_opts *o, char *err, size_t errlen);

void gw_opts_usage(FILE *out);

#endif
