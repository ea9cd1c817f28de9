/* environ: the WSGI environ of one request, built in one place from struct
 * gw_req, whichever front end filled it (HTTP/1.x: gw_http.c; uwsgi:
 * gw_uwsgi.c), as PEP 3333 says.
 *
 * Keys are interned once; the constant items (wsgi.version, wsgi.errors,
 * wsgi.file_wrapper, ...) sit in a template dict copied per request.
 * HTTP: headers become HTTP_* (repeats joined with ", "; names with '_'
 * dropped, as nginx does), Content-Length and Content-Type become
 * CONTENT_LENGTH and CONTENT_TYPE, PATH_INFO is percent-decoded, SERVER_NAME
 * comes from Host and SERVER_PORT from the socket.  uwsgi: the packet's
 * variables as they came, with defaults for what PEP 3333 requires and
 * nginx's uwsgi_params may leave out (REQUEST_METHOD, PATH_INFO,
 * SERVER_PROTOCOL, SERVER_NAME, SERVER_PORT, REMOTE_ADDR, REQUEST_URI).
 *
 * Needs the GIL.  One worker-lifetime scratch buffer; no request state is
 * kept between calls. */
#ifndef GW_ENVIRON_H
#define GW_ENVIRON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "gw_conn.h"
#include "gw_opts.h"

/* Interns the keys and builds the template (gw_filewrapper_init() first).
 * 0, or -1 with a Python error set. */
int gw_environ_init(const struct gw_opts *o);
void gw_environ_fini(void);

/* The environ of c's current request (borrows c; its strings are copied, so
 * the environ outlives c's buffer).  wsgi.input reads c's body; *input is
 * that object (borrowed: the environ holds it) for gw_input_detach() when the
 * request ends.  New reference, or NULL with a Python error set. */
PyObject *gw_environ_new(struct gw_conn *c, PyObject **input);

#endif
