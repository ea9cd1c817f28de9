/* input: wsgi.input (see input.h). */
#include "gw_input.h"

#include <string.h>

#include "buf.h"

struct gw_input {
    PyObject_HEAD struct gw_conn *c; /* borrowed; NULL once the request is over */
};

static struct buf scratch; /* reused for read() of unknown size and readline() */

/* Next body bytes: 0 with *n (0 at the end), or -1 with a Python error. */
static int avail(struct gw_input *self, const char **p, size_t *n)
{
    if (!self->c) {
        PyErr_SetString(PyExc_ValueError, "wsgi.input used after its request ended");
        return -1;
    }
    if (gw_conn_body_avail(self->c, p, n) < 0) {
        PyErr_SetString(PyExc_OSError, "error reading the request body (client gone, timed out, "
                                       "over the size limit or malformed chunked framing)");
        return -1;
    }
    return 0;
}

static Py_ssize_t size_arg(PyObject *const *args, Py_ssize_t nargs, const char *fn, int *err)
{
    *err = 0;
    if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most 1 argument", fn);
        *err = 1;
        return 0;
    }
    if (nargs == 0 || args[0] == Py_None)
        return -1;
    Py_ssize_t v = PyNumber_AsSsize_t(args[0], PyExc_OverflowError);
    if (v == -1 && PyErr_Occurred())
        *err = 1;
    return v;
}

/* The first allocation of a read() whose length is known: what the client
 * declares is only a promise, so memory grows (doubling) as bytes arrive. */
#define READ_FIRST_ALLOC (1 << 20)

/* Reads up to `size` bytes (all when size < 0).  New reference or NULL. */
static PyObject *read_bytes(struct gw_input *self, Py_ssize_t size)
{
    if (self->c && self->c->body_mode == GW_BODY_LENGTH) {
        /* known length: fill one bytes object, no intermediate copy */
        uint64_t left = self->c->body_left;
        size_t want = (size < 0 || (uint64_t)size > left) ? (size_t)left : (size_t)size;
        size_t cap = want < READ_FIRST_ALLOC ? want : READ_FIRST_ALLOC;
        PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)cap); /* new */
        if (!b)
            return NULL;
        size_t got = 0;
        while (got < want) {
            const char *p;
            size_t n;
            if (avail(self, &p, &n) < 0) {
                Py_DECREF(b);
                return NULL;
            }
            if (n == 0)
                break;
            if (n > want - got)
                n = want - got;
            if (got == cap) {
                cap = cap > (want - got) ? want : cap * 2;
                if (_PyBytes_Resize(&b, (Py_ssize_t)cap) < 0)
                    return NULL;
            }
            if (n > cap - got)
                n = cap - got;
            memcpy(PyBytes_AS_STRING(b) + got, p, n);
            gw_conn_body_consume(self->c, n);
            got += n;
        }
        if (got < cap && _PyBytes_Resize(&b, (Py_ssize_t)got) < 0)
            return NULL;
        return b;
    }
    buf_reset(&scratch);
    while (size < 0 || scratch.len < (size_t)size) {
        const char *p;
        size_t n;
        if (avail(self, &p, &n) < 0)
            return NULL;
        if (n == 0)
            break;
        if (size >= 0 && n > (size_t)size - scratch.len)
            n = (size_t)size - scratch.len;
        if (buf_append(&scratch, p, n) < 0)
            return PyErr_NoMemory();
        gw_conn_body_consume(self->c, n);
    }
    PyObject *b = /* new */
        PyBytes_FromStringAndSize(scratch.data ? scratch.data : "", (Py_ssize_t)scratch.len);
    if (scratch.cap > 1 << 20)
        buf_free(&scratch); /* do not keep a large upload's memory */
    return b;
}

/* Reads one line (through '\n'), at most `size` bytes when size >= 0. */
static PyObject *read_line(struct gw_input *self, Py_ssize_t size)
{
    buf_reset(&scratch);
    while (size < 0 || scratch.len < (size_t)size) {
        const char *p;
        size_t n;
        if (avail(self, &p, &n) < 0)
            return NULL;
        if (n == 0)
            break;
        if (size >= 0 && n > (size_t)size - scratch.len)
            n = (size_t)size - scratch.len;
        const char *nl = memchr(p, '\n', n);
        if (nl)
            n = (size_t)(nl - p) + 1;
        if (buf_append(&scratch, p, n) < 0)
            return PyErr_NoMemory();
        gw_conn_body_consume(self->c, n);
        if (nl)
            break;
    }
    PyObject *b = /* new */
        PyBytes_FromStringAndSize(scratch.data ? scratch.data : "", (Py_ssize_t)scratch.len);
    if (scratch.cap > 1 << 20)
        buf_free(&scratch);
    return b;
}

static PyObject *input_read(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    int err;
    Py_ssize_t size = size_arg(args, nargs, "read", &err);
    if (err)
        return NULL;
    return read_bytes((struct gw_input *)op, size);
}

static PyObject *input_readline(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    int err;
    Py_ssize_t size = size_arg(args, nargs, "readline", &err);
    if (err)
        return NULL;
    return read_line((struct gw_input *)op, size);
}

static PyObject *input_readlines(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    int err;
    Py_ssize_t hint = size_arg(args, nargs, "readlines", &err);
    if (err)
        return NULL;
    PyObject *list = PyList_New(0); /* new */
    if (!list)
        return NULL;
    Py_ssize_t total = 0;
    for (;;) {
        PyObject *line = read_line((struct gw_input *)op, -1); /* new */
        if (!line)
            goto error;
        Py_ssize_t n = PyBytes_GET_SIZE(line);
        if (n == 0) {
            Py_DECREF(line);
            break;
        }
        int rc = PyList_Append(list, line);
        Py_DECREF(line);
        if (rc < 0)
            goto error;
        total += n;
        if (hint > 0 && total >= hint)
            break;
    }
    return list;
error:
    Py_DECREF(list);
    return NULL;
}

static PyObject *input_iternext(PyObject *op)
{
    PyObject *line = read_line((struct gw_input *)op, -1); /* new */
    if (line && PyBytes_GET_SIZE(line) == 0) {
        Py_DECREF(line);
        return NULL; /* StopIteration */
    }
    return line;
}

static PyObject *input_close(PyObject *op, PyObject *unused)
{
    Py_RETURN_NONE;
}

static PyMethodDef input_methods[] = {
    {"read", (PyCFunction)(void (*)(void))input_read, METH_FASTCALL, "read([size]) -> bytes"},
    {"readline", (PyCFunction)(void (*)(void))input_readline, METH_FASTCALL,
     "readline([size]) -> bytes"},
    {"readlines", (PyCFunction)(void (*)(void))input_readlines, METH_FASTCALL,
     "readlines([hint]) -> list of bytes"},
    {"close", input_close, METH_NOARGS, "does nothing (the server owns the stream)"},
    {NULL, NULL, 0, NULL},
};

static void input_dealloc(PyObject *op)
{
    PyObject_Free(op);
}

static PyTypeObject input_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gateway.Input",
    .tp_basicsize = sizeof(struct gw_input),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "wsgi.input: the request body, streamed",
    .tp_dealloc = input_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = input_iternext,
    .tp_methods = input_methods,
};

int gw_input_init(void)
{
    return PyType_Ready(&input_type);
}

PyObject *gw_input_new(struct gw_conn *c)
{
    struct gw_input *in = PyObject_New(struct gw_input, &input_type); /* new */
    if (!in)
        return NULL;
    in->c = c;
    return (PyObject *)in;
}

void gw_input_detach(PyObject *in)
{
    ((struct gw_input *)in)->c = NULL;
}
