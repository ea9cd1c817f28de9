/* conf_log: error_log, log_format, access_log (see conf_log.h). */
#include "conf_log.h"

#include <string.h>

#include "log.h"

static int set_error_log(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                         struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    const char *p = n->args[1];
    if (strncmp(p, "syslog:", 7) == 0 || strncmp(p, "memory:", 7) == 0)
        return conf_error(b->R, n->file, n->line, "\"%s\" error logs are not supported", p);
    b->cf->error_log = strcmp(p, "stderr") == 0 ? conf_strdup(b->R->A, p) : conf_prefixed(b, p);
    if (!b->cf->error_log)
        return conf_oom(b->R);
    b->cf->error_log_level = LL_ERROR;
    if (n->nargs > 2 && log_level_parse(n->args[2], &b->cf->error_log_level) < 0)
        return conf_error(b->R, n->file, n->line, "invalid log level \"%s\"", n->args[2]);
    return 0;
}

const struct cf_log_format *conf_log_find_format(struct conf_build *b, const char *name)
{
    for (int i = 0; i < b->cf->nlog_formats; i++)
        if (strcmp(b->cf->log_formats[i]->name, name) == 0)
            return b->cf->log_formats[i];
    return NULL;
}

static int set_log_format(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                          struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    if (conf_log_find_format(b, n->args[1]))
        return conf_error(b->R, n->file, n->line, "duplicate \"log_format\" name \"%s\"",
                          n->args[1]);
    int i = 2;
    enum cf_escape esc = CF_ESC_DEFAULT;
    if (strncmp(n->args[i], "escape=", 7) == 0) {
        const char *e = n->args[i] + 7;
        if (strcmp(e, "default") == 0)
            esc = CF_ESC_DEFAULT;
        else if (strcmp(e, "json") == 0)
            esc = CF_ESC_JSON;
        else if (strcmp(e, "none") == 0)
            esc = CF_ESC_NONE;
        else
            return conf_error(b->R, n->file, n->line, "unknown log format escaping \"%s\"", e);
        i++;
    }
    if (i >= n->nargs)
        return conf_error(b->R, n->file, n->line,
                          "invalid number of arguments in \"log_format\" directive");
    size_t len = 0;
    for (int k = i; k < n->nargs; k++)
        len += strlen(n->args[k]);
    char *text = conf_alloc(b->R->A, len + 1);
    struct cf_log_format *f = conf_alloc(b->R->A, sizeof(*f));
    if (!text || !f)
        return conf_oom(b->R);
    text[0] = 0;
    for (int k = i; k < n->nargs; k++)
        strcat(text, n->args[k]);
    f->name = n->args[1];
    f->escape = esc;
    if (!(f->fmt = conf_compile(b, n, text)))
        return -1;
    struct cf_log_format **slot = CONF_PUSH(b->R->A, b->cf->log_formats, b->cf->nlog_formats);
    if (!slot)
        return conf_oom(b->R);
    *slot = f;
    return 0;
}

static int set_access_log(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                          struct conf_scope *s)
{
    (void)cmd;
    struct loc_conf *lc = s->lc;
    if (strcmp(n->args[1], "off") == 0) {
        if (n->nargs > 2)
            return conf_error(b->R, n->file, n->line, "invalid parameter \"%s\"", n->args[2]);
        lc->access_off = true;
        return 0;
    }
    const char *p = n->args[1];
    if (strncmp(p, "syslog:", 7) == 0)
        return conf_error(b->R, n->file, n->line, "syslog access logs are not supported");
    if (strchr(p, '$'))
        return conf_error(b->R, n->file, n->line,
                          "variables in access_log paths are not supported");
    const struct cf_log_format *f = NULL;
    if (n->nargs > 2) {
        f = conf_log_find_format(b, n->args[2]);
        if (!f)
            return conf_error(b->R, n->file, n->line, "unknown log format \"%s\"", n->args[2]);
    } else {
        f = conf_log_find_format(b, "combined");
    }
    if (n->nargs > 3)
        return conf_error(
            b->R, n->file, n->line,
            "access_log parameter \"%s\" is not supported (buffer=, flush=, gzip, if=)",
            n->args[3]);
    struct cf_access_log *al = CONF_PUSH(b->R->A, lc->loc.access_logs, lc->loc.naccess_logs);
    if (!al)
        return conf_oom(b->R);
    al->path = conf_prefixed(b, p);
    al->format = f;
    al->rt = NULL;
    return al->path ? 0 : conf_oom(b->R);
}

int conf_log_init(struct conf_build *b)
{
    struct cf_main *cf = b->cf;
    struct cf_log_format *comb = conf_alloc(b->R->A, sizeof(*comb));
    struct cf_log_format **slot =
        comb ? CONF_PUSH(b->R->A, cf->log_formats, cf->nlog_formats) : NULL;
    if (!slot)
        return conf_oom(b->R);
    *slot = comb;
    comb->name = "combined";
    comb->escape = CF_ESC_DEFAULT;
    comb->fmt = conf_compile(b, NULL,
                             "$remote_addr - $remote_user [$time_local] \"$request\" $status "
                             "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"");
    return comb->fmt ? 0 : -1;
}

static const struct conf_cmd cmds[] = {
    {.name = "error_log",
     .ctx = CONF_MAIN | CONF_HTTP,
     .min = 1,
     .max = 2,
     .set = set_error_log,
     .store = CONF_ST_MAIN,
     .bit = MAIN_ERROR_LOG,
     .dup = CONF_ONCE,
     .dup_msg = "\"error_log\" directive is duplicate (one error log is supported, in the main "
                "or the http context)"},
    CONF_CMD("log_format", CONF_HTTP, 2, -1, set_log_format),
    CONF_LOC_LIST("access_log", 1, -1, set_access_log, F_ACCESS_LOG),
};

const struct conf_cmds conf_log_cmds = CONF_CMDS(cmds);
