/* opts: uWSGI-compatible options (see opts.h).  One table maps each option
 * name to how its value is stored, so the command line and ini files share
 * one code path. */
#include "gw_opts.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind {
    OK_STR,   /* char * replaced */
    OK_LIST,  /* char ** appended */
    OK_INT,   /* int, >= 0 */
    OK_LONG,  /* long, >= 0 */
    OK_FLAG,  /* bool; a value, when given, is parsed as a boolean */
    OK_SOCK,  /* appended to socks with the proto in `arg` */
    OK_IGNORE /* accepted for uWSGI compatibility; value ignored */
};

struct opt_def {
    const char *name;
    enum opt_kind kind;
    size_t off;  /* offset in struct gw_opts (STR, LIST, INT, LONG, FLAG) */
    size_t coff; /* offset of the count (LIST) */
    int arg;     /* proto (SOCK), minimum (INT) */
    bool takes;  /* IGNORE: takes a value on the command line */
    const char *help;
};

#define F(m) offsetof(struct gw_opts, m)

static const struct opt_def opt_defs[] = {
    {"http-socket", OK_SOCK, 0, 0, GW_PROTO_HTTP, 1, "ADDR  serve HTTP/1.1 on ADDR (repeatable)"},
    {"http11-socket", OK_SOCK, 0, 0, GW_PROTO_HTTP, 1, NULL},
    {"socket", OK_SOCK, 0, 0, GW_PROTO_UWSGI, 1,
     "ADDR  serve the uwsgi protocol on ADDR (repeatable)"},
    {"uwsgi-socket", OK_SOCK, 0, 0, GW_PROTO_UWSGI, 1, NULL},
    {"wsgi-file", OK_STR, F(wsgi_file), 0, 0, 1, "FILE  load the WSGI app from a Python file"},
    {"file", OK_STR, F(wsgi_file), 0, 0, 1, NULL},
    {"module", OK_STR, F(module), 0, 0, 1, "MOD[:CALLABLE]  load the WSGI app from a module"},
    {"wsgi", OK_STR, F(module), 0, 0, 1, NULL},
    {"callable", OK_STR, F(callable), 0, 0, 1, "NAME  the app's name (default application)"},
    {"chdir", OK_STR, F(chdir_dir), 0, 0, 1, "DIR  change to DIR before loading the app"},
    {"pythonpath", OK_LIST, F(pythonpath), F(npythonpath), 0, 1,
     "DIR  add DIR to sys.path (repeatable)"},
    {"env", OK_LIST, F(env), F(nenv), 0, 1, "K=V  set an environment variable (repeatable)"},
    {"processes", OK_INT, F(processes), 0, 1, 1, "N  worker processes (default 1)"},
    {"workers", OK_INT, F(processes), 0, 1, 1, NULL},
    {"harakiri", OK_INT, F(harakiri), 0, 0, 1,
     "SECS  replace a worker whose request runs longer (504)"},
    {"max-requests", OK_LONG, F(max_requests), 0, 0, 1, "N  recycle a worker after N requests"},
    {"max-requests-jitter", OK_LONG, F(max_requests_jitter), 0, 0, 1,
     "N  add 0..N to max-requests per worker"},
    {"stats", OK_STR, F(stats), 0, 0, 1, "ADDR  serve JSON statistics on ADDR"},
    {"stats-server", OK_STR, F(stats), 0, 0, 1, NULL},
    {"pidfile", OK_STR, F(pidfile), 0, 0, 1, "FILE  write the master's pid to FILE"},
    {"virtualenv", OK_STR, F(virtualenv), 0, 0, 1,
     "DIR  use the virtualenv DIR (made with Debian's python3)"},
    {"venv", OK_STR, F(virtualenv), 0, 0, 1, NULL},
    {"home", OK_STR, F(virtualenv), 0, 0, 1, NULL},
    {"uid", OK_STR, F(uid), 0, 0, 1,
     "USER  run as USER (name or number) once the sockets are bound"},
    {"gid", OK_STR, F(gid), 0, 0, 1,
     "GROUP  run as GROUP (name or number) once the sockets are bound"},
    {"logto", OK_STR, F(logto), 0, 0, 1, "FILE  log to FILE instead of stderr"},
    {"listen", OK_INT, F(listen_backlog), 0, 1, 1, "N  listen backlog (default 1024)"},
    {"buffer-size", OK_INT, F(buffer_size), 0, 1024, 1,
     "BYTES  max request head size (default 65536)"},
    {"http-keepalive-timeout", OK_INT, F(keepalive_timeout), 0, 1, 1,
     "SECS  idle keep-alive timeout (default 60)"},
    {"socket-timeout", OK_INT, F(socket_timeout), 0, 1, 1,
     "SECS  give up on a client whose body or reading stalls this long (default 30)"},
    {"disable-logging", OK_FLAG, F(disable_logging), 0, 0, 0, "  no access log"},
    {"preload", OK_FLAG, F(preload), 0, 0, 0,
     "  import the app once in the master, before forking"},
    {"vacuum", OK_FLAG, F(vacuum), 0, 0, 0, "  remove unix sockets and the pidfile at exit"},
    {"yield", OK_FLAG, F(yield), 0, 0, 0,
     "  let other runnable processes go first after each event loop turn (default on;\n"
     "           --yield=false: off)"},
    {"limit-post", OK_LONG, F(limit_post), 0, 0, 1,
     "BYTES  refuse request bodies larger than BYTES with 413 (default 0: no limit)"},
    {"chown-socket", OK_STR, F(chown_socket), 0, 0, 1,
     "USER[:GROUP]  owner of the unix sockets (set before privileges are dropped)"},
    {"chmod-socket", OK_STR, F(chmod_socket), 0, 0, 1, "MODE  octal mode of the unix sockets"},
    {"idle-handoff", OK_INT, F(idle_handoff_ms), 0, 0, 1,
     "MS  while a request runs longer, pass this worker's idle keep-alive\n"
     "           connections to idle workers (default 100; 0: off)"},
    {"help", OK_FLAG, F(help), 0, 0, 0, "  this help"},
    {"version", OK_FLAG, F(version), 0, 0, 0, "  print the version"},
    /* uWSGI options we accept and ignore: what they ask for is always so */
    {"master", OK_IGNORE, 0, 0, 0, 0, "  accepted (the master is always on)"},
    {"lazy-apps", OK_IGNORE, 0, 0, 0, 0,
     "  accepted (workers import the app after fork by default)"},
    {"die-on-term", OK_IGNORE, 0, 0, 0, 0, "  accepted (TERM always stops)"},
    {"enable-threads", OK_IGNORE, 0, 0, 0, 0, NULL},
    {"strict", OK_IGNORE, 0, 0, 0, 0, NULL},
    {"need-app", OK_IGNORE, 0, 0, 0, 0, NULL},
    {"single-interpreter", OK_IGNORE, 0, 0, 0, 0, NULL},
    {"plugin", OK_IGNORE, 0, 0, 0, 1, "NAME  accepted (Python is built in)"},
    {"plugins", OK_IGNORE, 0, 0, 0, 1, NULL},
};

#define NDEFS (sizeof(opt_defs) / sizeof(opt_defs[0]))

void gw_opts_init(struct gw_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->processes = 1;
    o->listen_backlog = 1024;
    o->buffer_size = 65536;
    o->keepalive_timeout = 60;
    o->socket_timeout = 30;
    o->yield = true;
    o->idle_handoff_ms = 100;
}

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

void gw_opts_free(struct gw_opts *o)
{
    for (int i = 0; i < o->nsocks; i++)
        free(o->socks[i].spec);
    free(o->socks);
    free(o->wsgi_file);
    free(o->module);
    free(o->callable);
    free(o->chdir_dir);
    free_list(o->pythonpath, o->npythonpath);
    free_list(o->env, o->nenv);
    free(o->stats);
    free(o->pidfile);
    free(o->logto);
    free(o->virtualenv);
    free(o->chown_socket);
    free(o->chmod_socket);
    free(o->uid);
    free(o->gid);
    memset(o, 0, sizeof(*o));
}

static const struct opt_def *find_def(const char *name, size_t len)
{
    for (size_t i = 0; i < NDEFS; i++)
        if (strlen(opt_defs[i].name) == len && memcmp(opt_defs[i].name, name, len) == 0)
            return &opt_defs[i];
    return NULL;
}

static int parse_bool(const char *v, bool *out)
{
    if (!v || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
        !strcmp(v, "1")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
        !strcmp(v, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}

static int parse_long(const char *v, long max, long *out)
{
    if (!*v || !isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (errno || *end || n > max)
        return -1;
    *out = n;
    return 0;
}

static int append_str(char ***list, int *n, const char *v)
{
    char *dup = strdup(v);
    char **nl = dup ? realloc(*list, sizeof(char *) * (size_t)(*n + 1)) : NULL;
    if (!nl) {
        free(dup);
        return -1;
    }
    nl[(*n)++] = dup;
    *list = nl;
    return 0;
}

static int set_def(struct gw_opts *o, const struct opt_def *d, const char *val, char *err,
                   size_t errlen)
{
    char *base = (char *)o;
    if (d->kind != OK_FLAG && d->kind != OK_IGNORE && (!val || !*val)) {
        snprintf(err, errlen, "option %s needs a value", d->name);
        return -1;
    }
    switch (d->kind) {
    case OK_STR: {
        char **slot = (char **)(base + d->off);
        char *dup = strdup(val);
        if (!dup)
            goto nomem;
        free(*slot);
        *slot = dup;
        return 0;
    }
    case OK_LIST:
        if (append_str((char ***)(base + d->off), (int *)(base + d->coff), val) < 0)
            goto nomem;
        return 0;
    case OK_INT:
    case OK_LONG: {
        long n;
        if (parse_long(val, d->kind == OK_INT ? INT_MAX : LONG_MAX, &n) < 0 || n < d->arg) {
            snprintf(err, errlen, "option %s: \"%s\" is not a whole number >= %d", d->name, val,
                     d->arg);
            return -1;
        }
        if (d->kind == OK_INT)
            *(int *)(base + d->off) = (int)n;
        else
            *(long *)(base + d->off) = n;
        return 0;
    }
    case OK_FLAG:
        if (parse_bool(val, (bool *)(base + d->off)) < 0) {
            snprintf(err, errlen, "option %s: \"%s\" is not a boolean", d->name, val);
            return -1;
        }
        return 0;
    case OK_SOCK: {
        struct gw_sock_opt *ns = realloc(o->socks, sizeof(*ns) * (size_t)(o->nsocks + 1));
        if (!ns)
            goto nomem;
        o->socks = ns;
        ns[o->nsocks].spec = strdup(val);
        if (!ns[o->nsocks].spec)
            goto nomem;
        ns[o->nsocks].proto = (enum gw_proto)d->arg;
        o->nsocks++;
        return 0;
    }
    case OK_IGNORE:
        return 0;
    }
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int gw_opts_set(struct gw_opts *o, const char *name, const char *val, char *err, size_t errlen)
{
    if (!strcmp(name, "ini")) {
        if (!val || !*val) {
            snprintf(err, errlen, "option ini needs a value");
            return -1;
        }
        return gw_opts_load_ini(o, val, err, errlen);
    }
    const struct opt_def *d = find_def(name, strlen(name));
    if (!d) {
        snprintf(err, errlen, "unknown option \"%s\" (see --help)", name);
        return -1;
    }
    return set_def(o, d, val, err, errlen);
}

int gw_opts_parse_argv(struct gw_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            snprintf(err, errlen, "unexpected argument \"%s\" (options start with --)", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        char name[64];
        if (nl >= sizeof(name)) {
            snprintf(err, errlen, "unknown option \"--%s\"", a);
            return -1;
        }
        memcpy(name, a, nl);
        name[nl] = '\0';
        const char *val = eq ? eq + 1 : NULL;
        const struct opt_def *d = find_def(name, nl);
        bool takes =
            !strcmp(name, "ini") || (d && d->kind != OK_FLAG && (d->kind != OK_IGNORE || d->takes));
        if (!eq && takes) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option --%s needs a value", name);
                return -1;
            }
            val = argv[++i];
        }
        if (gw_opts_set(o, name, val, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* uWSGI's magic variables in ini values: %d the ini file's folder (absolute,
 * with a trailing '/'), %n its name without extension, %p its absolute path,
 * %% a '%'.  Other %x are kept.  0, or -1 when `out` is too small. */
static int expand_magic(const char *ini, const char *val, char *out, size_t n)
{
    char abs[4096];
    if (!realpath(ini, abs))
        snprintf(abs, sizeof(abs), "%s", ini);
    const char *slash = strrchr(abs, '/');
    size_t dlen = slash ? (size_t)(slash - abs) + 1 : 0;
    const char *base = slash ? slash + 1 : abs;
    const char *dot = strrchr(base, '.');
    size_t blen = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    size_t o = 0;
    for (const char *v = val; *v; v++) {
        const char *add = v;
        size_t alen = 1;
        if (v[0] == '%' && v[1]) {
            switch (v[1]) {
            case 'd':
                add = abs, alen = dlen, v++;
                break;
            case 'n':
                add = base, alen = blen, v++;
                break;
            case 'p':
                add = abs, alen = strlen(abs), v++;
                break;
            case '%':
                alen = 1, v++;
                break;
            default:
                break;
            }
        }
        if (o + alen >= n)
            return -1;
        memcpy(out + o, add, alen);
        o += alen;
    }
    out[o] = '\0';
    return 0;
}

int gw_opts_load_ini(struct gw_opts *o, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], msg[512];
    int lineno = 0, rc = 0;
    bool in_uwsgi = false, seen = false;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *rb = strchr(s, ']');
            if (!rb || rb[1]) {
                snprintf(err, errlen, "%s:%d: malformed section header", path, lineno);
                rc = -1;
                break;
            }
            *rb = '\0';
            in_uwsgi = !strcmp(trim(s + 1), "uwsgi");
            seen = seen || in_uwsgi;
            continue;
        }
        if (!in_uwsgi)
            continue;
        char *eq = strchr(s, '=');
        char *key = s, *val = NULL;
        if (eq) {
            *eq = '\0';
            key = trim(s);
            val = trim(eq + 1);
        }
        if (!*key) {
            snprintf(err, errlen, "%s:%d: missing option name", path, lineno);
            rc = -1;
            break;
        }
        char expanded[4096];
        if (val && expand_magic(path, val, expanded, sizeof(expanded)) < 0) {
            snprintf(err, errlen, "%s:%d: value too long after expanding %%d/%%n/%%p", path,
                     lineno);
            rc = -1;
            break;
        }
        if (gw_opts_set(o, key, val ? expanded : NULL, msg, sizeof(msg)) < 0) {
            /* a nested --ini error already names its own file */
            if (!strcmp(key, "ini"))
                snprintf(err, errlen, "%s", msg);
            else
                snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    if (rc == 0 && !seen) {
        snprintf(err, errlen, "%s:%d: no [uwsgi] section", path, lineno);
        rc = -1;
    }
    fclose(f);
    return rc;
}

int gw_opts_check(const struct gw_opts *o, char *err, size_t errlen)
{
    if (o->nsocks == 0) {
        snprintf(err, errlen, "no socket: give --http-socket ADDR or --socket ADDR");
        return -1;
    }
    if (!o->wsgi_file && !o->module) {
        snprintf(err, errlen, "no application: give --wsgi-file FILE or --module MODULE");
        return -1;
    }
    if (o->wsgi_file && o->module) {
        snprintf(err, errlen, "give either --wsgi-file or --module, not both");
        return -1;
    }
    for (int i = 0; i < o->nenv; i++)
        if (!strchr(o->env[i], '=') || o->env[i][0] == '=') {
            snprintf(err, errlen, "option env: \"%s\" is not K=V", o->env[i]);
            return -1;
        }
    if (o->chmod_socket) {
        char *end;
        errno = 0;
        long m = strtol(o->chmod_socket, &end, 8);
        if (errno || *end || end == o->chmod_socket || m < 0 || m > 07777) {
            snprintf(err, errlen, "option chmod-socket: \"%s\" is not an octal mode",
                     o->chmod_socket);
            return -1;
        }
    }
    return 0;
}

void gw_opts_usage(FILE *out)
{
    fprintf(out,
            "usage: gateway [--ini FILE] --http-socket ADDR|--socket ADDR "
            "(--wsgi-file FILE|--module MOD) [options]\n\n"
            "ADDR is host:port, :port, /path or unix:/path.  Every option may also be\n"
            "written --name=value, or as \"name = value\" in an ini file's [uwsgi] section.\n\n"
            "  --ini FILE  read options from FILE's [uwsgi] section\n");
    for (size_t i = 0; i < NDEFS; i++)
        if (opt_defs[i].help)
            fprintf(out, "  --%s %s\n", opt_defs[i].name, opt_defs[i].help);
    fprintf(out, "\nSignals to the master: HUP reloads the workers one by one (new app code),\n"
                 "TERM/INT/QUIT stop gracefully, USR1 logs each worker's state.\n");
}
