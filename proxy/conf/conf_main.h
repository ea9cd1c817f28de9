/* conf_main: the directives of the main and events contexts (worker
 * processes, pid, daemon, user, events { }, http { }); values go to struct
 * cf_main. */
#ifndef PROXY_CONF_MAIN_H
#define PROXY_CONF_MAIN_H

#include "conf_run.h"

extern const struct conf_cmds conf_main_cmds;

/* After the main context was read: the workers' default user (nobody) when
 * the master is root and no `user` was given.  0, or -1 with the error
 * written. */
int conf_main_finish(struct conf_build *b);

#endif
