/* input: the wsgi.input object.  It reads the request body straight from
 * the connection (gw_conn.c decodes Content-Length and chunked framing), so an
 * upload of any size takes at most the read buffer's memory unless the app
 * asks for everything at once.  read(n), read(), readline(n), readlines(hint)
 * and iteration over lines; at the end of the body they return b"" (the
 * environ says wsgi.input_terminated).  A broken or timed-out body raises
 * OSError; an object kept past its request raises ValueError. */
#ifndef GW_INPUT_H
#define GW_INPUT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "gw_conn.h"

/* Readies the type (once, with the GIL).  0 or -1 (Python error set). */
int gw_input_init(void);
/* A new input object reading from c (borrowed until gw_input_detach()).
 * New reference, or NULL with a Python error set. */
PyObject *gw_input_new(struct gw_conn *c);
/* Ends the object's link to its connection (the request is over). */
void gw_input_detach(PyObject *in);

#endif
