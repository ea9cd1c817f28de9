/* conf_body: the request body's directives (see conf_body.h). */
#include "conf_body.h"

#include <string.h>

#include "conf_arena.h"

/* client_body_temp_path PATH [L1 [L2 [L3]]]: each level some digits of the
 * file's 10-digit number, at most 10 in all, as nginx's
 * ngx_conf_set_path_slot. */
static int set_temp_path(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                         struct conf_scope *s)
{
    (void)cmd;
    struct cf_tempdir *t = conf_alloc(b->R->A, sizeof(*t));
    if (!t || !(t->path = conf_prefixed(b, n->args[1])))
        return conf_oom(b->R);
    int sum = 0;
    for (int i = 2; i < n->nargs; i++) {
        int v;
        if (conf_parse_int(n->args[i], &v) < 0 || v < 1 || (sum += v) > 10)
            return conf_bad_value(b, n, n->args[i]);
        t->levels[t->nlevels++] = v;
    }
    s->lc->loc.client_body_temp = t;
    return 0;
}

/* client_body_in_file_only on | clean | off */
static int set_in_file_only(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                            struct conf_scope *s)
{
    (void)cmd;
    const char *v = n->args[1];
    int *f = &s->lc->loc.client_body_in_file_only;
    if (strcmp(v, "on") == 0)
        *f = CF_BODY_FILE_ON;
    else if (strcmp(v, "clean") == 0)
        *f = CF_BODY_FILE_CLEAN;
    else if (strcmp(v, "off") == 0)
        *f = CF_BODY_FILE_OFF;
    else
        return conf_error(b->R, n->file, n->line,
                          "invalid value \"%s\" in \"%s\" directive, it must be \"on\", "
                          "\"clean\" or \"off\"",
                          v, CONF_NAME(n));
    return 0;
}

int conf_body_default_temp(struct conf_build *b, struct cf_loc *l)
{
    struct cf_tempdir *t = conf_alloc(b->R->A, sizeof(*t));
    if (!t || !(t->path = conf_prefixed(b, "client_body_temp")))
        return conf_oom(b->R);
    l->client_body_temp = t;
    return 0;
}

static const struct conf_cmd cmds[] = {
    CONF_LOC("proxy_request_buffering", 1, 1, conf_set_flag, proxy_request_buffering,
             F_REQ_BUF_PROXY),
    CONF_LOC("uwsgi_request_buffering", 1, 1, conf_set_flag, uwsgi_request_buffering,
             F_REQ_BUF_UWSGI),
    CONF_LOC("client_body_buffer_size", 1, 1, conf_set_size, client_body_buffer_size,
             F_BODY_BUF_SIZE),
    CONF_LOC("client_body_temp_path", 1, 4, set_temp_path, client_body_temp, F_BODY_TEMP),
    CONF_LOC("client_body_in_file_only", 1, 1, set_in_file_only, client_body_in_file_only,
             F_BODY_IN_FILE),
    CONF_LOC("client_body_in_single_buffer", 1, 1, conf_set_flag, client_body_in_single_buffer,
             F_BODY_SINGLE),
};

const struct conf_cmds conf_body_cmds = CONF_CMDS(cmds);
