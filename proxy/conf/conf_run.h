/* conf_run: the directive tables and the runner that applies them to the
 * statements conf_read made (nginx's ngx_command_t and ngx_conf_handler).
 *
 * Each module (conf_main.c, conf_log.c, conf_http.c, conf_upstream.c,
 * conf_proxy.c, conf_static.c, conf_return.c) owns one table of its
 * directives next to their setters.  A table entry names the contexts the
 * directive is allowed in, its argument count, whether it opens a block, its
 * setter, where its value goes (the store and offset) and whether it may be
 * repeated.  The runner checks all of that in one place, in nginx's order and
 * wording, so a setter only parses its arguments:
 *
 *   unknown directive → not allowed here → `{` / `;` → argument count
 *   → "is duplicate" (CONF_ONCE) → setter → "is duplicate" (CONF_ONCE_VALID)
 *
 * One name may have several entries for different contexts (`server` in http
 * and in upstream, `keepalive_timeout` in a location and in an upstream).
 *
 * Everything here lives while conf_load() runs; the result is config.h's
 * tree, in the arena (conf_arena.h). */
#ifndef PROXY_CONF_RUN_H
#define PROXY_CONF_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf_read.h"
#include "config.h"

enum conf_ctx { /* where a directive may be written; a table entry ORs them */
                CONF_MAIN = 1,
                CONF_EVENTS = 2,
                CONF_HTTP = 4,
                CONF_SRV = 8,
                CONF_LOC = 16,
                CONF_UPS = 32,
                CONF_HSL = CONF_HTTP | CONF_SRV | CONF_LOC,
};

enum conf_store { /* the struct a directive's value and "set here" bit belong to */
                  CONF_ST_NONE,
                  CONF_ST_MAIN, /* struct cf_main; bits in conf_build.main_set (MAIN_*) */
                  CONF_ST_UPS,  /* the upstream being read; bits in conf_scope.up_set (UPS_*) */
                  CONF_ST_LOC,  /* struct loc_conf of the level; bits in loc_conf.set (F_*) */
};

enum conf_dup {                  /* what a second occurrence at the same level means */
                CONF_MANY,       /* allowed (lists); the bit, if any, only records "set here" */
                CONF_ONCE,       /* "is duplicate", before its arguments are looked at (nginx) */
                CONF_ONCE_VALID, /* "is duplicate", once its value was found valid */
};

enum { /* conf_build.main_set */
       MAIN_WORKER_PROCESSES,
       MAIN_PID,
       MAIN_ERROR_LOG,
       MAIN_DAEMON,
       MAIN_MASTER_PROCESS,
       MAIN_USER,
       MAIN_RLIMIT_NOFILE,
       MAIN_EVENTS,
       MAIN_HTTP,
       MAIN_WORKER_CONNECTIONS,
       MAIN_YIELD,
       MAIN_MULTI_ACCEPT,
       MAIN_RESOLVER,
       MAIN_SHUTDOWN_TIMEOUT,
};

enum { /* conf_scope.up_set: one upstream { } block */
       UPS_KEEPALIVE,
       UPS_KEEPALIVE_TIMEOUT,
       UPS_KEEPALIVE_REQUESTS,
       UPS_HEALTH_CHECK,
       UPS_POLICY,
};

enum { /* loc_conf.set: location settings set at a level (inheritance, duplicates) */
       F_PROXY_HEADERS,
       F_UWSGI_PARAMS,
       F_HTTP_VERSION,
       F_CONNECT_TO,
       F_PSEND_TO,
       F_READ_TO,
       F_BUFFERING,
       F_NEXT_UP,
       F_NEXT_TRIES,
       F_NEXT_TO,
       F_BUF_SIZE,
       F_ROOT,
       F_ALIAS,
       F_INDEX,
       F_ADD_HEADERS,
       F_TOKENS,
       F_TIMING,
       F_MAX_BODY,
       F_BODY_TO,
       F_SEND_TO,
       F_KA_TO,
       F_KA_REQ,
       F_ACCESS_LOG,
       F_TYPES,
       F_DEFAULT_TYPE,
       F_EXPIRES,
       F_HDR_TO,
       F_LHB,
       F_RETURN,
       F_PASS,
       F_STATUS,
       F_REQ_BUF_PROXY, /* proxy_request_buffering */
       F_REQ_BUF_UWSGI, /* uwsgi_request_buffering */
       F_BODY_BUF_SIZE, /* client_body_buffer_size */
       F_BODY_TEMP,     /* client_body_temp_path */
       F_BODY_IN_FILE,  /* client_body_in_file_only */
       F_BODY_SINGLE,   /* client_body_in_single_buffer */
       F_LINGER_CLOSE,
       F_LINGER_TIME,
       F_LINGER_TO,
       F_BUFFERS,
       F_BUSY_SIZE,
       F_MAX_TEMP,
       F_TEMP_WRITE,
       F_TEMP_PATH,
       F_IGNORE_HDRS,
};

struct srv_conf;

struct pass_target {    /* proxy_pass / uwsgi_pass as written; resolved by conf_proxy_finish */
    const char *target; /* after the scheme, before the URI */
    const char *uri;    /* NULL when absent */
    bool uwsgi;
    struct conf_node *n; /* for messages */
};

struct loc_conf { /* one level's location settings (http, server, location) */
    struct cf_loc loc;
    uint64_t set;            /* F_* set at this level; after merging, at it or above */
    struct loc_conf *parent; /* NULL for http */
    struct srv_conf *srv;    /* NULL for http */
    struct pass_target pass;
    int hdr_to;          /* client_header_timeout (server level) */
    int lhb_n, lhb_size; /* large_client_header_buffers (server level) */
    bool access_off;     /* access_log off */
};

struct srv_conf {           /* one server { } */
    struct loc_conf *def;   /* its own level: requests no location matches */
    struct loc_conf **locs; /* every location, nested ones too, parents first */
    int nlocs;
    struct cf_listen *listens;
    int nlistens;
    char **names; /* server_name values; none when it was not given */
    int nnames;
    struct conf_node *n;
};

struct conf_build { /* the state of building the tree */
    struct conf_reader *R;
    struct cf_main *cf;
    uint64_t main_set;     /* MAIN_* */
    struct loc_conf *http; /* http { } level */
    struct srv_conf **srvs;
    int nsrvs;
    struct cf_upstream **ups; /* named and implicit */
    int nups;
    struct tmpl *t_proxy_host, *t_close;   /* nginx's default proxy_set_header values */
    const struct conf_cmds *const *tables; /* every module's table, searched in order */
    size_t ntables;
};

struct conf_scope { /* the block being run */
    enum conf_ctx ctx;
    struct loc_conf *lc;    /* http/server/location level; NULL in main and events */
    struct srv_conf *sc;    /* server { } around, if any */
    struct cf_upstream *up; /* upstream { } around, if any */
    uint64_t up_set;        /* UPS_* of that upstream */
};

struct conf_cmd;
/* Parses the directive's arguments into the tree.  0, or -1 with the error
 * written (conf_error).  The runner has already checked context, block,
 * argument count and CONF_ONCE. */
typedef int (*conf_set_fn)(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                           struct conf_scope *s);

struct conf_cmd {
    const char *name;
    int ctx;      /* CONF_* allowed */
    int min, max; /* argument counts, the name excluded; max -1 = any */
    bool block;   /* takes a { } block instead of ending with `;` */
    conf_set_fn set;
    enum conf_store store;
    size_t off;          /* for the generic setters: offset in the store's struct */
    int bit;             /* "set here" bit in the store's mask; -1 none */
    enum conf_dup dup;   /* needs bit */
    const char *dup_msg; /* instead of "\"NAME\" directive is duplicate" */
};

struct conf_cmds { /* one module's table */
    const struct conf_cmd *cmd;
    size_t n;
    /* names that are not in cmd[] but known to the module (the balancing
     * methods, one per lb table entry); NULL for none */
    const struct conf_cmd *(*find)(const char *name);
};

#define CONF_CMDS(arr)                                                                             \
    {                                                                                              \
        (arr), sizeof(arr) / sizeof((arr)[0]), NULL                                                \
    }

/* Table entry shorthands; the fields not named are zero. */
/* A directive without a "set here" bit: its setter does all. */
#define CONF_CMD(nm, ctx_, mn, mx, setter)                                                         \
    {                                                                                              \
        .name = (nm), .ctx = (ctx_), .min = (mn), .max = (mx), .set = (setter), .bit = -1          \
    }
/* A location setting (http, server, location) given once per level, a
 * duplicate once its value was found valid; `field` of struct cf_loc for
 * the generic setters. */
#define CONF_LOC(nm, mn, mx, setter, field, bit_)                                                  \
    {                                                                                              \
        .name = (nm), .ctx = CONF_HSL, .min = (mn), .max = (mx), .set = (setter),                  \
        .store = CONF_ST_LOC, .off = LOC_OFF(field), .bit = (bit_), .dup = CONF_ONCE_VALID         \
    }
/* A directive given once where it stands, a duplicate before its arguments
 * are read (nginx's order); `off_` in the store's struct for the generic
 * setters. */
#define CONF_ONCE_CMD(nm, ctx_, mn, mx, setter, store_, off_, bit_)                                \
    {                                                                                              \
        .name = (nm), .ctx = (ctx_), .min = (mn), .max = (mx), .set = (setter), .store = (store_), \
        .off = (off_), .bit = (bit_), .dup = CONF_ONCE                                             \
    }
/* A location list (add_header, ...): repeated at will, the bit says "set here". */
#define CONF_LOC_LIST(nm, mn, mx, setter, bit_)                                                    \
    {                                                                                              \
        .name = (nm), .ctx = CONF_HSL, .min = (mn), .max = (mx), .set = (setter),                  \
        .store = CONF_ST_LOC, .bit = (bit_), .dup = CONF_MANY                                      \
    }
/* Offset of a cf_loc field in struct loc_conf (CONF_ST_LOC). */
#define LOC_OFF(f)   offsetof(struct loc_conf, loc.f)
#define CONF_NAME(n) ((n)->args[0])

/* Runs every statement of block n (its kids) in scope s.  0 or -1. */
int conf_run_block(struct conf_build *b, struct conf_node *n, struct conf_scope *s);

/* Messages in nginx's words, at n's position; all return -1. */
int conf_bad_value(struct conf_build *b, const struct conf_node *n, const char *v);
int conf_duplicate(struct conf_build *b, const struct conf_node *n);

/* Compiles a value with $variables; the arena keeps it.  NULL with the error
 * written (at n, or without a position when n is NULL). */
struct tmpl *conf_compile(struct conf_build *b, const struct conf_node *n, const char *src);
/* A path relative to the -p prefix, made absolute, in the arena; NULL: out of memory. */
char *conf_prefixed(struct conf_build *b, const char *path);

/* Values, each 0 or -1: nginx sizes ("512", "8k", "1m", "1g") in bytes;
 * nginx times ("500ms", "30s", "1h 30m"; no unit = seconds) in milliseconds,
 * at most INT32_MAX (conf_parse_msec) or max (conf_parse_time); a
 * non-negative decimal int. */
int conf_parse_size(const char *s, int64_t *out);
int conf_parse_msec(const char *s, int64_t *out);
int conf_parse_time(const char *s, int64_t max, int64_t *out);
int conf_parse_int(const char *s, int *out);

/* Generic setters: the value into the store at cmd->off. */
int conf_set_flag(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                  struct conf_scope *s); /* on|off into bool */
int conf_set_msec(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                  struct conf_scope *s); /* time into int milliseconds */
int conf_set_int(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                 struct conf_scope *s); /* >= 0 into int */
int conf_set_size(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                  struct conf_scope *s); /* size into int64_t */
/* on|off accepted and checked, without effect (see conf.h). */
int conf_set_ignored_flag(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                          struct conf_scope *s);
/* [NUMBER] SIZE checked as nginx reads them, without effect (buffer and hash
 * table sizes; see conf.h). */
int conf_set_unused_sizes(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                          struct conf_scope *s);
/* An on|off directive whose only supported value, off, is what we always do;
 * `on` is refused with `why`. */
int conf_only_off(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                  struct conf_scope *s, const char *why);

#endif
