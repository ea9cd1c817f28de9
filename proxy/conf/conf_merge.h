/* conf_merge: after every directive ran, fills nginx's defaults at the http
 * level, merges each level's unset settings from its parent (http -> server
 * -> location -> nested location), chooses each location's content handler
 * (cf_loc.handler), checks listen options across servers and balancing
 * arguments, and lays the levels out into config.h's arrays. */
#ifndef PROXY_CONF_MERGE_H
#define PROXY_CONF_MERGE_H

#include "conf_run.h"

/* 0, or -1 with the error written. */
int conf_merge_layout(struct conf_build *b);

#endif
