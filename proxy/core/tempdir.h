/* tempdir: the temporary folders of a configuration.
 *
 * client_body_temp_path (request bodies, spool.h) and proxy_temp_path /
 * uwsgi_temp_path (responses, tmpbuf.h) name folders that workers write
 * files into.  As nginx's ngx_create_paths, the master makes them (mode
 * 0700, with missing parents) at start and on reload, before any worker of
 * that configuration runs, and hands them to the workers' user (priv.h), so
 * that workers that dropped root can still create files and their level
 * subfolders there.  A folder that exists is kept, and handed over too. */
#ifndef PROXY_TEMPDIR_H
#define PROXY_TEMPDIR_H

#include <stddef.h>

#include "config.h"

/* Makes every temp folder of cf.  0, or -1 with the error in err. */
int tempdir_make_all(const struct cf_main *cf, char *err, size_t errlen);

#endif
