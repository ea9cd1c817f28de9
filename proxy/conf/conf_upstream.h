/* conf_upstream: upstream { } blocks (server lines, keepalive, health_check,
 * the balancing method) and resolver.  The balancing methods are the lb
 * table's (lb.h): every policy name is a directive here, and the policy's
 * own create() checks its arguments, once, at the end of loading. */
#ifndef PROXY_CONF_UPSTREAM_H
#define PROXY_CONF_UPSTREAM_H

#include "conf_run.h"

extern const struct conf_cmds conf_upstream_cmds;

/* The upstream named `name` (case-insensitive), named or implicit; NULL. */
struct cf_upstream *conf_upstream_find(struct conf_build *b, const char *name);
/* A new upstream with nginx's defaults, written at n, added to b->ups; NULL
 * with the error written. */
struct cf_upstream *conf_upstream_new(struct conf_build *b, const char *name, struct conf_node *n);
/* Resolves `spec` and adds one peer per address to u, each a copy of `tmpl`
 * (borrowed; NULL: a `server` line's defaults).  0, or -1 with "host not
 * found" at n. */
int conf_upstream_add_peers(struct conf_build *b, struct conf_node *n, struct cf_upstream *u,
                            const char *spec, const struct cf_peer *tmpl);
/* Runs each upstream's policy create() on its peers and arguments: the one
 * place balancing arguments are checked.  0, or -1 with the policy's message
 * at the method's line. */
int conf_upstream_check_policies(struct conf_build *b);

#endif
