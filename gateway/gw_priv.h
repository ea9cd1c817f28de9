/* priv: the master's privileges, given up after binding as uWSGI does.
 * --chown-socket and --chmod-socket set the unix sockets' owner and mode
 * while the master can still do so; --uid and --gid then make the master
 * (and so every worker it forks) that user and group.  Both log what went
 * wrong (log_crit) and return -1; the master then exits. */
#ifndef GW_PRIV_H
#define GW_PRIV_H

#include "gw_opts.h"
#include "gw_worker.h"

/* Applies --chown-socket USER[:GROUP] and --chmod-socket MODE to the unix
 * sockets among lst[0..n) (borrowed).  0 or -1. */
int gw_priv_socket_perms(const struct gw_opts *o, const struct gw_listener *lst, int n);

/* Becomes --uid/--gid (names or numbers; with --uid alone, the user's own
 * group and supplementary groups).  0 (nothing asked, or done) or -1. */
int gw_priv_drop(const struct gw_opts *o);

#endif
