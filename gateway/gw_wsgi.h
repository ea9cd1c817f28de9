/* wsgi: one request through the app, as PEP 3333 says.
 *
 * Builds the environ (interned keys; a template dict of the constant items
 * copied per request) from an HTTP head (c->req) or a uwsgi packet, calls
 * app(environ, start_response), checks what start_response gets (status and
 * headers are latin-1 str without CR/LF or other controls; exc_info rules),
 * streams the response iterable (Content-Length kept when the app gives it;
 * a list or tuple gets one computed; otherwise chunked on HTTP/1.1 and
 * close-delimited on HTTP/1.0 and uwsgi), calls close() always, sends no body
 * for HEAD/1xx/204/304, sends real files given to wsgi.file_wrapper with
 * sendfile(2).  An app exception is logged with its traceback and becomes a
 * 500 without details, or a closed connection once headers are out.
 *
 * Every response carries "X-Chain-App-Us: N": the microseconds from the app
 * call until the head was sent.  The head goes out with the first body
 * chunk, so N covers the whole app when the body is one chunk, a list or
 * tuple, a file, or a first chunk that completes the app's Content-Length
 * (what Flask and Django return); a streaming app's N stops at its first
 * chunk (PEP 3333 forbids holding chunks back).
 *
 * One request at a time per process; the GIL is held throughout. */
#ifndef GW_WSGI_H
#define GW_WSGI_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "gw_conn.h"
#include "gw_opts.h"

struct gw_wsgi_result {
    int status;          /* sent (or 0 when nothing was) */
    uint64_t body_bytes; /* body bytes sent */
    bool exception;      /* the app raised (or broke the protocol) */
};

/* Set while a request's head has been sent (the harakiri handler then
 * cannot send a 504 and just closes). */
extern volatile sig_atomic_t gw_wsgi_head_sent;

/* When set, counts app exceptions as they happen (before the 500 is sent,
 * so a client that saw the 500 finds it counted in the stats). */
extern volatile uint64_t *gw_wsgi_exceptions;

/* Interns the environ keys, builds the template and the callables.  Needs
 * the GIL.  0 or -1 (logged). */
int gw_wsgi_init(const struct gw_opts *o);
void gw_wsgi_fini(void);

/* Runs the request whose HTTP head is in c->req (c->head_len bytes at
 * c->roff).  Reads the body as the app asks, writes the response; sets
 * c->closing when the connection cannot be reused.  Fills *res. */
void gw_wsgi_handle_http(struct gw_conn *c, PyObject *app, struct gw_wsgi_result *res);

/* The same for a uwsgi packet: `vars`/`len` (borrowed, in c's buffer) are
 * the packet's variables; the body follows the packet.  Fills c->req's
 * method, uri and content_length.  A malformed packet gets a 400. */
void gw_wsgi_handle_uwsgi(struct gw_conn *c, PyObject *app, const char *vars, size_t len,
                          struct gw_wsgi_result *res);

/* Sends a small complete response (errors we generate ourselves) and marks
 * the connection closing.  Returns 0 or -1. */
int gw_wsgi_send_error(struct gw_conn *c, int status);

#endif
