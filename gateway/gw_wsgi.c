/* wsgi: environ, start_response, response streaming (see wsgi.h). */
#include "gw_wsgi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "gw_http.h"
#include "gw_input.h"
#include "log.h"
#include "gw_py.h"
#include "uwsgi.h"

volatile sig_atomic_t gw_wsgi_head_sent;
volatile uint64_t *gw_wsgi_exceptions;

/* ---- interned strings ---- */

enum key_id {
    K_REQUEST_METHOD,
    K_SCRIPT_NAME,
    K_PATH_INFO,
    K_QUERY_STRING,
    K_CONTENT_TYPE,
    K_CONTENT_LENGTH,
    K_SERVER_NAME,
    K_SERVER_PORT,
    K_SERVER_PROTOCOL,
    K_REMOTE_ADDR,
    K_REMOTE_PORT,
    K_REQUEST_URI,
    K_WSGI_VERSION,
    K_WSGI_URL_SCHEME,
    K_WSGI_INPUT,
    K_WSGI_ERRORS,
    K_WSGI_MULTITHREAD,
    K_WSGI_MULTIPROCESS,
    K_WSGI_RUN_ONCE,
    K_WSGI_FILE_WRAPPER,
    K_WSGI_INPUT_TERMINATED,
    K_HTTPS,
    K_UWSGI_SCHEME,
    K_REQUEST_SCHEME,
    K_DOCUMENT_ROOT,
    K_HTTP_HOST,
    K__COUNT
};

static const char *const key_names[K__COUNT] = {
    "REQUEST_METHOD", "SCRIPT_NAME",       "PATH_INFO",
    "QUERY_STRING",   "CONTENT_TYPE",      "CONTENT_LENGTH",
    "SERVER_NAME",    "SERVER_PORT",       "SERVER_PROTOCOL",
    "REMOTE_ADDR",    "REMOTE_PORT",       "REQUEST_URI",
    "wsgi.version",   "wsgi.url_scheme",   "wsgi.input",
    "wsgi.errors",    "wsgi.multithread",  "wsgi.multiprocess",
    "wsgi.run_once",  "wsgi.file_wrapper", "wsgi.input_terminated",
    "HTTPS",          "UWSGI_SCHEME",      "REQUEST_SCHEME",
    "DOCUMENT_ROOT",  "HTTP_HOST",
};

static PyObject *keys[K__COUNT]; /* owned, interned */

/* Common request headers: their environ keys interned once. */
static const char *const hdr_names[] = {
    "host",
    "user-agent",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "cookie",
    "referer",
    "cache-control",
    "origin",
    "authorization",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-real-ip",
    "x-request-id",
    "if-none-match",
    "if-modified-since",
    "pragma",
    "upgrade-insecure-requests",
    "x-forwarded-host",
    "dnt",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-dest",
    "te",
    "expect",
    "x-requested-with",
    "range",
};
#define NHDRS (sizeof(hdr_names) / sizeof(hdr_names[0]))
static PyObject *hdr_keys[NHDRS]; /* owned, interned "HTTP_..." */
static size_t hdr_lens[NHDRS];

static const char *const method_names[] = {"GET",    "POST",    "HEAD", "PUT",
                                           "DELETE", "OPTIONS", "PATCH"};
#define NMETHODS (sizeof(method_names) / sizeof(method_names[0]))
static PyObject *methods[NMETHODS]; /* owned */

static PyObject *s_empty, *s_http10, *s_http11, *s_https, *s_http, *s_close; /* owned */
static PyObject *tmpl;          /* owned: the constant environ items */
static PyObject *start_resp_fn; /* owned */
static PyObject *write_fn;      /* owned */

/* ---- the current response ---- */

struct resp {
    struct gw_conn *c; /* borrowed; NULL outside a request */
    bool started;      /* start_response was called */
    bool head_sent;
    bool no_body; /* HEAD, 1xx, 204, 304 */
    bool chunked;
    bool has_date;
    bool exception;
    bool write_failed;
    int status;
    int64_t app_cl; /* Content-Length the app gave, -1 if none */
    uint64_t body_sent;
    struct buf head;    /* status line + app headers, CRLF-terminated lines */
    struct timespec t0; /* app call */
};
static struct resp R;
static struct buf scratch; /* keys and paths being built */

static int64_t us_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t0->tv_sec) * 1000000 + (now.tv_nsec - t0->tv_nsec) / 1000;
}

/* "Date: ...\r\n", formatted once per second. */
static const char *date_line(size_t *len)
{
    static char line[64];
    static size_t n;
    static time_t last;
    time_t now = time(NULL);
    if (now != last || !n) {
        struct tm tm;
        gmtime_r(&now, &tm);
        n = strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        last = now;
    }
    *len = n;
    return line;
}

/* ---- start_response and write ---- */

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* A str as latin-1 bytes without copying.  NULL with a Python error. */
static const char *latin1(PyObject *s, Py_ssize_t *n, const char *what)
{
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(s)->tp_name);
        return NULL;
    }
    if (PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) {
        PyErr_Format(PyExc_ValueError, "%s %R is not latin-1", what, s);
        return NULL;
    }
    *n = PyUnicode_GET_LENGTH(s);
    return (const char *)PyUnicode_1BYTE_DATA(s);
}

static bool has_ctl(const char *p, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return true;
    }
    return false;
}

static bool name_is(const char *p, Py_ssize_t n, const char *name)
{
    return (size_t)n == strlen(name) && strncasecmp(p, name, (size_t)n) == 0;
}

/* Validates status and headers and formats them into R.head.  0, or -1 with
 * a Python error (R.head then holds garbage; the caller resets it). */
static int format_head(PyObject *status, PyObject *headers)
{
    Py_ssize_t sl;
    const char *s = latin1(status, &sl, "status");
    if (!s)
        return -1;
    if (sl < 4 || s[0] < '1' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' ||
        s[2] > '9' || s[3] != ' ' || has_ctl(s, sl)) {
        PyErr_Format(PyExc_ValueError, "status %R is not \"NNN Reason\"", status);
        return -1;
    }
    if (!PyList_Check(headers) && !PyTuple_Check(headers)) {
        PyErr_Format(PyExc_TypeError, "headers must be a list, not %.100s",
                     Py_TYPE(headers)->tp_name);
        return -1;
    }
    int code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    buf_reset(&R.head);
    if (buf_append(&R.head, "HTTP/1.1 ", 9) < 0 || buf_append(&R.head, s, (size_t)sl) < 0 ||
        buf_append(&R.head, "\r\n", 2) < 0)
        goto nomem;
    R.app_cl = -1;
    R.has_date = false;
    Py_ssize_t nh = PySequence_Fast_GET_SIZE(headers);
    PyObject **items = PySequence_Fast_ITEMS(headers); /* borrowed */
    for (Py_ssize_t i = 0; i < nh; i++) {
        PyObject *h = items[i]; /* borrowed */
        if (!PyTuple_Check(h) || PyTuple_GET_SIZE(h) != 2) {
            PyErr_Format(PyExc_TypeError, "header %R is not a (name, value) tuple", h);
            return -1;
        }
        Py_ssize_t nl, vl;
        const char *n = latin1(PySequence_Fast_GET_ITEM(h, 0), &nl, "header name");
        if (!n)
            return -1;
        const char *v = latin1(PySequence_Fast_GET_ITEM(h, 1), &vl, "header value");
        if (!v)
            return -1;
        for (Py_ssize_t k = 0; k < nl; k++)
            if (!is_tchar((unsigned char)n[k])) {
                PyErr_Format(PyExc_ValueError, "invalid header name %R",
                             PySequence_Fast_GET_ITEM(h, 0));
                return -1;
            }
        if (nl == 0 || has_ctl(v, vl)) {
            PyErr_Format(PyExc_ValueError, "invalid header %R (empty name or control characters)",
                         h);
            return -1;
        }
        if (name_is(n, nl, "content-length")) {
            int64_t cl = 0;
            for (Py_ssize_t k = 0; k < vl; k++) {
                if (v[k] < '0' || v[k] > '9' || k > 17) {
                    PyErr_Format(PyExc_ValueError, "invalid Content-Length %R",
                                 PySequence_Fast_GET_ITEM(h, 1));
                    return -1;
                }
                cl = cl * 10 + (v[k] - '0');
            }
            if (vl == 0 || R.app_cl >= 0) {
                PyErr_SetString(PyExc_ValueError, "empty or repeated Content-Length");
                return -1;
            }
            R.app_cl = cl;
        } else if (name_is(n, nl, "connection")) {
            /* ours to send; the app may ask for the connection to close */
            if (vl >= 5 && strcasestr(v, "close"))
                R.c->closing = true;
            continue;
        } else if (name_is(n, nl, "transfer-encoding") || name_is(n, nl, "keep-alive") ||
                   name_is(n, nl, "te") || name_is(n, nl, "trailer") || name_is(n, nl, "upgrade") ||
                   name_is(n, nl, "proxy-authenticate") || name_is(n, nl, "proxy-authorization")) {
            PyErr_Format(PyExc_ValueError, "hop-by-hop header %R is the server's (PEP 3333)",
                         PySequence_Fast_GET_ITEM(h, 0));
            return -1;
        } else if (name_is(n, nl, "date"))
            R.has_date = true;
        if (buf_append(&R.head, n, (size_t)nl) < 0 || buf_append(&R.head, ": ", 2) < 0 ||
            buf_append(&R.head, v, (size_t)vl) < 0 || buf_append(&R.head, "\r\n", 2) < 0)
            goto nomem;
    }
    R.status = code;
    R.no_body = (R.c->req.is_head) || code < 200 || code == 204 || code == 304;
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

static PyObject *start_response(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    PyObject *status = NULL, *headers = NULL, *exc_info = Py_None; /* borrowed */
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs > 3 || nargs + nkw < 2 || nargs + nkw > 3)
        goto usage;
    PyObject *slots[3] = {NULL, NULL, NULL};
    for (Py_ssize_t i = 0; i < nargs; i++)
        slots[i] = args[i];
    static const char *const names[3] = {"status", "headers", "exc_info"};
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *kn = PyTuple_GET_ITEM(kwnames, i); /* borrowed */
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (PyUnicode_CompareWithASCIIString(kn, names[j]) == 0)
                k = j;
        if (k < 0 || slots[k])
            goto usage;
        slots[k] = args[nargs + i];
    }
    status = slots[0];
    headers = slots[1];
    if (slots[2])
        exc_info = slots[2];
    if (!status || !headers)
        goto usage;
    if (!R.c) {
        PyErr_SetString(PyExc_RuntimeError, "start_response called outside of its request");
        return NULL;
    }
    if (exc_info != Py_None) {
        if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
            PyErr_SetString(PyExc_TypeError, "exc_info must be a (type, value, traceback) tuple");
            return NULL;
        }
        if (R.head_sent) {
            /* too late to change the response: re-raise the app's error */
            PyObject *t = PyTuple_GET_ITEM(exc_info, 0), *v = PyTuple_GET_ITEM(exc_info, 1),
                     *tb = PyTuple_GET_ITEM(exc_info, 2); /* borrowed */
            Py_INCREF(t);
            Py_INCREF(v);
            Py_INCREF(tb);
            PyErr_Restore(t, v, tb == Py_None ? (Py_DECREF(tb), NULL) : tb);
            return NULL;
        }
    } else if (R.started) {
        PyErr_SetString(PyExc_AssertionError,
                        "start_response called a second time without exc_info (PEP 3333)");
        return NULL;
    }
    if (format_head(status, headers) < 0) {
        R.started = false;
        buf_reset(&R.head);
        return NULL;
    }
    R.started = true;
    Py_INCREF(write_fn);
    return write_fn;
usage:
    PyErr_SetString(PyExc_TypeError, "start_response(status, headers, exc_info=None)");
    return NULL;
}

#define MAX_PIECES 64

/* A request body the app left unread that will not (or cannot) be drained:
 * the response must say the connection closes. */
static void close_if_body_left(struct gw_conn *c)
{
    if ((c->body_mode != GW_BODY_NONE && !c->continue_sent) ||
        (c->body_mode == GW_BODY_LENGTH && c->body_left > GW_DRAIN_LIMIT) || c->body_error)
        c->closing = true;
}

/* Appends the framing headers, the timing header, Date and the blank line to
 * R.head.  `known_total` >= 0: the whole body is known to be that long. */
static int finish_head(int64_t known_total)
{
    struct gw_conn *c = R.c;
    char line[96];
    int n;
    close_if_body_left(c);
    if (!R.no_body && R.app_cl < 0) {
        if (known_total >= 0) {
            R.app_cl = known_total;
            n = snprintf(line, sizeof(line), "Content-Length: %lld\r\n", (long long)known_total);
            if (buf_append(&R.head, line, (size_t)n) < 0)
                return -1;
        } else if (c->proto == GW_PROTO_HTTP && c->req.http_minor == 1) {
            R.chunked = true;
            if (buf_append(&R.head, "Transfer-Encoding: chunked\r\n", 28) < 0)
                return -1;
        } else
            c->closing = true; /* the end of the body is the end of the connection */
    }
    if (c->proto == GW_PROTO_HTTP) {
        if (c->closing) {
            if (buf_append(&R.head, "Connection: close\r\n", 19) < 0)
                return -1;
        } else if (c->req.http_minor == 0) {
            if (buf_append(&R.head, "Connection: keep-alive\r\n", 24) < 0)
                return -1;
        }
    }
    n = snprintf(line, sizeof(line), "X-Chain-App-Us: %lld\r\n", (long long)us_since(&R.t0));
    if (buf_append(&R.head, line, (size_t)n) < 0)
        return -1;
    if (!R.has_date) {
        size_t dl;
        const char *d = date_line(&dl);
        if (buf_append(&R.head, d, dl) < 0)
            return -1;
    }
    return buf_append(&R.head, "\r\n", 2);
}

/* Sends body pieces (at most MAX_PIECES), preceded by the head when it is
 * not out yet.  `final`: nothing follows; if the head is still unsent the
 * pieces are the whole body.  0, or -1 when the client is gone (closing). */
static int send_pieces(const struct iovec *pieces, int np, bool final)
{
    struct iovec iov[MAX_PIECES * 3 + 2];
    char sizes[MAX_PIECES][20];
    int k = 0;
    uint64_t total = 0;
    for (int i = 0; i < np; i++)
        total += pieces[i].iov_len;
    if (!R.head_sent) {
        if (finish_head(final ? (int64_t)total : -1) < 0) {
            R.write_failed = true;
            R.c->closing = true;
            return -1;
        }
        iov[k].iov_base = R.head.data;
        iov[k++].iov_len = R.head.len;
    }
    uint64_t data = 0;
    if (!R.no_body) {
        for (int i = 0; i < np; i++) {
            size_t len = pieces[i].iov_len;
            if (R.app_cl >= 0) {
                uint64_t room = (uint64_t)R.app_cl - R.body_sent - data;
                if (len > room)
                    len = (size_t)room; /* never more than the app announced */
            }
            if (len == 0)
                continue;
            if (R.chunked) {
                int sn = snprintf(sizes[i], sizeof(sizes[i]), "%zx\r\n", len);
                iov[k].iov_base = sizes[i];
                iov[k++].iov_len = (size_t)sn;
            }
            iov[k].iov_base = pieces[i].iov_base;
            iov[k++].iov_len = len;
            if (R.chunked) {
                iov[k].iov_base = "\r\n";
                iov[k++].iov_len = 2;
            }
            data += len;
        }
        if (final && R.chunked) {
            iov[k].iov_base = "0\r\n\r\n";
            iov[k++].iov_len = 5;
        }
    }
    R.head_sent = true;
    gw_wsgi_head_sent = 1;
    if (k && gw_conn_writev(R.c, iov, k) < 0) {
        R.write_failed = true;
        R.c->closing = true;
        return -1;
    }
    R.body_sent += data;
    if (final && R.app_cl >= 0 && !R.no_body && R.body_sent < (uint64_t)R.app_cl)
        R.c->closing = true; /* the app sent less than it announced */
    return 0;
}

static PyObject *write_cb(PyObject *self, PyObject *data)
{
    if (!R.c || !R.started) {
        PyErr_SetString(PyExc_RuntimeError, "write() called before start_response");
        return NULL;
    }
    Py_buffer view;
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "write() takes bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    struct iovec iov = {view.buf, (size_t)view.len};
    int rc = view.len ? send_pieces(&iov, 1, false) : 0;
    PyBuffer_Release(&view);
    if (rc < 0) {
        PyErr_SetString(PyExc_OSError, "client disconnected");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- wsgi.file_wrapper ---- */

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

/* Sends a file_wrapper's real file with sendfile.  Returns 1 when done that
 * way, 0 when the object is not a plain file (iterate it instead), -1 on a
 * Python error. */
static int send_file(struct fw *w)
{
    int fd = PyObject_AsFileDescriptor(w->filelike);
    if (fd < 0) {
        PyErr_Clear();
        return 0;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
        return 0;
    PyObject *pos = PyObject_CallMethod(w->filelike, "tell", NULL); /* new */
    if (!pos) {
        PyErr_Clear();
        return 0;
    }
    long long off = PyLong_AsLongLong(pos);
    Py_DECREF(pos);
    if (off < 0 || off > sb.st_size) {
        PyErr_Clear();
        return 0;
    }
    uint64_t count = (uint64_t)(sb.st_size - off);
    if (R.app_cl >= 0 && (uint64_t)R.app_cl < count)
        count = (uint64_t)R.app_cl;
    if (!R.head_sent) {
        if (finish_head((int64_t)count) < 0)
            return PyErr_NoMemory(), -1;
        R.head_sent = true;
        gw_wsgi_head_sent = 1;
        if (gw_conn_write(R.c, R.head.data, R.head.len) < 0) {
            R.write_failed = true;
            R.c->closing = true;
            return 1;
        }
    }
    if (R.no_body || count == 0)
        return 1;
    ssize_t sent = gw_conn_sendfile(R.c, fd, (off_t)off, (size_t)count);
    if (sent < 0) {
        R.write_failed = true;
        R.c->closing = true;
        return 1;
    }
    R.body_sent += (uint64_t)sent;
    if ((uint64_t)sent < count || (R.chunked)) /* shrunk file, or framing we cannot finish */
        R.c->closing = true;
    return 1;
}

/* ---- the response ---- */

/* Sends a whole list/tuple response in one write when it is small enough.
 * Returns 1 when sent, 0 to iterate instead, -1 on an error (Python error
 * set). */
static int send_sequence(PyObject *seq)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > MAX_PIECES)
        return 0;
    PyObject **items = PySequence_Fast_ITEMS(seq); /* borrowed */
    struct iovec iov[MAX_PIECES];
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyBytes_Check(items[i])) {
            PyErr_Format(PyExc_TypeError, "the app returned %.100s in its body, not bytes",
                         Py_TYPE(items[i])->tp_name);
            return -1;
        }
        iov[i].iov_base = PyBytes_AS_STRING(items[i]);
        iov[i].iov_len = (size_t)PyBytes_GET_SIZE(items[i]);
    }
    if (!R.started) {
        PyErr_SetString(PyExc_RuntimeError, "the app returned without calling start_response");
        return -1;
    }
    send_pieces(iov, (int)n, true);
    return 1;
}

/* Iterates the response and sends each chunk.  0, or -1 with a Python error
 * (from the app, or a protocol violation). */
static int send_iterable(PyObject *result)
{
    PyObject *it = PyObject_GetIter(result); /* new */
    if (!it)
        return -1;
    PyObject *item; /* new */
    while ((item = PyIter_Next(it))) {
        if (!PyBytes_Check(item)) {
            PyErr_Format(PyExc_TypeError, "the app yielded %.100s, not bytes",
                         Py_TYPE(item)->tp_name);
            Py_DECREF(item);
            break;
        }
        Py_ssize_t len = PyBytes_GET_SIZE(item);
        if (len > 0) {
            if (!R.started) {
                PyErr_SetString(PyExc_RuntimeError,
                                "the app yielded body data before calling start_response");
                Py_DECREF(item);
                break;
            }
            struct iovec iov = {PyBytes_AS_STRING(item), (size_t)len};
            bool last = !R.head_sent && R.app_cl >= 0 && (uint64_t)len >= (uint64_t)R.app_cl;
            int rc = send_pieces(&iov, 1, last);
            Py_DECREF(item);
            if (rc < 0)
                break; /* the client is gone: stop asking the app */
            continue;
        }
        Py_DECREF(item);
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return -1;
    if (R.write_failed)
        return 0;
    if (!R.started) {
        PyErr_SetString(PyExc_RuntimeError, "the app returned without calling start_response");
        return -1;
    }
    send_pieces(NULL, 0, true);
    return 0;
}

int gw_wsgi_send_error(struct gw_conn *c, int status)
{
    char out[256];
    const char *reason = gw_http_reason(status);
    size_t dl;
    const char *date = date_line(&dl);
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%.*s\r\n%s\n",
                     status, reason, strlen(reason) + 1, (int)dl, date, reason);
    c->closing = true;
    return gw_conn_write(c, out, (size_t)n);
}

/* The app failed: log, then a 500 if nothing was sent, else close. */
static void app_failed(void)
{
    if (!R.exception && gw_wsgi_exceptions)
        (*gw_wsgi_exceptions)++;
    R.exception = true;
    gw_py_log_exception();
    if (R.write_failed)
        return;
    if (!R.head_sent) {
        char line[64];
        close_if_body_left(R.c);
        int n =
            snprintf(line, sizeof(line), "X-Chain-App-Us: %lld\r\n", (long long)us_since(&R.t0));
        buf_reset(&R.head);
        bool body = !R.c->req.is_head;
        buf_printf(&R.head,
                   "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                   "Content-Length: 22\r\n%s%.*s\r\n%s",
                   R.c->closing && R.c->proto == GW_PROTO_HTTP ? "Connection: close\r\n" : "", n,
                   line, body ? "Internal Server Error\n" : "");
        R.status = 500;
        R.head_sent = true;
        gw_wsgi_head_sent = 1;
        R.body_sent = body ? 22 : 0;
        if (gw_conn_write(R.c, R.head.data, R.head.len) < 0)
            R.c->closing = true;
    } else
        R.c->closing = true; /* the response is cut: the client must see it */
}

static void run(struct gw_conn *c, PyObject *app, PyObject *environ, struct gw_wsgi_result *res)
{
    PyObject *result = NULL, *input; /* new, borrowed (owned by environ) */
    R.c = c;
    R.started = R.head_sent = R.no_body = R.chunked = R.exception = R.write_failed = false;
    R.status = 0;
    R.app_cl = -1;
    R.body_sent = 0;
    buf_reset(&R.head);
    gw_wsgi_head_sent = 0;
    input = PyDict_GetItem(environ, keys[K_WSGI_INPUT]);
    clock_gettime(CLOCK_MONOTONIC, &R.t0);

    PyObject *args[2] = {environ, start_resp_fn};
    result = PyObject_Vectorcall(app, args, 2, NULL);
    if (!result) {
        app_failed();
        goto done;
    }
    int rc;
    if (Py_TYPE(result) == &fw_type && R.started && (rc = send_file((struct fw *)result)) != 0) {
        if (rc < 0)
            app_failed();
    } else if ((PyList_CheckExact(result) || PyTuple_CheckExact(result)) &&
               (rc = send_sequence(result)) != 0) {
        if (rc < 0)
            app_failed();
    } else if (send_iterable(result) < 0)
        app_failed();

    /* close() always, whatever happened */
    if (PyObject_HasAttr(result, s_close) == 1) {
        PyObject *r = PyObject_CallMethod(result, "close", NULL); /* new */
        if (!r) {
            log_error("the response's close() raised:");
            if (!R.exception && gw_wsgi_exceptions)
                (*gw_wsgi_exceptions)++;
            R.exception = true;
            gw_py_log_exception();
            c->closing = c->closing || !R.head_sent;
        }
        Py_XDECREF(r);
    }
    PyErr_Clear();
done:
    Py_XDECREF(result);
    if (input)
        gw_input_detach(input);
    res->status = R.status;
    res->body_bytes = R.body_sent;
    res->exception = R.exception;
    if (R.head.cap > 65536)
        buf_free(&R.head);
    R.c = NULL;
}

/* ---- environ ---- */

/* d[key] = value, consuming the new reference `value`.  0 or -1. */
static int set_new(PyObject *d, PyObject *key, PyObject *value)
{
    if (!value)
        return -1;
    int rc = PyDict_SetItem(d, key, value);
    Py_DECREF(value);
    return rc;
}

/* The latin-1 str of n bytes: a new reference, or NULL with an error. */
static PyObject *str_latin1(const char *p, size_t n)
{
    if (n == 0) {
        Py_INCREF(s_empty);
        return s_empty;
    }
    return PyUnicode_DecodeLatin1(p, (Py_ssize_t)n, NULL);
}

/* REQUEST_METHOD's value (interned for the common methods): new reference. */
static PyObject *method_str(const char *p, size_t n)
{
    for (size_t i = 0; i < NMETHODS; i++)
        if (strlen(method_names[i]) == n && memcmp(method_names[i], p, n) == 0) {
            Py_INCREF(methods[i]);
            return methods[i];
        }
    return str_latin1(p, n);
}

/* PATH_INFO from a raw path: percent-decoded, latin-1.  New reference. */
static PyObject *path_str(const char *p, size_t n)
{
    buf_reset(&scratch);
    if (buf_reserve(&scratch, n) < 0)
        return PyErr_NoMemory();
    size_t dn = gw_http_pct_decode(p, n, scratch.data);
    return str_latin1(scratch.data, dn);
}

/* The environ key for header `name` (new reference): CONTENT_TYPE,
 * CONTENT_LENGTH, or HTTP_ + upper-cased name with '-' as '_'. */
static PyObject *header_key(const char *name, size_t n)
{
    for (size_t i = 0; i < NHDRS; i++)
        if (hdr_lens[i] == n && strncasecmp(hdr_names[i], name, n) == 0) {
            Py_INCREF(hdr_keys[i]);
            return hdr_keys[i];
        }
    if (n == 12 && strncasecmp(name, "content-type", 12) == 0) {
        Py_INCREF(keys[K_CONTENT_TYPE]);
        return keys[K_CONTENT_TYPE];
    }
    if (n == 14 && strncasecmp(name, "content-length", 14) == 0) {
        Py_INCREF(keys[K_CONTENT_LENGTH]);
        return keys[K_CONTENT_LENGTH];
    }
    buf_reset(&scratch);
    if (buf_reserve(&scratch, n + 5) < 0)
        return PyErr_NoMemory();
    memcpy(scratch.data, "HTTP_", 5);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        scratch.data[5 + i] = ch == '-' ? '_' : (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
    }
    return PyUnicode_FromStringAndSize(scratch.data, (Py_ssize_t)n + 5);
}

/* Sets REMOTE_ADDR and REMOTE_PORT from the peer address. */
static int set_remote(PyObject *env, const struct addr *peer)
{
    char host[ADDR_STRLEN];
    char port[16];
    if (peer->ss.ss_family == AF_UNIX || peer->len == 0) {
        host[0] = '\0';
        port[0] = '\0';
    } else {
        addr_host(peer, host, sizeof(host));
        snprintf(port, sizeof(port), "%d", addr_port(peer));
    }
    if (set_new(env, keys[K_REMOTE_ADDR], str_latin1(host, strlen(host))) < 0 ||
        set_new(env, keys[K_REMOTE_PORT], str_latin1(port, strlen(port))) < 0)
        return -1;
    return 0;
}

/* SERVER_NAME from the Host header (else the socket's address), SERVER_PORT
 * from the socket the request came in on (as uWSGI does; the Host header's
 * port for unix sockets). */
static int set_server(PyObject *env, struct gw_conn *c, const struct gw_hdr *host)
{
    const char *name = "localhost", *port = "80";
    size_t nl = 9, pl = 2;
    char lh[ADDR_STRLEN], lp[16];
    bool tcp = c->local && c->local->ss.ss_family != AF_UNIX;
    if (host && host->value_len) {
        const char *v = host->value;
        size_t n = host->value_len;
        const char *colon = NULL;
        if (v[0] == '[') {
            const char *rb = memchr(v, ']', n);
            if (rb && rb + 1 < v + n && rb[1] == ':')
                colon = rb + 1;
        } else
            colon = memchr(v, ':', n);
        name = v;
        nl = colon ? (size_t)(colon - v) : n;
        if (colon && colon + 1 < v + n) {
            port = colon + 1;
            pl = (size_t)(v + n - port);
        }
    } else if (tcp) {
        addr_host(c->local, lh, sizeof(lh));
        name = lh;
        nl = strlen(lh);
    }
    if (tcp) {
        snprintf(lp, sizeof(lp), "%d", addr_port(c->local));
        port = lp;
        pl = strlen(lp);
    }
    if (set_new(env, keys[K_SERVER_NAME], str_latin1(name, nl)) < 0 ||
        set_new(env, keys[K_SERVER_PORT], str_latin1(port, pl)) < 0)
        return -1;
    return 0;
}

/* Adds header h to the environ, joining repeats with ", ". */
static int add_header(PyObject *env, const struct gw_hdr *h)
{
    PyObject *key = header_key(h->name, h->name_len); /* new */
    if (!key)
        return -1;
    PyObject *val = str_latin1(h->value, h->value_len); /* new */
    if (!val) {
        Py_DECREF(key);
        return -1;
    }
    PyObject *old = PyDict_GetItemWithError(env, key); /* borrowed */
    if (old) {
        PyObject *joined = PyUnicode_FromFormat("%U, %U", old, val); /* new */
        Py_DECREF(val);
        val = joined;
        if (!val) {
            Py_DECREF(key);
            return -1;
        }
    } else if (PyErr_Occurred()) {
        Py_DECREF(key);
        Py_DECREF(val);
        return -1;
    }
    int rc = PyDict_SetItem(env, key, val);
    Py_DECREF(key);
    Py_DECREF(val);
    return rc;
}

/* The environ of the HTTP request in c->req: new reference, or NULL with a
 * Python error set. */
static PyObject *environ_http(struct gw_conn *c)
{
    struct gw_req *r = &c->req;
    PyObject *env = PyDict_Copy(tmpl); /* new */
    if (!env)
        return NULL;
    if (set_new(env, keys[K_REQUEST_METHOD], method_str(r->method, r->method_len)) < 0 ||
        set_new(env, keys[K_PATH_INFO], path_str(r->path, r->path_len)) < 0 ||
        (r->query_len &&
         set_new(env, keys[K_QUERY_STRING], str_latin1(r->query, r->query_len)) < 0) ||
        set_new(env, keys[K_REQUEST_URI], str_latin1(r->uri, r->uri_len)) < 0 ||
        PyDict_SetItem(env, keys[K_SERVER_PROTOCOL], r->http_minor ? s_http11 : s_http10) < 0 ||
        set_remote(env, &c->peer) < 0)
        goto error;
    const struct gw_hdr *host = NULL;
    for (int i = 0; i < r->nhdrs; i++) {
        const struct gw_hdr *h = &r->hdrs[i];
        /* "X_Foo" would pose as "X-Foo" in the environ: drop it, as nginx does */
        if (memchr(h->name, '_', h->name_len))
            continue;
        if (h->name_len == 4 && strncasecmp(h->name, "host", 4) == 0)
            host = h;
        if (add_header(env, h) < 0)
            goto error;
    }
    if (set_server(env, c, host) < 0 || set_new(env, keys[K_WSGI_INPUT], gw_input_new(c)) < 0)
        goto error;
    return env;
error:
    Py_DECREF(env);
    return NULL;
}

void gw_wsgi_handle_http(struct gw_conn *c, PyObject *app, struct gw_wsgi_result *res)
{
    memset(res, 0, sizeof(*res));
    PyObject *env = environ_http(c); /* new */
    if (c->req.chunked)
        gw_conn_body_begin(c, GW_BODY_CHUNKED, 0);
    else
        gw_conn_body_begin(c, c->req.content_length > 0 ? GW_BODY_LENGTH : GW_BODY_NONE,
                           c->req.content_length > 0 ? (uint64_t)c->req.content_length : 0);
    if (!env) {
        log_error("cannot build the environ:");
        gw_py_log_exception();
        res->exception = true;
        if (gw_wsgi_exceptions)
            (*gw_wsgi_exceptions)++;
        res->status = 500;
        gw_wsgi_send_error(c, 500);
        return;
    }
    run(c, app, env, res);
    Py_DECREF(env);
}

/* ---- uwsgi ---- */

struct uw_ctx {
    PyObject *env; /* borrowed */
    struct gw_conn *c;
    const char *cl, *scheme, *https, *rscheme;
    size_t cl_len, scheme_len, https_len, rscheme_len;
};

/* The environ key for a uwsgi variable name (interned when known): new
 * reference, or NULL with an error. */
static PyObject *var_key(const char *k, size_t kl)
{
    for (int i = 0; i < K__COUNT; i++)
        if ((size_t)PyUnicode_GET_LENGTH(keys[i]) == kl &&
            memcmp(PyUnicode_1BYTE_DATA(keys[i]), k, kl) == 0) {
            Py_INCREF(keys[i]);
            return keys[i];
        }
    if (kl > 5 && memcmp(k, "HTTP_", 5) == 0)
        for (size_t i = 0; i < NHDRS; i++)
            if (PyUnicode_GET_LENGTH(hdr_keys[i]) == (Py_ssize_t)kl &&
                memcmp(PyUnicode_1BYTE_DATA(hdr_keys[i]), k, kl) == 0) {
                Py_INCREF(hdr_keys[i]);
                return hdr_keys[i];
            }
    return PyUnicode_DecodeLatin1(k, (Py_ssize_t)kl, NULL);
}

static int on_var(void *ud, const char *k, size_t kl, const char *v, size_t vl)
{
    struct uw_ctx *x = ud;
    struct gw_req *r = &x->c->req;
#define IS(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)
    if (IS("CONTENT_LENGTH")) {
        x->cl = v;
        x->cl_len = vl;
        if (vl == 0)
            return 0;
    } else if (IS("CONTENT_TYPE") && vl == 0)
        return 0; /* nginx sends it empty when unknown */
    else if (IS("HTTP_CONTENT_LENGTH") || IS("HTTP_CONTENT_TYPE"))
        return 0; /* the request's headers, sent again by nginx: CGI has them as CONTENT_* only */
    else if (IS("REQUEST_METHOD")) {
        r->method = v;
        r->method_len = vl;
        r->is_head = vl == 4 && memcmp(v, "HEAD", 4) == 0;
    } else if (IS("REQUEST_URI")) {
        r->uri = v;
        r->uri_len = vl;
    } else if (IS("PATH_INFO") && !r->uri) {
        r->path = v;
        r->path_len = vl;
    } else if (IS("UWSGI_SCHEME")) {
        x->scheme = v;
        x->scheme_len = vl;
    } else if (IS("HTTPS")) {
        x->https = v;
        x->https_len = vl;
    } else if (IS("REQUEST_SCHEME")) {
        x->rscheme = v;
        x->rscheme_len = vl;
    }
#undef IS
    PyObject *key = var_key(k, kl); /* new */
    if (!key)
        return -2;
    int rc = set_new(x->env, key, str_latin1(v, vl));
    Py_DECREF(key);
    return rc < 0 ? -2 : 0;
}

/* Sets `key` to a default when the packet did not have it.  0 or -1. */
static int set_default(PyObject *env, int key, PyObject *value /* new */)
{
    if (!value)
        return -1;
    PyObject *r = PyDict_SetDefault(env, keys[key], value); /* borrowed */
    Py_DECREF(value);
    return r ? 0 : -1;
}

void gw_wsgi_handle_uwsgi(struct gw_conn *c, PyObject *app, const char *vars, size_t len,
                          struct gw_wsgi_result *res)
{
    memset(res, 0, sizeof(*res));
    gw_req_reset(&c->req);
    c->req.http_minor = 0; /* our response: no chunked, close-delimited when unknown */
    c->req.keepalive = false;
    c->closing = true;
    struct uw_ctx x = {0};
    x.c = c;
    x.env = PyDict_Copy(tmpl); /* new */
    if (!x.env)
        goto pyerror;
    int rc = uwsgi_decode_vars((const uint8_t *)vars, len, on_var, &x);
    if (rc == -2)
        goto pyerror;
    int64_t cl = -1;
    if (x.cl_len) {
        cl = 0;
        for (size_t i = 0; i < x.cl_len; i++) {
            if (x.cl[i] < '0' || x.cl[i] > '9' || i > 17) {
                rc = -1;
                break;
            }
            cl = cl * 10 + (x.cl[i] - '0');
        }
    }
    if (rc != 0) {
        Py_DECREF(x.env);
        gw_conn_body_begin(c, GW_BODY_NONE, 0);
        res->status = 400;
        gw_wsgi_send_error(c, 400);
        return;
    }
    c->req.content_length = cl;
    if (!c->req.uri) {
        c->req.uri = c->req.path;
        c->req.uri_len = c->req.path_len;
    }
    PyObject *scheme = NULL; /* borrowed */
    if (x.scheme_len)
        scheme = NULL;
    else if ((x.https_len == 2 && strncasecmp(x.https, "on", 2) == 0) ||
             (x.https_len == 1 && x.https[0] == '1'))
        scheme = s_https;
    if (x.scheme_len) {
        if (set_new(x.env, keys[K_WSGI_URL_SCHEME], str_latin1(x.scheme, x.scheme_len)) < 0)
            goto pyerror;
    } else if (scheme) {
        if (PyDict_SetItem(x.env, keys[K_WSGI_URL_SCHEME], scheme) < 0)
            goto pyerror;
    } else if (x.rscheme_len) {
        if (set_new(x.env, keys[K_WSGI_URL_SCHEME], str_latin1(x.rscheme, x.rscheme_len)) < 0)
            goto pyerror;
    }
    /* what PEP 3333 requires and nginx's uwsgi_params may leave out */
    if (!c->req.method) {
        c->req.method = "GET";
        c->req.method_len = 3;
    }
    Py_INCREF(methods[0]);
    if (set_default(x.env, K_REQUEST_METHOD, methods[0]) < 0)
        goto pyerror;
    PyObject *pi = PyDict_GetItemWithError(x.env, keys[K_PATH_INFO]); /* borrowed */
    if (!pi) {
        if (PyErr_Occurred())
            goto pyerror;
        const char *u = c->req.uri ? c->req.uri : "/";
        size_t ul = c->req.uri ? c->req.uri_len : 1;
        const char *q = memchr(u, '?', ul);
        if (set_new(x.env, keys[K_PATH_INFO], path_str(u, q ? (size_t)(q - u) : ul)) < 0)
            goto pyerror;
    }
    Py_INCREF(s_http11);
    if (set_default(x.env, K_SERVER_PROTOCOL, s_http11) < 0 ||
        set_default(x.env, K_SERVER_NAME, PyUnicode_FromString("localhost")) < 0 ||
        set_default(x.env, K_SERVER_PORT, PyUnicode_FromString("80")) < 0)
        goto pyerror;
    if (!PyDict_Contains(x.env, keys[K_REMOTE_ADDR]) && set_remote(x.env, &c->peer) < 0)
        goto pyerror;
    if (!PyDict_Contains(x.env, keys[K_REQUEST_URI])) {
        PyObject *p = PyDict_GetItem(x.env, keys[K_PATH_INFO]);    /* borrowed */
        PyObject *q = PyDict_GetItem(x.env, keys[K_QUERY_STRING]); /* borrowed */
        PyObject *u = /* new */ (q && PyUnicode_GET_LENGTH(q)) ? PyUnicode_FromFormat("%S?%S", p, q)
                                                               : (Py_INCREF(p), p);
        if (set_new(x.env, keys[K_REQUEST_URI], u) < 0)
            goto pyerror;
    }
    if (set_new(x.env, keys[K_WSGI_INPUT], gw_input_new(c)) < 0)
        goto pyerror;
    gw_conn_body_begin(c, cl > 0 ? GW_BODY_LENGTH : GW_BODY_NONE, cl > 0 ? (uint64_t)cl : 0);
    run(c, app, x.env, res);
    Py_DECREF(x.env);
    return;
pyerror:
    log_error("cannot build the environ from a uwsgi packet:");
    gw_py_log_exception();
    Py_XDECREF(x.env);
    gw_conn_body_begin(c, GW_BODY_NONE, 0);
    res->exception = true;
    if (gw_wsgi_exceptions)
        (*gw_wsgi_exceptions)++;
    res->status = 500;
    gw_wsgi_send_error(c, 500);
}

/* ---- set-up ---- */

static PyMethodDef start_resp_def = {"start_response", (PyCFunction)(void (*)(void))start_response,
                                     METH_FASTCALL | METH_KEYWORDS,
                                     "start_response(status, headers, exc_info=None) -> write"};
static PyMethodDef write_def = {"write", write_cb, METH_O, "write(data): send body data now"};

static PyObject *intern(const char *s)
{
    return PyUnicode_InternFromString(s);
}

int gw_wsgi_init(const struct gw_opts *o)
{
    for (int i = 0; i < K__COUNT; i++)
        if (!(keys[i] = intern(key_names[i])))
            goto error;
    for (size_t i = 0; i < NHDRS; i++) {
        char k[64] = "HTTP_";
        size_t n = strlen(hdr_names[i]);
        for (size_t j = 0; j < n; j++) {
            char ch = hdr_names[i][j];
            k[5 + j] = ch == '-' ? '_' : (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
        }
        k[5 + n] = '\0';
        hdr_lens[i] = n;
        if (!(hdr_keys[i] = intern(k)))
            goto error;
    }
    for (size_t i = 0; i < NMETHODS; i++)
        if (!(methods[i] = intern(method_names[i])))
            goto error;
    if (!(s_empty = intern("")) || !(s_http10 = intern("HTTP/1.0")) ||
        !(s_http11 = intern("HTTP/1.1")) || !(s_https = intern("https")) ||
        !(s_http = intern("http")) || !(s_close = intern("close")))
        goto error;
    if (gw_input_init() < 0)
        goto error;
    if (PyType_Ready(&fw_type) < 0)
        goto error;
    if (!(start_resp_fn = PyCFunction_New(&start_resp_def, NULL)) ||
        !(write_fn = PyCFunction_New(&write_def, NULL)))
        goto error;

    PyObject *errors = PySys_GetObject("stderr"); /* borrowed */
    if (!errors) {
        PyErr_SetString(PyExc_RuntimeError, "no sys.stderr");
        goto error;
    }
    tmpl = PyDict_New();
    if (!tmpl)
        goto error;
    PyObject *version = Py_BuildValue("(ii)", 1, 0); /* new */
    if (set_new(tmpl, keys[K_WSGI_VERSION], version) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_URL_SCHEME], s_http) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_ERRORS], errors) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_MULTITHREAD], Py_False) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_MULTIPROCESS], o->processes > 1 ? Py_True : Py_False) <
            0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_RUN_ONCE], Py_False) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_FILE_WRAPPER], (PyObject *)&fw_type) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_INPUT_TERMINATED], Py_True) < 0 ||
        PyDict_SetItem(tmpl, keys[K_SCRIPT_NAME], s_empty) < 0 ||
        PyDict_SetItem(tmpl, keys[K_QUERY_STRING], s_empty) < 0)
        goto error;
    return 0;
error:
    log_error("cannot set up WSGI:");
    gw_py_log_exception();
    return -1;
}

void gw_wsgi_fini(void)
{
    for (int i = 0; i < K__COUNT; i++)
        Py_CLEAR(keys[i]);
    for (size_t i = 0; i < NHDRS; i++)
        Py_CLEAR(hdr_keys[i]);
    for (size_t i = 0; i < NMETHODS; i++)
        Py_CLEAR(methods[i]);
    Py_CLEAR(s_empty);
    Py_CLEAR(s_http10);
    Py_CLEAR(s_http11);
    Py_CLEAR(s_https);
    Py_CLEAR(s_http);
    Py_CLEAR(s_close);
    Py_CLEAR(tmpl);
    Py_CLEAR(start_resp_fn);
    Py_CLEAR(write_fn);
    buf_free(&R.head);
    buf_free(&scratch);
}
