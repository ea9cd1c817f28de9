/* conf: reads nginx-syntax configuration files into the typed tree of
 * config.h.
 *
 * The grammar is nginx's (directives, `{ }` blocks, ' and " quoting with
 * backslash escapes, # comments, `include` with globs relative to the main
 * file's folder).  Every directive is checked for its context, argument count
 * and value; anything wrong, and any directive nginx has but we do not
 * implement, is an error "FILE:LINE: message" in nginx's wording.  Settings
 * are merged http -> server -> location at load time (config.h).
 *
 * docs/directives.md lists every directive and how it differs from nginx.
 * Accepted with nginx's meaning but without effect here: `sendfile`,
 * `tcp_nopush`, `tcp_nodelay` (we always send files with sendfile(2)),
 * `proxy_busy_buffers_size` and its uwsgi_ twin (checked as nginx does; the
 * client connection's own output buffer plays its part), `types_hash_*` and
 * `server_names_hash_*` (nginx's table sizes), `proxy_redirect off`
 * (Location is never rewritten), `accept_mutex` (off, nginx's default since
 * 1.11.3), `use epoll`, `daemon off`, `master_process on`.  `user` drops
 * the workers' privileges when the master is root (priv.h).
 * `error_log` sets the one error log, in the main or the http context.
 *
 * Refused with a message where we do not do what they ask: `gzip on`
 * (responses go uncompressed; `gzip off` is accepted),
 * `proxy_redirect` other than off, `expires
 * modified` and `expires @time`.
 *
 * Request bodies are buffered as nginx buffers them (conf_body.c,
 * request_body.c): proxy_request_buffering / uwsgi_request_buffering,
 * client_body_buffer_size, client_body_temp_path, client_body_in_file_only.
 * Responses too (conf_proxy.c, h_proxy_buf.c): proxy_buffering,
 * proxy_buffers, proxy_max_temp_file_size, proxy_temp_file_write_size,
 * proxy_temp_path, X-Accel-Buffering, and their uwsgi_ twins.
 *
 * `proxy_buffer_size` / `uwsgi_buffer_size` is what the upstream's response
 * head must fit in, as in nginx (502 otherwise); the default here is 64k,
 * nginx's is one page (4k).
 *
 * Not nginx's: `events { yield on|off; }` (default off): a worker runs its
 * event loop one turn at a time and calls sched_yield() between turns, so
 * that upstreams and other busy processes sharing its cores get them
 * promptly (proxy/core/worker.c).  The gateway's workers do it by default
 * (--yield); in front of one fast upstream it raised the proxy's p99
 * (bench/proxy_bench.md), so the proxy leaves it off unless asked. */
#ifndef PROXY_CONF_H
#define PROXY_CONF_H

#include <stddef.h>

#include "conf_mime.h"
#include "config.h"

/* Loads `file` (relative paths are relative to `prefix`).  `prefix` is the
 * -p folder (relative paths in the config are relative to it); `globals` is
 * -g text (main-context directives, read before the file; may be NULL).
 * Returns 0 and the tree in *out (owned by the caller: cf_free), or -1 with
 * "FILE:LINE: message" in err. */
int conf_load(const char *file, const char *prefix, const char *globals, struct cf_main **out,
              char *err, size_t errlen);
/* Releases everything conf_load() made (route/accesslog/upstream runtime
 * state must be released by their modules first).  NULL is fine. */
void cf_free(struct cf_main *cf);

/* conf_mime_type(): conf_mime.h. */

#endif
