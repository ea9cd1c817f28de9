/* conf_static: root, alias, index, types and default_type (see
 * conf_static.h). */
#include "conf_static.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf_mime.h"

static int set_root(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                    struct conf_scope *s)
{
    struct loc_conf *lc = s->lc;
    bool alias = strcmp(CONF_NAME(n), "alias") == 0;
    if (lc->set & (1ULL << (alias ? F_ROOT : F_ALIAS)))
        return conf_error(b->R, n->file, n->line,
                          "\"%s\" directive is duplicate, \"%s\" directive was specified earlier",
                          CONF_NAME(n), alias ? "root" : "alias");
    if (strchr(n->args[1], '$'))
        return conf_error(b->R, n->file, n->line, "variables in \"%s\" are not supported",
                          CONF_NAME(n));
    char *p = conf_prefixed(b, n->args[1]);
    if (!p)
        return conf_oom(b->R);
    size_t l = strlen(p);
    if (!alias)
        while (l > 1 && p[l - 1] == '/') /* nginx drops a root's trailing slash */
            p[--l] = 0;
    if (alias)
        lc->loc.alias = p;
    else
        lc->loc.root = p;
    return 0;
}

static int set_index(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                     struct conf_scope *s)
{
    for (int i = 1; i < n->nargs; i++) {
        if (!n->args[i][0])
            return conf_error(b->R, n->file, n->line,
                              "index \"\" in \"index\" directive is invalid");
        if (strchr(n->args[i], '$') || strchr(n->args[i], '/'))
            return conf_error(b->R, n->file, n->line,
                              "index \"%s\" is not supported (variables or "
                              "paths)",
                              n->args[i]);
    }
    s->lc->loc.index = n->args + 1;
    s->lc->loc.nindex = n->nargs - 1;
    return 0;
}

static int set_default_type(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                            struct conf_scope *s)
{
    s->lc->loc.default_type = n->args[1];
    return 0;
}

static int set_types(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                     struct conf_scope *s)
{
    (void)cmd;
    struct loc_conf *lc = s->lc;
    struct conf_all *A = b->R->A;
    struct cf_types *t = (struct cf_types *)lc->loc.types;
    if (!t) { /* the level's first types { }; a later one adds to it */
        t = conf_alloc(A, sizeof(*t));
        if (!t)
            return conf_oom(b->R);
        lc->loc.types = t;
    }
    for (int i = 0; i < n->nkids; i++) {
        struct conf_node *k = &n->kids[i];
        if (k->block)
            return conf_error(b->R, k->file, k->line, "unexpected \"{\"");
        if (k->nargs < 2)
            return conf_error(b->R, k->file, k->line,
                              "invalid number of arguments in \"types\" "
                              "directive");
        for (int j = 1; j < k->nargs; j++) {
            char *ext = conf_strdup(A, k->args[j]);
            if (!ext)
                return conf_oom(b->R);
            for (char *c = ext; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            bool found = false;
            for (int m = 0; m < t->n; m++)
                if (strcmp(t->m[m].ext, ext) == 0) { /* nginx: the later one wins, warns */
                    t->m[m].type = k->args[0];
                    found = true;
                }
            if (found)
                continue;
            struct cf_mime *m = CONF_PUSH(A, t->m, t->n);
            if (!m)
                return conf_oom(b->R);
            m->ext = ext;
            m->type = k->args[0];
        }
    }
    if (t->n > 1)
        qsort(t->m, (size_t)t->n, sizeof(*t->m), conf_mime_cmp);
    return 0;
}

static const struct conf_cmd cmds[] = {
    CONF_LOC("root", 1, 1, set_root, root, F_ROOT),
    {.name = "alias",
     .ctx = CONF_LOC,
     .min = 1,
     .max = 1,
     .set = set_root,
     .store = CONF_ST_LOC,
     .bit = F_ALIAS,
     .dup = CONF_ONCE_VALID},
    CONF_LOC("index", 1, -1, set_index, index, F_INDEX),
    {.name = "types",
     .ctx = CONF_HSL,
     .block = true,
     .set = set_types,
     .store = CONF_ST_LOC,
     .bit = F_TYPES,
     .dup = CONF_MANY},
    CONF_LOC("default_type", 1, 1, set_default_type, default_type, F_DEFAULT_TYPE),
    CONF_CMD("types_hash_max_size", CONF_HSL, 1, 1, conf_set_unused_sizes),
    CONF_CMD("types_hash_bucket_size", CONF_HSL, 1, 1, conf_set_unused_sizes),
};

const struct conf_cmds conf_static_cmds = CONF_CMDS(cmds);
