/* conf: the configuration reader's entry points (see conf.h).
 *
 * Two passes.  conf_read turns the files into a tree of statements,
 * expanding `include` as it goes; conf_run applies each module's directive
 * table to that tree; conf_merge merges the inherited settings, resolves
 * proxy_pass/uwsgi_pass targets and lays out config.h's arrays.  Every byte
 * of the result lives in one arena (conf_arena.h) freed by cf_free(). */
#include "conf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_http.h"
#include "conf_log.h"
#include "conf_main.h"
#include "conf_merge.h"
#include "conf_proxy.h"
#include "conf_read.h"
#include "conf_return.h"
#include "conf_run.h"
#include "conf_static.h"
#include "conf_upstream.h"
#include "conf_body.h"

/* Every module's directive table, searched in this order.  A new module
 * adds its table here; the runner knows none of them. */
static const struct conf_cmds *const modules[] = {
    &conf_main_cmds,  &conf_log_cmds,    &conf_http_cmds,   &conf_upstream_cmds,
    &conf_proxy_cmds, &conf_static_cmds, &conf_return_cmds, &conf_body_cmds,
};

void cf_free(struct cf_main *cf)
{
    conf_arena_free((struct conf_all *)cf);
}

int conf_load(const char *file, const char *prefix, const char *globals, struct cf_main **out,
              char *err, size_t errlen)
{
    struct conf_all *A = calloc(1, sizeof(*A));
    if (!A) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct conf_reader R = {.A = A, .err = err, .errlen = errlen};
    struct cf_main *cf = &A->cf;
    char cwd[PATH_MAX];
    if (!prefix || !*prefix) {
        if (!getcwd(cwd, sizeof(cwd)))
            snprintf(cwd, sizeof(cwd), ".");
        prefix = cwd;
    }
    R.prefix = cf->prefix = conf_strdup(A, prefix);
    cf->conf_file = conf_path(A, prefix, file);
    if (!cf->prefix || !cf->conf_file)
        goto fail_oom;
    char *dir = conf_strdup(A, cf->conf_file);
    if (!dir)
        goto fail_oom;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    R.conf_dir = slash ? (dir[0] ? dir : "/") : ".";

    struct conf_node root = {0};
    if (globals && *globals &&
        conf_read_text(&R, "command line", globals, strlen(globals), &root.kids, &root.nkids) < 0)
        goto fail;
    if (conf_read_file(&R, cf->conf_file, NULL, 0, &root.kids, &root.nkids) < 0)
        goto fail;

    cf->worker_processes = 1;
    cf->worker_connections = 512;
    struct conf_build b = {
        .R = &R, .cf = cf, .tables = modules, .ntables = sizeof(modules) / sizeof(modules[0])};
    b.http = conf_http_new_level(&b, NULL, NULL);
    if (!b.http || conf_log_init(&b) < 0)
        goto fail;
    struct conf_scope s = {.ctx = CONF_MAIN};
    if (conf_run_block(&b, &root, &s) < 0)
        goto fail;
    if (!(b.main_set & (1ULL << MAIN_EVENTS))) {
        conf_error(&R, cf->conf_file, root.nkids ? root.kids[root.nkids - 1].line : 1,
                   "no \"events\" section in configuration");
        goto fail;
    }
    if (conf_main_finish(&b) < 0)
        goto fail;
    if (!cf->pid_file && !(cf->pid_file = conf_prefixed(&b, "logs/proxy.pid")))
        goto fail_oom;
    if (!cf->error_log) {
        if (!(cf->error_log = conf_prefixed(&b, "logs/error.log")))
            goto fail_oom;
        cf->error_log_level = LL_ERROR;
    }
    if (conf_merge_layout(&b) < 0)
        goto fail;
    *out = cf;
    return 0;
fail_oom:
    conf_oom(&R);
fail:
    cf_free(cf);
    return -1;
}
