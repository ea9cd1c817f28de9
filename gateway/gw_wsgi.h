/* wsgi: one request through the app.  The glue between the worker and the
 * WSGI modules: builds the environ (gw_environ.c) from c->req, which either
 * front end filled (HTTP/1.x: gw_http.c; uwsgi: gw_uwsgi.c), starts the
 * request body, runs the app and sends the response (gw_response.c), and
 * ends wsgi.input's link to the connection.
 *
 * One request at a time per process; the GIL is held throughout. */
#ifndef GW_WSGI_H
#define GW_WSGI_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "gw_conn.h"
#include "gw_opts.h"
#include "gw_response.h"

/* Readies the WSGI modules (input, file_wrapper, environ, response).  Needs
 * the GIL.  0 or -1 (logged). */
int gw_wsgi_init(const struct gw_opts *o);
void gw_wsgi_fini(void);

/* Runs c's current request: its head in c->req (c->head_len bytes at
 * c->roff, consumed here), its body after it.  Reads the body as the app
 * asks, writes the response; sets c->closing when the connection cannot be
 * reused.  Fills *res. */
void gw_wsgi_handle(struct gw_conn *c, PyObject *app, struct gw_result *res);

#endif
