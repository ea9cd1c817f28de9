/* tempdir: the temporary folders of a configuration (see tempdir.h). */
#include "tempdir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "priv.h"
#include "spool.h"

enum { SEEN_MAX = 64 }; /* the locations mostly share the http level's folders */

struct seen {
    const char *path[SEEN_MAX];
    int n;
};

/* Makes `path` unless it was made already in this walk, and hands it to
 * the workers' user. */
static int make(const struct cf_main *cf, const char *path, struct seen *sn, char *err,
                size_t errlen)
{
    if (!path)
        return 0;
    for (int i = 0; i < sn->n; i++)
        if (strcmp(sn->path[i], path) == 0)
            return 0;
    if (sn->n < SEEN_MAX)
        sn->path[sn->n++] = path;
    if (spool_mkdir(path) < 0) {
        snprintf(err, errlen, "mkdir() \"%s\" failed (%d: %s)", path, errno, strerror(errno));
        return -1;
    }
    if (priv_chown_dir(cf, path) < 0) {
        snprintf(err, errlen, "chown() \"%s\" failed (%d: %s)", path, errno, strerror(errno));
        return -1;
    }
    return 0;
}

static int make_loc(const struct cf_main *cf, const struct cf_loc *l, struct seen *sn, char *err,
                    size_t errlen)
{
    if (!l)
        return 0;
    if (l->client_body_temp && make(cf, l->client_body_temp->path, sn, err, errlen) < 0)
        return -1;
    return make(cf, l->temp_path, sn, err, errlen);
}

int tempdir_make_all(const struct cf_main *cf, char *err, size_t errlen)
{
    struct seen sn = {.n = 0};
    for (int i = 0; i < cf->nservers; i++) {
        const struct cf_server *s = &cf->servers[i];
        if (make_loc(cf, s->def_loc, &sn, err, errlen) < 0)
            return -1;
        for (int j = 0; j < s->nlocs; j++)
            if (make_loc(cf, &s->locs[j], &sn, err, errlen) < 0)
                return -1;
    }
    return 0;
}
