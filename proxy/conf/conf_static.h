/* conf_static: the static file handler's directives: root, alias, index,
 * types { } and default_type (the MIME lookup itself is conf_mime_type in
 * conf_mime.h), and nginx's types_hash_* sizes, accepted without effect. */
#ifndef PROXY_CONF_STATIC_H
#define PROXY_CONF_STATIC_H

#include "conf_run.h"

extern const struct conf_cmds conf_static_cmds;

#endif
