/* route: which server block and which location handle a request.
 *
 * Server selection follows nginx: among the servers listening on the address
 * the connection arrived on, the one whose server_name matches Host (exact,
 * then leading "*.", then trailing ".*"), else the default_server, else the
 * first.  Location selection: an exact `=` match wins; otherwise the longest
 * matching prefix, with `^~` and plain prefixes equal (no regex locations).
 * Everything here is read-only on the config. */
#ifndef PROXY_ROUTE_H
#define PROXY_ROUTE_H

#include <stddef.h>

#include "config.h"

/* Builds the lookup structures of every server (server->rt). 0, or -1 with a
 * message. Called once after conf_load(). */
int route_init(struct cf_main *cf, char *err, size_t errlen);
void route_free(struct cf_main *cf);

/* The server for a connection accepted on listen socket `ls` whose Host is
 * `host` (lowercase, no port; may be empty).  Never NULL. */
const struct cf_server *route_server(const struct cf_main *cf, const struct cf_listen *ls,
                                     const char *host, size_t host_len);

/* The location for the normalised path `uri`.  Returns the server's def_loc
 * when no location matches.  Never NULL. */
const struct cf_loc *route_location(const struct cf_server *srv, const char *uri, size_t len);

/* Registers server selection (PH_SERVER) and location lookup with the body
 * size check (PH_FIND_LOCATION) with the phase engine.  0 or -1. */
int route_phases_init(void);

#endif
