/* filewrapper: wsgi.file_wrapper, PEP 3333's optional fast path for files.
 *
 * file_wrapper(filelike, block_size=8192) is an iterable reading block_size
 * bytes at a time, whose close() closes the file; the response
 * (gw_response.c) sends a wrapper around a real regular file with
 * sendfile(2) instead of iterating it (gw_filewrapper_file()).
 *
 * Needs the GIL. */
#ifndef GW_FILEWRAPPER_H
#define GW_FILEWRAPPER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <sys/types.h>

/* Readies the type (once).  0, or -1 with a Python error set. */
int gw_filewrapper_init(void);
/* The type, for the environ's wsgi.file_wrapper (borrowed). */
PyObject *gw_filewrapper_type(void);
/* When `o` (borrowed) is a file_wrapper around a regular file with a file
 * descriptor: 1, with *fd (borrowed from the file object), *off (its current
 * position) and *left (bytes from there to the end).  0 otherwise (iterate
 * it instead), with no Python error set. */
int gw_filewrapper_file(PyObject *o, int *fd, off_t *off, uint64_t *left);

#endif
