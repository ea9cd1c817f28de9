/* conf_return: return and status (see conf_return.h). */
#include "conf_return.h"

#include <string.h>

static int set_return(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                      struct conf_scope *s)
{
    struct cf_loc *l = &s->lc->loc;
    const char *a = n->args[1];
    int code;
    const char *text = NULL;
    if (conf_parse_int(a, &code) == 0) {
        if (code > 999)
            return conf_error(b->R, n->file, n->line, "invalid return code \"%s\"", a);
        if (n->nargs > 2)
            text = n->args[2];
    } else {
        if (n->nargs > 2 || (strncmp(a, "http://", 7) != 0 && strncmp(a, "https://", 8) != 0 &&
                             strncmp(a, "$scheme", 7) != 0))
            return conf_error(b->R, n->file, n->line, "invalid return code \"%s\"", a);
        code = 302;
        text = a;
    }
    l->return_code = code;
    l->return_text = NULL;
    if (text && !(l->return_text = conf_compile(b, n, text)))
        return -1;
    return 0;
}

/* status: the upstream state page; it takes a location's content handler as
 * proxy_pass does, so after proxy_pass it is a duplicate. */
static int set_status(struct conf_build *b, const struct conf_cmd *cmd, struct conf_node *n,
                      struct conf_scope *s)
{
    if (s->lc->set & (1ULL << F_PASS))
        return conf_duplicate(b, n);
    (void)cmd;
    return 0;
}

static const struct conf_cmd cmds[] = {
    CONF_ONCE_CMD("return", CONF_SRV | CONF_LOC, 1, 2, set_return, CONF_ST_LOC, 0, F_RETURN),
    {.name = "status",
     .ctx = CONF_LOC,
     .min = 0,
     .max = 0,
     .set = set_status,
     .store = CONF_ST_LOC,
     .bit = F_STATUS,
     .dup = CONF_ONCE_VALID},
};

const struct conf_cmds conf_return_cmds = CONF_CMDS(cmds);
