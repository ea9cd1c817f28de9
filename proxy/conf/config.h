/* config: the proxy's typed configuration, the contract between the config
 * reader (conf_load in conf.h builds it from nginx-syntax files) and everything that runs
 * requests (which only reads it).
 *
 * Owner: conf_load() allocates the whole tree and cf_free() releases it.  Settings
 * inherited in nginx (http -> server -> location) are already merged when
 * conf_load() returns: a location carries every value it uses, so the request
 * path never walks up the tree.  Times are milliseconds, sizes bytes.
 * Everything here is read-only after loading, shared by all connections of a
 * worker; runtime state hangs off the `rt` pointers, owned by the module named
 * beside each. */
#ifndef PROXY_CONFIG_H
#define PROXY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "log.h"

struct tmpl;  /* vars.h: a compiled value with $variables */
struct h_ops; /* handler.h: a content handler */

struct cf_where { /* where a directive was written, for messages */
    const char *file;
    int line;
};

/* --- log_format / access_log ------------------------------------------- */

enum cf_escape { CF_ESC_DEFAULT, CF_ESC_JSON, CF_ESC_NONE };

struct cf_log_format {
    char *name;            /* "combined" is predefined */
    struct tmpl *fmt;      /* the concatenated format strings */
    enum cf_escape escape; /* escape= */
};

struct cf_access_log {
    char *path; /* as configured, prefix applied */
    const struct cf_log_format *format;
    void *rt; /* accesslog.c: the open file */
};

/* --- upstream { } -------------------------------------------------------- */

struct cf_peer {      /* one `server` line; a name resolving to several addresses makes several */
    char *name;       /* as written ("app1:8000", "unix:/run/app.sock") */
    struct addr addr; /* resolved */
    int weight;       /* weight=, default 1 */
    int max_fails;    /* max_fails=, default 1; 0 disables failure accounting */
    int fail_timeout_ms; /* fail_timeout=, default 10s */
    int max_conns;       /* max_conns=, 0 = unlimited */
    int slow_start_ms;   /* slow_start=, 0 = off */
    bool backup;
    bool down;
    bool resolve; /* re-resolve `name` while running (needs `resolver`) */
    struct cf_where where;
};

struct cf_health_check { /* health_check interval= fails= passes= uri= timeout= */
    bool enabled;
    int interval_ms;
    int fails;
    int passes;
    int timeout_ms;
    char *uri;
};

struct cf_upstream {
    char *name;            /* upstream NAME, or "host:port" for an implicit one */
    bool implicit;         /* made from `proxy_pass http://ADDR` */
    struct cf_peer *peers; /* primaries and backups, in config order */
    int npeers;
    char *lb_name;  /* "round_robin" (default), "ip_hash", "least_conn", "hash",
                       "random", "least_time", ... */
    char **lb_args; /* arguments of the policy directive, e.g. {"$request_uri",
                       "consistent"}; the policy parses them */
    int nlb_args;
    struct cf_where lb_where; /* for the policy's error messages */
    int keepalive;            /* idle connections cached per worker; 0 = none */
    int keepalive_timeout_ms; /* default 60s */
    int keepalive_requests;   /* default 1000 */
    struct cf_health_check hc;
    struct cf_where where;
    void *rt; /* upstream.c: the worker's runtime group */
};

/* --- location / server / http -------------------------------------------- */

struct cf_header { /* proxy_set_header, add_header, uwsgi_param */
    char *name;
    struct tmpl *value;
    bool always;       /* add_header ... always */
    bool if_not_empty; /* uwsgi_param ... if_not_empty */
};

enum cf_loc_match {
    CF_LOC_PREFIX,    /* location /path */
    CF_LOC_EXACT,     /* location = /path */
    CF_LOC_PREFERRED, /* location ^~ /path */
};

enum cf_handler {
    CF_H_STATIC, /* root/alias/index (the default, as in nginx: root "html") */
    CF_H_PROXY,  /* proxy_pass */
    CF_H_UWSGI,  /* uwsgi_pass */
    CF_H_RETURN, /* return */
    CF_H_STATUS, /* status (JSON of upstream state) */
};

enum { /* proxy_next_upstream flags */
       CF_NEXT_ERROR = 1 << 0,
       CF_NEXT_TIMEOUT = 1 << 1,
       CF_NEXT_INVALID_HEADER = 1 << 2,
       CF_NEXT_HTTP_500 = 1 << 3,
       CF_NEXT_HTTP_502 = 1 << 4,
       CF_NEXT_HTTP_503 = 1 << 5,
       CF_NEXT_HTTP_504 = 1 << 6,
       CF_NEXT_HTTP_429 = 1 << 7,
       CF_NEXT_HTTP_403 = 1 << 8,
       CF_NEXT_HTTP_404 = 1 << 9,
       CF_NEXT_NON_IDEMPOTENT = 1 << 10,
       CF_NEXT_OFF = 1 << 11,
};

struct cf_server;

struct cf_mime { /* one extension of a types { } block */
    char *ext;   /* lowercase, without the dot */
    char *type;
};

struct cf_types { /* sorted by ext for bsearch (conf_mime_type in conf_mime.h) */
    struct cf_mime *m;
    int n;
};

struct cf_loc {
    enum cf_loc_match match;
    char *path; /* the location's prefix or exact path */
    size_t path_len;
    const struct cf_server *server; /* enclosing server */
    struct cf_where where;

    enum cf_handler handler;
    const struct h_ops *content; /* the content handler (handler.h), NULL if none registered */

    /* proxy_pass / uwsgi_pass */
    struct cf_upstream *upstream;    /* NULL unless CF_H_PROXY / CF_H_UWSGI */
    char *pass_uri;                  /* URI part of proxy_pass ("/x/"), NULL when absent */
    char *proxy_host;                /* $proxy_host: upstream name or host[:port] */
    struct cf_header *proxy_headers; /* proxy_set_header after merging with nginx's defaults
                                       (Host $proxy_host, Connection close); a header with an
                                       empty constant value is not sent */
    int nproxy_headers;
    struct cf_header *uwsgi_params; /* uwsgi_param list */
    int nuwsgi_params;
    bool uwsgi_http_params;       /* one of them sets an HTTP_ variable */
    int proxy_http_version;       /* 10 or 11; nginx's default is 10 */
    int connect_timeout_ms;       /* proxy_connect_timeout, default 60s */
    int proxy_send_timeout_ms;    /* proxy_send_timeout, default 60s */
    int read_timeout_ms;          /* proxy_read_timeout, default 60s */
    bool buffering;               /* proxy_buffering */
    int next_upstream;            /* CF_NEXT_* flags, default error|timeout */
    int next_upstream_tries;      /* 0 = unlimited */
    int next_upstream_timeout_ms; /* 0 = unlimited */
    int buffer_size; /* proxy_buffer_size / uwsgi_buffer_size: the response head must fit in it
                        (default 64k; nginx's is one page, 4k) */

    /* return */
    int return_code;
    struct tmpl *return_text; /* body text, or URL for 301/302/303/307/308; may be NULL */

    /* static files */
    char *root;   /* root (default "html" under the prefix) */
    char *alias;  /* alias, NULL when unset */
    char **index; /* index files, default {"index.html"} */
    int nindex;

    /* response */
    struct cf_header *add_headers;
    int nadd_headers;
    bool server_tokens; /* Server: proxy/VERSION vs proxy */
    int expires;        /* CF_EXP_*: expires off (default) | epoch | max | [-]TIME */
    int64_t expires_s;  /* CF_EXP_TIME: seconds from the response's time, may be < 0 */
    bool server_timing; /* server_timing on */

    /* client side limits and timeouts */
    int64_t client_max_body_size; /* default 1m; 0 = unlimited */
    int client_body_timeout_ms;   /* default 60s */
    int send_timeout_ms;          /* default 60s */
    int keepalive_timeout_ms;     /* default 75s; 0 disables keep-alive */
    int keepalive_requests;       /* default 1000 */

    struct cf_access_log *access_logs; /* empty when access_log off */
    int naccess_logs;

    const struct cf_types *types; /* types { }; NULL when none is configured anywhere */
    char *default_type;           /* default_type, default "text/plain" */

    /* after the response: the rest of the request body and the close */
    int lingering_close;      /* CF_LINGER_*: lingering_close off | on (default) | always */
    int lingering_time_ms;    /* lingering_time, default 30s */
    int lingering_timeout_ms; /* lingering_timeout, default 5s */
    /* request body buffering (conf_body.c) */
    bool proxy_request_buffering;              /* default on */
    bool uwsgi_request_buffering;              /* default on */
    int64_t client_body_buffer_size;           /* default 16k (two pages, as nginx on x86-64) */
    const struct cf_tempdir *client_body_temp; /* client_body_temp_path, default
                                                  "client_body_temp" under the prefix */
    int client_body_in_file_only;              /* CF_BODY_FILE_*, default off */
    bool client_body_in_single_buffer;         /* accepted: the in-memory body is one buffer */
    /* response buffering (proxy_* and uwsgi_* set the same fields) */
    int buffers_num;            /* proxy_buffers NUMBER SIZE: memory for a response, */
    int buffers_size;           /* default 8 4k */
    int busy_buffers_size;      /* proxy_busy_buffers_size, default 2 buffers (checked only) */
    int64_t max_temp_file_size; /* proxy_max_temp_file_size, default 1024m; 0: no file */
    int temp_file_write_size;   /* proxy_temp_file_write_size, default 2 buffers */
    char *temp_path;            /* proxy_temp_path; NULL: proxy_temp or uwsgi_temp under
                                   the prefix */
    int temp_levels[3];         /* its subfolder levels (1 or 2 hex digits each), 0: none */
    int ignore_headers;         /* proxy_ignore_headers: CF_IGN_* */
};

enum { /* proxy_ignore_headers: the ones that change what we do */
       CF_IGN_X_ACCEL_BUFFERING = 1 << 0,
};

/* client_body_in_file_only */
enum cf_body_file { CF_BODY_FILE_OFF, CF_BODY_FILE_CLEAN, CF_BODY_FILE_ON };

/* A temp directory as client_body_temp_path gives it: PATH [L1 [L2 [L3]]]. */
struct cf_tempdir {
    char *path;    /* prefix applied */
    int levels[3]; /* subdirectory name lengths, at most 10 in all */
    int nlevels;
};

enum cf_linger { CF_LINGER_OFF, CF_LINGER_ON, CF_LINGER_ALWAYS };

enum cf_expires { CF_EXP_OFF, CF_EXP_EPOCH, CF_EXP_MAX, CF_EXP_TIME };

struct cf_listen {
    struct addr addr;
    bool reuseport;
    bool default_server;
    bool deferred; /* TCP_DEFER_ACCEPT: accepted once data arrived (as nginx, 1 s) */
    int backlog;   /* default 511 as nginx */
    bool opts;     /* gave socket options (backlog=, reuseport, deferred, bind): one
                      listen per address may, and they apply to all of its listens */
    int fd;        /* opened by the master (listener.c), -1 before */
    struct cf_where where;
};

struct cf_server {
    struct cf_listen *listens;
    int nlistens;
    char **names; /* server_name values; "" allowed */
    int nnames;
    struct cf_loc *locs; /* every location; route.c orders/indexes them */
    int nlocs;
    struct cf_loc *def_loc;       /* settings for requests no location matches (server level) */
    int client_header_timeout_ms; /* default 60s */
    int large_header_buffers;     /* large_client_header_buffers number, default 4 */
    int large_header_buffer_size; /* ... size, default 8k: also the request line limit */
    struct cf_where where;
    void *rt; /* route.c: lookup structures */
};

struct cf_main {
    char *prefix;           /* -p, default the directory holding the binary's conf/ */
    char *conf_file;        /* -c as given, made absolute */
    int worker_processes;   /* "auto" = number of CPUs */
    int worker_connections; /* events { worker_connections }, default 512 */
    bool yield;             /* events { yield on|off }: sched_yield() after each loop turn (off) */
    bool multi_accept; /* events { multi_accept on|off }: take every pending connection (off) */
    int worker_rlimit_nofile; /* RLIMIT_NOFILE for workers (set by the master); 0 = unchanged */
    char *pid_file;           /* NULL: no pid file */
    char *error_log;          /* path or "stderr" */
    enum log_level error_log_level;

    struct cf_server *servers;
    int nservers;
    struct cf_upstream **upstreams; /* named and implicit */
    int nupstreams;
    struct cf_log_format **log_formats;
    int nlog_formats;
    char **resolvers; /* resolver addresses, empty when none */
    int nresolvers;
    int resolver_valid_ms;
    int worker_shutdown_timeout_ms; /* worker_shutdown_timeout: 0 = none (wait for every request) */
    /* user USER [GROUP]: what workers run as; user_set is false when the
     * master is not root (the directive is ignored then, as nginx does) */
    bool user_set;
    uid_t user_uid;
    gid_t user_gid;
    char *user_name;
};

#endif
