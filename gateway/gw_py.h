/* py: the embedded interpreter (Debian's CPython 3.11) and the app.
 *
 * The interpreter is isolated from the environment's PYTHONHOME/PYTHONPATH
 * (a pyenv on PATH must not leak in), installs no signal handlers (the
 * gateway owns the signals) and finds Debian's dist-packages through site.
 * The process that calls gw_py_init() holds the GIL afterwards; the worker
 * releases it while it waits in its event loop (gw_py_release/acquire) so
 * threads the app starts can run. */
#ifndef GW_PY_H
#define GW_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "gw_opts.h"

/* Starts the interpreter and puts --pythonpath entries, then the app's
 * folder (--wsgi-file) or the current folder (--module), in front of
 * sys.path.  0, or -1 with a message logged. */
int gw_py_init(const struct gw_opts *o);

/* Imports the app named by the options and returns the callable (new
 * reference), or NULL after logging a message that names the file or module
 * followed by the Python traceback. */
PyObject *gw_py_load_app(const struct gw_opts *o);

/* Logs the pending Python exception with its traceback to sys.stderr (the
 * log) and clears it, without keeping it in sys.last_* (which would keep the
 * failed request's frames alive). */
void gw_py_log_exception(void);

/* In a worker forked from a master that already runs Python (--preload). */
void gw_py_after_fork(void);

/* Drops/takes the GIL around the worker's waits. */
void gw_py_release(void);
void gw_py_acquire(void);

/* Runs atexit handlers and finalizes the interpreter.  0 or -1. */
int gw_py_fini(void);

#endif
