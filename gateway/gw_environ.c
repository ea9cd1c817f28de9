/* environ: builds the WSGI environ (see gw_environ.h). */
#include "gw_environ.h"

#include <string.h>
#include <strings.h>

#include "buf.h"
#include "gw_filewrapper.h"
#include "gw_http.h"
#include "gw_input.h"

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

static PyObject *s_empty, *s_http10, *s_http11, *s_http; /* owned */
static PyObject *s_localhost, *s_80; /* owned: uwsgi's SERVER_NAME and SERVER_PORT defaults */
static PyObject *tmpl;               /* owned: the constant environ items */
/* keys and paths being built: a scratch area each call starts afresh, so no
 * request's state outlives the call */
static struct buf scratch;

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

/* The environ of an HTTP request (c->req from gw_http.c), without
 * wsgi.input: new reference, or NULL with a Python error set. */
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
    if (set_server(env, c, host) < 0)
        goto error;
    return env;
error:
    Py_DECREF(env);
    return NULL;
}
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

/* Sets `key` to `value` (a new reference, consumed; NULL: failed) when the
 * packet did not have it.  0 or -1. */
static int set_default(PyObject *env, int key, PyObject *value)
{
    if (!value)
        return -1;
    PyObject *r = PyDict_SetDefault(env, keys[key], value); /* borrowed */
    Py_DECREF(value);
    return r ? 0 : -1;
}

/* The environ of a uwsgi request (c->req from gw_uwsgi.c: its variables as
 * they came, plus what PEP 3333 requires and nginx's uwsgi_params may leave
 * out), without wsgi.input: new reference, or NULL with a Python error. */
static PyObject *environ_uwsgi(struct gw_conn *c)
{
    struct gw_req *r = &c->req;
    PyObject *env = PyDict_Copy(tmpl); /* new */
    if (!env)
        return NULL;
    for (int i = 0; i < r->nhdrs; i++) {
        const struct gw_hdr *v = &r->hdrs[i];
        PyObject *key = var_key(v->name, v->name_len); /* new */
        if (!key)
            goto error;
        int rc = set_new(env, key, str_latin1(v->value, v->value_len));
        Py_DECREF(key);
        if (rc < 0)
            goto error;
    }
    if (r->scheme &&
        set_new(env, keys[K_WSGI_URL_SCHEME], str_latin1(r->scheme, r->scheme_len)) < 0)
        goto error;
    if (set_default(env, K_REQUEST_METHOD, method_str(r->method, r->method_len)) < 0)
        goto error;
    PyObject *pi = PyDict_GetItemWithError(env, keys[K_PATH_INFO]); /* borrowed */
    if (!pi) {
        if (PyErr_Occurred())
            goto error;
        const char *u = r->uri ? r->uri : "/";
        size_t ul = r->uri ? r->uri_len : 1;
        const char *q = memchr(u, '?', ul);
        if (set_new(env, keys[K_PATH_INFO], path_str(u, q ? (size_t)(q - u) : ul)) < 0)
            goto error;
    }
    /* PyDict_SetDefault does not steal: the constants stay ours */
    if (!PyDict_SetDefault(env, keys[K_SERVER_PROTOCOL], s_http11) ||
        !PyDict_SetDefault(env, keys[K_SERVER_NAME], s_localhost) ||
        !PyDict_SetDefault(env, keys[K_SERVER_PORT], s_80))
        goto error;
    int has = PyDict_Contains(env, keys[K_REMOTE_ADDR]);
    if (has < 0 || (!has && set_remote(env, &c->peer) < 0))
        goto error;
    has = PyDict_Contains(env, keys[K_REQUEST_URI]);
    if (has < 0)
        goto error;
    if (!has) {
        PyObject *p = PyDict_GetItemWithError(env, keys[K_PATH_INFO]); /* borrowed */
        if (!p)
            goto error;
        PyObject *q = PyDict_GetItemWithError(env, keys[K_QUERY_STRING]); /* borrowed */
        if (!q && PyErr_Occurred())
            goto error;
        PyObject *u = /* new */ (q && PyUnicode_GET_LENGTH(q)) ? PyUnicode_FromFormat("%S?%S", p, q)
                                                               : (Py_INCREF(p), p);
        if (set_new(env, keys[K_REQUEST_URI], u) < 0)
            goto error;
    }
    return env;
error:
    Py_DECREF(env);
    return NULL;
}

PyObject *gw_environ_new(struct gw_conn *c, PyObject **input)
{
    PyObject *env = c->req.cgi ? environ_uwsgi(c) : environ_http(c); /* new */
    if (!env)
        return NULL;
    PyObject *in = gw_input_new(c); /* new */
    if (!in || PyDict_SetItem(env, keys[K_WSGI_INPUT], in) < 0) {
        Py_XDECREF(in);
        Py_DECREF(env);
        return NULL;
    }
    *input = in; /* the environ holds it */
    Py_DECREF(in);
    return env;
}

static PyObject *intern(const char *s)
{
    return PyUnicode_InternFromString(s);
}

int gw_environ_init(const struct gw_opts *o)
{
    for (int i = 0; i < K__COUNT; i++)
        if (!(keys[i] = intern(key_names[i])))
            return -1;
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
            return -1;
    }
    for (size_t i = 0; i < NMETHODS; i++)
        if (!(methods[i] = intern(method_names[i])))
            return -1;
    if (!(s_empty = intern("")) || !(s_http10 = intern("HTTP/1.0")) ||
        !(s_http11 = intern("HTTP/1.1")) || !(s_http = intern("http")) ||
        !(s_localhost = intern("localhost")) || !(s_80 = intern("80")))
        return -1;

    PyObject *errors = PySys_GetObject("stderr"); /* borrowed */
    if (!errors) {
        PyErr_SetString(PyExc_RuntimeError, "no sys.stderr");
        return -1;
    }
    tmpl = PyDict_New();
    if (!tmpl)
        return -1;
    PyObject *version = Py_BuildValue("(ii)", 1, 0); /* new */
    if (set_new(tmpl, keys[K_WSGI_VERSION], version) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_URL_SCHEME], s_http) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_ERRORS], errors) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_MULTITHREAD], Py_False) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_MULTIPROCESS], o->processes > 1 ? Py_True : Py_False) <
            0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_RUN_ONCE], Py_False) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_FILE_WRAPPER], gw_filewrapper_type()) < 0 ||
        PyDict_SetItem(tmpl, keys[K_WSGI_INPUT_TERMINATED], Py_True) < 0 ||
        PyDict_SetItem(tmpl, keys[K_SCRIPT_NAME], s_empty) < 0 ||
        PyDict_SetItem(tmpl, keys[K_QUERY_STRING], s_empty) < 0)
        return -1;
    return 0;
}

void gw_environ_fini(void)
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
    Py_CLEAR(s_http);
    Py_CLEAR(s_localhost);
    Py_CLEAR(s_80);
    Py_CLEAR(tmpl);
    buf_free(&scratch);
}
