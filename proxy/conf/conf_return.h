/* conf_return: the directives of the two content handlers without settings
 * of their own: `return CODE [TEXT|URL]` / `return URL` (server or
 * location) and `status` (the upstream state page). */
#ifndef PROXY_CONF_RETURN_H
#define PROXY_CONF_RETURN_H

#include "conf_run.h"

extern const struct conf_cmds conf_return_cmds;

#endif
