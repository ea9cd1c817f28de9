/* handler: content handlers behind one table, and the registry the config
 * reader finds them in by name.
 *
 * A content handler answers a routed request (the location's proxy_pass,
 * uwsgi_pass, return, status, or the files of root/alias).  Each one fills a
 * struct h_ops and registers it (h_register) before the configuration is
 * read; the reader sets cf_loc.content to the table of the directive it saw
 * (h_find).  The core calls the table and never names a handler.
 *
 * A handler works only through request.h.  It may keep per-request state in
 * the request's context slot (request_ctx / request_set_ctx); that state
 * stays with the cached request state between requests and is given back
 * through `trim` and `free`. */
#ifndef PROXY_HANDLER_H
#define PROXY_HANDLER_H

#include <stddef.h>

struct request;

struct h_ops {
    const char *name; /* the directive: "proxy_pass", "uwsgi_pass", "return", ... */
    /* Begins answering q (routed, loc = q's location).  The handler queues
     * the response through request.h now or later and ends it with
     * request_done()/request_fail(); it may close the connection (then q is
     * gone when start returns). */
    void (*start)(struct request *q);
    /* The client is gone (or the connection closes) while the handler still
     * works on q: stop, without answering.  NULL when start always finishes
     * synchronously. */
    void (*abort)(struct request *q);
    /* Frees the context a handler kept in a request slot (takes ctx). */
    void (*free)(void *ctx);
    /* Between requests: gives back buffers of ctx grown past `keep` bytes;
     * ctx stays usable.  May be NULL. */
    void (*trim)(void *ctx, size_t keep);
};

/* Registers ops (borrowed; static storage) under ops->name.  0, or -1 when
 * the registry is full.  Registering a name again replaces it. */
int h_register(const struct h_ops *ops);
/* The handler registered under `name`, or NULL. */
const struct h_ops *h_find(const char *name);

#endif
