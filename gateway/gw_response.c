/* response: start_response, write, the response iterable and close()
 * (see gw_response.h). */
#include "gw_response.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "gw_filewrapper.h"
#include "gw_py.h"
#include "http1.h"
#include "log.h"

volatile sig_atomic_t gw_response_head_sent;
volatile uint64_t *gw_response_exceptions;

static PyObject *s_close; /* owned, interned "close" */
static PyObject *write_cb(PyObject *self, PyObject *data);
static PyMethodDef write_def = {"write", write_cb, METH_O, "write(data): send body data now"};

/* One request's response: start_response's and write's self (a Python
 * object, so a callable the app keeps past its request finds c NULL rather
 * than a stale connection). */
struct resp {
    PyObject_HEAD struct gw_conn *c; /* borrowed; NULL outside its request */
    bool started;                    /* start_response was called */
    bool head_sent;
    bool no_body; /* HEAD, 1xx, 204, 304 */
    bool chunked;
    bool has_date;
    bool exception;
    bool write_failed;
    int status;
    int64_t app_cl; /* Content-Length the app gave, -1 if none */
    uint64_t body_sent;
    struct timespec t0; /* app call */
};

/* The running response's head: status line + app headers, CRLF-terminated
 * lines, then ours.  Formatted and sent within its request, and only by the
 * object whose c is set, so one worker-lifetime buffer serves every request
 * and no request allocates for its head. */
static struct buf head;

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

/* Validates status and headers and formats them into head.  0, or -1 with a
 * Python error (head then holds garbage; the caller resets it). */
static int format_head(struct resp *r, PyObject *status, PyObject *headers)
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
    buf_reset(&head);
    if (buf_append(&head, "HTTP/1.1 ", 9) < 0 || buf_append(&head, s, (size_t)sl) < 0 ||
        buf_append(&head, "\r\n", 2) < 0)
        goto nomem;
    r->app_cl = -1;
    r->has_date = false;
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
            if (!http1_is_tchar((unsigned char)n[k])) {
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
            if (vl == 0 || r->app_cl >= 0) {
                PyErr_SetString(PyExc_ValueError, "empty or repeated Content-Length");
                return -1;
            }
            r->app_cl = cl;
        } else if (name_is(n, nl, "connection")) {
            /* ours to send; the app may ask for the connection to close */
            if (vl >= 5 && strcasestr(v, "close"))
                r->c->closing = true;
            continue;
        } else if (name_is(n, nl, "transfer-encoding") || name_is(n, nl, "keep-alive") ||
                   name_is(n, nl, "te") || name_is(n, nl, "trailer") || name_is(n, nl, "upgrade") ||
                   name_is(n, nl, "proxy-authenticate") || name_is(n, nl, "proxy-authorization")) {
            PyErr_Format(PyExc_ValueError, "hop-by-hop header %R is the server's (PEP 3333)",
                         PySequence_Fast_GET_ITEM(h, 0));
            return -1;
        } else if (name_is(n, nl, "date"))
            r->has_date = true;
        if (buf_append(&head, n, (size_t)nl) < 0 || buf_append(&head, ": ", 2) < 0 ||
            buf_append(&head, v, (size_t)vl) < 0 || buf_append(&head, "\r\n", 2) < 0)
            goto nomem;
    }
    r->status = code;
    r->no_body = (r->c->req.is_head) || code < 200 || code == 204 || code == 304;
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

static PyObject *start_response(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    struct resp *r = (struct resp *)self;
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
    if (!r->c) {
        PyErr_SetString(PyExc_RuntimeError, "start_response called outside of its request");
        return NULL;
    }
    if (exc_info != Py_None) {
        if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
            PyErr_SetString(PyExc_TypeError, "exc_info must be a (type, value, traceback) tuple");
            return NULL;
        }
        if (r->head_sent) {
            /* too late to change the response: re-raise the app's error */
            PyObject *t = PyTuple_GET_ITEM(exc_info, 0), *v = PyTuple_GET_ITEM(exc_info, 1),
                     *tb = PyTuple_GET_ITEM(exc_info, 2); /* borrowed */
            Py_INCREF(t);
            Py_INCREF(v);
            Py_INCREF(tb);
            PyErr_Restore(t, v, tb == Py_None ? (Py_DECREF(tb), NULL) : tb);
            return NULL;
        }
    } else if (r->started) {
        PyErr_SetString(PyExc_AssertionError,
                        "start_response called a second time without exc_info (PEP 3333)");
        return NULL;
    }
    if (format_head(r, status, headers) < 0) {
        r->started = false;
        buf_reset(&head);
        return NULL;
    }
    r->started = true;
    return PyCFunction_New(&write_def, self); /* new */
usage:
    PyErr_SetString(PyExc_TypeError, "start_response(status, headers, exc_info=None)");
    return NULL;
}

#define MAX_PIECES 64

/* A request body the app left unread that the worker will not be able to
 * drain (gw_worker.c): the response must say the connection closes. */
static void close_if_body_left(struct gw_conn *c)
{
    if (gw_conn_body_undrainable(c, GW_DRAIN_LIMIT))
        c->closing = true;
}

/* Appends the framing headers, the timing header, Date and the blank line to
 * head.  `known_total` >= 0: the whole body is known to be that long. */
static int finish_head(struct resp *r, int64_t known_total)
{
    struct gw_conn *c = r->c;
    char line[96];
    int n;
    close_if_body_left(c);
    if (!r->no_body && r->app_cl < 0) {
        if (known_total >= 0) {
            r->app_cl = known_total;
            n = snprintf(line, sizeof(line), "Content-Length: %lld\r\n", (long long)known_total);
            if (buf_append(&head, line, (size_t)n) < 0)
                return -1;
        } else if (c->proto == GW_PROTO_HTTP && c->req.http_minor == 1) {
            r->chunked = true;
            if (buf_append(&head, "Transfer-Encoding: chunked\r\n", 28) < 0)
                return -1;
        } else
            c->closing = true; /* the end of the body is the end of the connection */
    }
    if (c->proto == GW_PROTO_HTTP) {
        if (c->closing) {
            if (buf_append(&head, "Connection: close\r\n", 19) < 0)
                return -1;
        } else if (c->req.http_minor == 0) {
            if (buf_append(&head, "Connection: keep-alive\r\n", 24) < 0)
                return -1;
        }
    }
    n = snprintf(line, sizeof(line), "X-Chain-App-Us: %lld\r\n", (long long)us_since(&r->t0));
    if (buf_append(&head, line, (size_t)n) < 0)
        return -1;
    if (!r->has_date) {
        size_t dl;
        const char *d = date_line(&dl);
        if (buf_append(&head, d, dl) < 0)
            return -1;
    }
    return buf_append(&head, "\r\n", 2);
}

/* Sends body pieces (at most MAX_PIECES), preceded by the head when it is
 * not out yet.  `final`: nothing follows; if the head is still unsent the
 * pieces are the whole body.  0, or -1 when the client is gone (closing). */
static int send_pieces(struct resp *r, const struct iovec *pieces, int np, bool final)
{
    struct iovec iov[MAX_PIECES * 3 + 2];
    char sizes[MAX_PIECES][20];
    int k = 0;
    uint64_t total = 0;
    for (int i = 0; i < np; i++)
        total += pieces[i].iov_len;
    if (!r->head_sent) {
        if (finish_head(r, final ? (int64_t)total : -1) < 0) {
            r->write_failed = true;
            r->c->closing = true;
            return -1;
        }
        iov[k].iov_base = head.data;
        iov[k++].iov_len = head.len;
    }
    uint64_t data = 0;
    if (!r->no_body) {
        for (int i = 0; i < np; i++) {
            size_t len = pieces[i].iov_len;
            if (r->app_cl >= 0) {
                uint64_t room = (uint64_t)r->app_cl - r->body_sent - data;
                if (len > room)
                    len = (size_t)room; /* never more than the app announced */
            }
            if (len == 0)
                continue;
            if (r->chunked) {
                int sn = snprintf(sizes[i], sizeof(sizes[i]), "%zx\r\n", len);
                iov[k].iov_base = sizes[i];
                iov[k++].iov_len = (size_t)sn;
            }
            iov[k].iov_base = pieces[i].iov_base;
            iov[k++].iov_len = len;
            if (r->chunked) {
                iov[k].iov_base = "\r\n";
                iov[k++].iov_len = 2;
            }
            data += len;
        }
        if (final && r->chunked) {
            iov[k].iov_base = "0\r\n\r\n";
            iov[k++].iov_len = 5;
        }
    }
    r->head_sent = true;
    gw_response_head_sent = 1;
    if (k && gw_conn_writev(r->c, iov, k) < 0) {
        r->write_failed = true;
        r->c->closing = true;
        return -1;
    }
    r->body_sent += data;
    if (final && r->app_cl >= 0 && !r->no_body && r->body_sent < (uint64_t)r->app_cl)
        r->c->closing = true; /* the app sent less than it announced */
    return 0;
}

static PyObject *write_cb(PyObject *self, PyObject *data)
{
    struct resp *r = (struct resp *)self;
    if (!r->c || !r->started) {
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
    int rc = view.len ? send_pieces(r, &iov, 1, false) : 0;
    PyBuffer_Release(&view);
    if (rc < 0) {
        PyErr_SetString(PyExc_OSError, "client disconnected");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Sends a file_wrapper's real file with sendfile.  Returns 1 when done that
 * way, 0 when the object is not a plain file (iterate it instead), -1 on a
 * Python error. */
static int send_file(struct resp *r, PyObject *w)
{
    int fd;
    off_t off;
    uint64_t count;
    if (gw_filewrapper_file(w, &fd, &off, &count) == 0)
        return 0;
    if (r->app_cl >= 0 && (uint64_t)r->app_cl < count)
        count = (uint64_t)r->app_cl;
    if (!r->head_sent) {
        if (finish_head(r, (int64_t)count) < 0)
            return PyErr_NoMemory(), -1;
        r->head_sent = true;
        gw_response_head_sent = 1;
        if (gw_conn_write(r->c, head.data, head.len) < 0) {
            r->write_failed = true;
            r->c->closing = true;
            return 1;
        }
    }
    if (r->no_body || count == 0)
        return 1;
    ssize_t sent = gw_conn_sendfile(r->c, fd, off, (size_t)count);
    if (sent < 0) {
        r->write_failed = true;
        r->c->closing = true;
        return 1;
    }
    r->body_sent += (uint64_t)sent;
    if ((uint64_t)sent < count || r->chunked) /* shrunk file, or framing we cannot finish */
        r->c->closing = true;
    return 1;
}

/* ---- the response ---- */

/* Sends a whole list/tuple response in one write when it is small enough.
 * Returns 1 when sent, 0 to iterate instead, -1 on an error (Python error
 * set). */
static int send_sequence(struct resp *r, PyObject *seq)
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
    if (!r->started) {
        PyErr_SetString(PyExc_RuntimeError, "the app returned without calling start_response");
        return -1;
    }
    send_pieces(r, iov, (int)n, true);
    return 1;
}

/* Iterates the response and sends each chunk.  0, or -1 with a Python error
 * (from the app, or a protocol violation). */
static int send_iterable(struct resp *r, PyObject *result)
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
            if (!r->started) {
                PyErr_SetString(PyExc_RuntimeError,
                                "the app yielded body data before calling start_response");
                Py_DECREF(item);
                break;
            }
            struct iovec iov = {PyBytes_AS_STRING(item), (size_t)len};
            bool last = !r->head_sent && r->app_cl >= 0 && (uint64_t)len >= (uint64_t)r->app_cl;
            int rc = send_pieces(r, &iov, 1, last);
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
    if (r->write_failed)
        return 0;
    if (!r->started) {
        PyErr_SetString(PyExc_RuntimeError, "the app returned without calling start_response");
        return -1;
    }
    send_pieces(r, NULL, 0, true);
    return 0;
}

int gw_response_send_error(struct gw_conn *c, int status)
{
    char out[256];
    const char *reason = http1_reason(status);
    size_t dl;
    const char *date = date_line(&dl);
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%.*s\r\n%s\n",
                     status, reason, strlen(reason) + 1, (int)dl, date, reason);
    c->closing = true;
    return gw_conn_write(c, out, (size_t)n);
}

void gw_response_fail(struct gw_conn *c, struct gw_result *res)
{
    memset(res, 0, sizeof(*res));
    res->status = 500;
    res->exception = true;
    if (gw_response_exceptions)
        (*gw_response_exceptions)++;
    gw_response_send_error(c, 500);
}

/* The app failed: log, then a 500 if nothing was sent, else close.  When
 * the failure came from reading a broken or oversized request body, the
 * client is told so (400 or 413, c->body_status) rather than 500. */
static void app_failed(struct resp *r)
{
    if (!r->exception && gw_response_exceptions)
        (*gw_response_exceptions)++;
    r->exception = true;
    gw_py_log_exception();
    if (r->write_failed)
        return;
    if (!r->head_sent) {
        char line[64];
        close_if_body_left(r->c);
        int n =
            snprintf(line, sizeof(line), "X-Chain-App-Us: %lld\r\n", (long long)us_since(&r->t0));
        buf_reset(&head);
        bool body = !r->c->req.is_head;
        int status = r->c->body_status ? r->c->body_status : 500;
        const char *reason = http1_reason(status);
        size_t blen = strlen(reason) + 1;
        buf_printf(&head,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                   "Content-Length: %zu\r\n%s%.*s\r\n%s%s",
                   status, reason, blen,
                   r->c->closing && r->c->proto == GW_PROTO_HTTP ? "Connection: close\r\n" : "", n,
                   line, body ? reason : "", body ? "\n" : "");
        r->status = status;
        r->head_sent = true;
        gw_response_head_sent = 1;
        r->body_sent = body ? blen : 0;
        if (gw_conn_write(r->c, head.data, head.len) < 0)
            r->c->closing = true;
    } else
        r->c->closing = true; /* the response is cut: the client must see it */
}

static void resp_dealloc(PyObject *op)
{
    PyObject_Free(op);
}

static PyTypeObject resp_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gateway.Response",
    .tp_basicsize = sizeof(struct resp),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "one request's response (start_response's and write's self)",
    .tp_dealloc = resp_dealloc,
};

static PyMethodDef start_resp_def = {"start_response", (PyCFunction)(void (*)(void))start_response,
                                     METH_FASTCALL | METH_KEYWORDS,
                                     "start_response(status, headers, exc_info=None) -> write"};

/* Calls the app and sends what it returns.  The response state lives in `r`
 * (a new object per request), reached by start_response and write through
 * their self. */
static void run(struct resp *r, PyObject *app, PyObject *environ)
{
    PyObject *result = NULL;                                           /* new */
    PyObject *start = PyCFunction_New(&start_resp_def, (PyObject *)r); /* new */
    if (!start) {
        app_failed(r);
        return;
    }
    PyObject *args[2] = {environ, start};
    result = PyObject_Vectorcall(app, args, 2, NULL);
    if (!result) {
        app_failed(r);
        goto done;
    }
    int rc;
    if (r->started && (rc = send_file(r, result)) != 0) {
        if (rc < 0)
            app_failed(r);
    } else if ((PyList_CheckExact(result) || PyTuple_CheckExact(result)) &&
               (rc = send_sequence(r, result)) != 0) {
        if (rc < 0)
            app_failed(r);
    } else if (send_iterable(r, result) < 0)
        app_failed(r);

    /* close() always, whatever happened */
    if (PyObject_HasAttr(result, s_close) == 1) {
        PyObject *cr = PyObject_CallMethodNoArgs(result, s_close); /* new */
        if (!cr) {
            log_error("the response's close() raised:");
            if (!r->exception && gw_response_exceptions)
                (*gw_response_exceptions)++;
            r->exception = true;
            gw_py_log_exception();
            r->c->closing = r->c->closing || !r->head_sent;
        }
        Py_XDECREF(cr);
    }
    PyErr_Clear();
done:
    Py_XDECREF(result);
    Py_DECREF(start);
}

void gw_response_run(struct gw_conn *c, PyObject *app, PyObject *environ, struct gw_result *res)
{
    struct resp *r = PyObject_New(struct resp, &resp_type); /* new */
    if (!r) {
        log_error("out of memory for a response");
        PyErr_Clear();
        gw_response_fail(c, res);
        return;
    }
    memset((char *)r + sizeof(PyObject), 0, sizeof(*r) - sizeof(PyObject));
    r->c = c;
    r->app_cl = -1;
    gw_response_head_sent = 0;
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    run(r, app, environ);
    if (head.cap > 65536)
        buf_free(&head); /* an app's huge head does not stay for the worker's life */
    res->status = r->status;
    res->body_bytes = r->body_sent;
    res->exception = r->exception;
    r->c = NULL; /* a start_response or write the app kept now fails cleanly */
    Py_DECREF(r);
}

int gw_response_init(void)
{
    if (PyType_Ready(&resp_type) < 0)
        return -1;
    s_close = PyUnicode_InternFromString("close");
    return s_close ? 0 : -1;
}

void gw_response_fini(void)
{
    Py_CLEAR(s_close);
    buf_free(&head);
}
