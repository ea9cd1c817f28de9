/* conf_proxy: the directives of the proxy_pass and uwsgi_pass content
 * handlers (proxy_pass, uwsgi_pass, proxy_* / uwsgi_* settings). */
#ifndef PROXY_CONF_PROXY_H
#define PROXY_CONF_PROXY_H

#include "conf_run.h"

extern const struct conf_cmds conf_proxy_cmds;

/* For a merged level with proxy_pass / uwsgi_pass: finds or makes (implicit)
 * its upstream, sets handler CF_H_PROXY / CF_H_UWSGI, pass_uri, proxy_host,
 * and puts nginx's default Host and Connection headers before the
 * configured ones.  0, or -1 with the error written. */
int conf_proxy_finish(struct conf_build *b, struct loc_conf *lc);

#endif
