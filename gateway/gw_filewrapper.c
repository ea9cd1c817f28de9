/* filewrapper: wsgi.file_wrapper (see gw_filewrapper.h). */
#include "gw_filewrapper.h"

#include <sys/stat.h>

struct fw {
    PyObject_HEAD PyObject *filelike; /* owned */
    Py_ssize_t blksize;
};

static PyObject *fw_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"filelike", "block_size", NULL};
    PyObject *filelike; /* borrowed */
    Py_ssize_t blksize = 8192;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|n:file_wrapper", kwlist, &filelike, &blksize))
        return NULL;
    struct fw *self = (struct fw *)type->tp_alloc(type, 0); /* new */
    if (!self)
        return NULL;
    Py_INCREF(filelike);
    self->filelike = filelike;
    self->blksize = blksize > 0 ? blksize : 8192;
    return (PyObject *)self;
}

static void fw_dealloc(PyObject *op)
{
    struct fw *self = (struct fw *)op;
    Py_XDECREF(self->filelike);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *fw_next(PyObject *op)
{
    struct fw *self = (struct fw *)op;
    PyObject *data = PyObject_CallMethod(self->filelike, "read", "n", self->blksize); /* new */
    if (data && PyBytes_Check(data) && PyBytes_GET_SIZE(data) == 0) {
        Py_DECREF(data);
        return NULL;
    }
    return data;
}

static PyObject *fw_close(PyObject *op, PyObject *unused)
{
    struct fw *self = (struct fw *)op;
    if (PyObject_HasAttrString(self->filelike, "close"))
        return PyObject_CallMethod(self->filelike, "close", NULL);
    Py_RETURN_NONE;
}

static PyMethodDef fw_methods[] = {
    {"close", fw_close, METH_NOARGS, "closes the file"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject fw_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gateway.FileWrapper",
    .tp_basicsize = sizeof(struct fw),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "wsgi.file_wrapper(filelike, block_size=8192): sent with sendfile",
    .tp_new = fw_new,
    .tp_dealloc = fw_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = fw_next,
    .tp_methods = fw_methods,
};

int gw_filewrapper_init(void)
{
    return PyType_Ready(&fw_type);
}

PyObject *gw_filewrapper_type(void)
{
    return (PyObject *)&fw_type;
}

int gw_filewrapper_file(PyObject *o, int *fd, off_t *off, uint64_t *left)
{
    if (Py_TYPE(o) != &fw_type)
        return 0;
    struct fw *w = (struct fw *)o;
    int f = PyObject_AsFileDescriptor(w->filelike);
    if (f < 0) {
        PyErr_Clear();
        return 0;
    }
    struct stat sb;
    if (fstat(f, &sb) < 0 || !S_ISREG(sb.st_mode))
        return 0;
    PyObject *pos = PyObject_CallMethod(w->filelike, "tell", NULL); /* new */
    if (!pos) {
        PyErr_Clear();
        return 0;
    }
    long long at = PyLong_AsLongLong(pos);
    Py_DECREF(pos);
    if (at < 0 || at > sb.st_size) {
        PyErr_Clear();
        return 0;
    }
    *fd = f;
    *off = (off_t)at;
    *left = (uint64_t)(sb.st_size - at);
    return 1;
}
