/* conf_run: the directive runner, value parsers and generic setters (see
 * conf_run.h). */
#include "conf_run.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vars.h"

/* The entry for `name` allowed in ctx, from the loader's tables (b->tables);
 * NULL with *known telling whether the name exists at all (in another
 * context). */
static const struct conf_cmd *find_cmd(const struct conf_build *b, const char *name, int ctx,
                                       bool *known)
{
    *known = false;
    for (size_t t = 0; t < b->ntables; t++) {
        const struct conf_cmds *tab = b->tables[t];
        for (size_t i = 0; i < tab->n; i++) {
            const struct conf_cmd *c = &tab->cmd[i];
            if (strcmp(c->name, name) != 0)
                continue;
            *known = true;
            if (c->ctx & ctx)
                return c;
        }
    }
    for (size_t t = 0; t < b->ntables; t++) {
        const struct conf_cmd *c = b->tables[t]->find ? b->tables[t]->find(name) : NULL;
        if (c) {
            *known = true;
            if (c->ctx & ctx)
                return c;
        }
    }
    return NULL;
}

static uint64_t *set_mask(struct conf_build *b, const struct conf_cmd *cmd, struct conf_scope *s)
{
    switch (cmd->store) {
    case CONF_ST_MAIN:
        return &b->main_set;
    case CONF_ST_UPS:
        return &s->up_set;
    case CONF_ST_LOC:
        return &s->lc->set;
    case CONF_ST_NONE:
        break;
    }
    return NULL;
}

static int cmd_duplicate(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n)
{
    if (cmd->dup_msg)
        return conf_error(b->R, n->file, n->line, "%s", cmd->dup_msg);
    return conf_duplicate(b, n);
}

static int run_one(struct conf_build *b, struct conf_node *n, struct conf_scope *s)
{
    const char *name = CONF_NAME(n);
    bool known;
    const struct conf_cmd *cmd = find_cmd(b, name, s->ctx, &known);
    if (!known)
        return conf_error(b->R, n->file, n->line, "unknown directive \"%s\"", name);
    if (!cmd)
        return conf_error(b->R, n->file, n->line, "\"%s\" directive is not allowed here", name);
    if (cmd->block && !n->block)
        return conf_error(b->R, n->file, n->line, "directive \"%s\" has no opening \"{\"", name);
    if (!cmd->block && n->block)
        return conf_error(b->R, n->file, n->line, "directive \"%s\" is not terminated by \";\"",
                          name);
    int na = n->nargs - 1;
    if (na < cmd->min || (cmd->max >= 0 && na > cmd->max))
        return conf_error(b->R, n->file, n->line, "invalid number of arguments in \"%s\" directive",
                          name);
    uint64_t *mask = cmd->bit >= 0 ? set_mask(b, cmd, s) : NULL;
    uint64_t bit = cmd->bit >= 0 ? 1ULL << cmd->bit : 0;
    bool seen = mask && (*mask & bit);
    if (seen && cmd->dup == CONF_ONCE)
        return cmd_duplicate(b, cmd, n);
    if (cmd->set(b, cmd, n, s) < 0)
        return -1;
    if (seen && cmd->dup == CONF_ONCE_VALID)
        return cmd_duplicate(b, cmd, n);
    if (mask)
        *mask |= bit;
    return 0;
}

int conf_run_block(struct conf_build *b, struct conf_node *n, struct conf_scope *s)
{
    for (int i = 0; i < n->nkids; i++)
        if (run_one(b, &n->kids[i], s) < 0)
            return -1;
    return 0;
}

int conf_bad_value(struct conf_build *b, const struct conf_node *n, const char *v)
{
    return conf_error(b->R, n->file, n->line, "invalid value \"%s\" in \"%s\" directive", v,
                      CONF_NAME(n));
}

int conf_duplicate(struct conf_build *b, const struct conf_node *n)
{
    return conf_error(b->R, n->file, n->line, "\"%s\" directive is duplicate", CONF_NAME(n));
}

struct tmpl *conf_compile(struct conf_build *b, const struct conf_node *n, const char *src)
{
    char e[256];
    struct tmpl *t = tmpl_compile(src, e, sizeof(e));
    if (!t) {
        if (n)
            conf_error(b->R, n->file, n->line, "%s", e);
        else
            snprintf(b->R->err, b->R->errlen, "%s", e);
        return NULL;
    }
    if (conf_keep_tmpl(b->R->A, t) < 0) {
        conf_oom(b->R);
        return NULL;
    }
    return t;
}

char *conf_prefixed(struct conf_build *b, const char *path)
{
    return conf_path(b->R->A, b->R->prefix, path);
}

/* --- values --------------------------------------------------------------- */

int conf_parse_size(const char *s, int64_t *out)
{
    if (!*s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno)
        return -1;
    int64_t mul = 1;
    if (*end) {
        switch (*end) {
        case 'k':
        case 'K':
            mul = 1024;
            break;
        case 'm':
        case 'M':
            mul = 1024 * 1024;
            break;
        case 'g':
        case 'G':
            mul = 1024LL * 1024 * 1024;
            break;
        default:
            return -1;
        }
        if (end[1])
            return -1;
    }
    if (v > INT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

/* nginx's time syntax ("1h 30m", "500ms", "30d") in milliseconds, at most max. */
int conf_parse_time(const char *s, int64_t max, int64_t *out)
{
    int64_t total = 0;
    bool any = false;
    const char *p = s;
    while (*p) {
        if (*p == ' ') {
            p++;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            return -1;
        int64_t v = 0;
        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (*p++ - '0');
            if (v > INT32_MAX)
                return -1;
        }
        int64_t mul = 1000;
        if (p[0] == 'm' && p[1] == 's') {
            mul = 1;
            p += 2;
        } else if (*p && *p != ' ') {
            switch (*p) {
            case 's':
                mul = 1000;
                break;
            case 'm':
                mul = 60000;
                break;
            case 'h':
                mul = 3600000;
                break;
            case 'd':
                mul = 86400000;
                break;
            case 'w':
                mul = 7LL * 86400000;
                break;
            case 'M':
                mul = 30LL * 86400000;
                break;
            case 'y':
                mul = 365LL * 86400000;
                break;
            default:
                return -1;
            }
            p++;
        }
        if (v > (max - total) / mul) /* checked before multiplying: 2147483647y overflows */
            return -1;
        total += v * mul;
        any = true;
    }
    if (!any)
        return -1;
    *out = total;
    return 0;
}

int conf_parse_msec(const char *s, int64_t *out)
{
    return conf_parse_time(s, INT32_MAX, out);
}

int conf_parse_int(const char *s, int *out)
{
    if (!*s)
        return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
        if (v > INT32_MAX)
            return -1;
    }
    *out = (int)v;
    return 0;
}

/* --- generic setters ------------------------------------------------------- */

/* The field cmd->off of the directive's store. */
static void *field(struct conf_build *b, const struct conf_cmd *cmd, struct conf_scope *s)
{
    char *base = NULL;
    switch (cmd->store) {
    case CONF_ST_MAIN:
        base = (char *)b->cf;
        break;
    case CONF_ST_UPS:
        base = (char *)s->up;
        break;
    case CONF_ST_LOC:
        base = (char *)s->lc;
        break;
    case CONF_ST_NONE:
        break;
    }
    return base + cmd->off;
}

static int parse_flag(struct conf_build *b, struct conf_node *n, bool *v)
{
    if (strcmp(n->args[1], "on") == 0)
        *v = true;
    else if (strcmp(n->args[1], "off") == 0)
        *v = false;
    else
        return conf_error(b->R, n->file, n->line,
                          "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
                          n->args[1], CONF_NAME(n));
    return 0;
}

int conf_set_flag(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                  struct conf_scope *s)
{
    bool v;
    if (parse_flag(b, n, &v) < 0)
        return -1;
    *(bool *)field(b, cmd, s) = v;
    return 0;
}

int conf_set_msec(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                  struct conf_scope *s)
{
    int64_t v;
    if (conf_parse_msec(n->args[1], &v) < 0)
        return conf_bad_value(b, n, n->args[1]);
    *(int *)field(b, cmd, s) = (int)v;
    return 0;
}

int conf_set_int(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                 struct conf_scope *s)
{
    int v;
    if (conf_parse_int(n->args[1], &v) < 0)
        return conf_bad_value(b, n, n->args[1]);
    *(int *)field(b, cmd, s) = v;
    return 0;
}

int conf_set_size(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                  struct conf_scope *s)
{
    int64_t v;
    if (conf_parse_size(n->args[1], &v) < 0)
        return conf_bad_value(b, n, n->args[1]);
    *(int64_t *)field(b, cmd, s) = v;
    return 0;
}

int conf_set_ignored_flag(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                          struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    bool v;
    return parse_flag(b, n, &v);
}

int conf_only_off(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                  struct conf_scope *s, const char *why)
{
    if (conf_set_ignored_flag(b, cmd, n, s) < 0)
        return -1;
    if (strcmp(n->args[1], "off") != 0)
        return conf_error(b->R, n->file, n->line, "\"%s on\" is not supported (%s)", CONF_NAME(n),
                          why);
    return 0;
}
/* [NUMBER] SIZE settings checked as nginx reads them, then without effect:
 * proxy_buffers NUMBER SIZE and proxy_busy_buffers_size SIZE (the body is
 * streamed, never buffered), types_hash_* / server_names_hash_* SIZE (the
 * sizes of nginx's lookup tables; ours size themselves). */
int conf_set_unused_sizes(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                          struct conf_scope *s)
{
    (void)cmd;
    (void)s;
    int num = 2;
    int64_t v;
    if (n->nargs == 3 && (conf_parse_int(n->args[1], &num) < 0 || num < 2))
        return conf_bad_value(b, n, n->args[1]);
    if (conf_parse_size(n->args[n->nargs - 1], &v) < 0 || v < 1)
        return conf_bad_value(b, n, n->args[n->nargs - 1]);
    return 0;
}
