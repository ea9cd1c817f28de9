/* conf_mime: the MIME map (conf_mime_type) and its built-in table.
 *
 * One table: nginx's mime.types as nginx ships it, built in (conf/mime.types
 * is the same list; a unit test holds them equal).  A location with a
 * `types { }` (its own or inherited) uses that map alone, as in nginx.
 * Without one anywhere, nginx knows only html, gif and jpg; we use the
 * built-in table instead, so a config without `include mime.types` still
 * serves the common types.  Either way an extension the map lacks, or no
 * extension, gets the location's default_type. */
#ifndef PROXY_CONF_MIME_H
#define PROXY_CONF_MIME_H

#include "config.h"

/* The MIME type for `path`: by the extension of its last segment
 * (lowercased; none for ".name"), from the location's `types` (its own or
 * inherited), or, when none is configured anywhere, from nginx's full
 * mime.types map (conf/mime.types holds the same), where nginx itself knows
 * only html, gif and jpg; else the location's `default_type`.  Never NULL;
 * borrowed from the config or static. */
const char *conf_mime_type(const struct cf_loc *loc, const char *path);

/* Orders struct cf_mime by ext (qsort/bsearch). */
int conf_mime_cmp(const void *a, const void *b);
/* The built-in map, sorted by ext; static, never freed. */
const struct cf_types *conf_mime_builtin(void);

#endif
