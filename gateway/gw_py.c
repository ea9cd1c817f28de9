/* py: interpreter start and app loading (see py.h). */
#include "gw_py.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static PyThreadState *saved_ts; /* while released */

/* Inserts `dir` (decoded with the filesystem encoding) at sys.path[pos].
 * 0 or -1 (Python error set). */
static int path_insert(Py_ssize_t pos, const char *dir)
{
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    if (!path || !PyList_Check(path)) {
        PyErr_SetString(PyExc_RuntimeError, "sys.path is not a list");
        return -1;
    }
    PyObject *s = PyUnicode_DecodeFSDefault(dir); /* new */
    if (!s)
        return -1;
    int rc = PyList_Insert(path, pos, s);
    Py_DECREF(s);
    return rc;
}

int gw_py_init(const struct gw_opts *o)
{
    /* UTF-8 mode: under the C locale stdio would otherwise be ASCII and an
     * app printing non-ASCII text would fail */
    PyPreConfig pre;
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.utf8_mode = 1;
    PyStatus pst = Py_PreInitialize(&pre);
    if (PyStatus_Exception(pst)) {
        log_error("cannot start Python: %s", pst.err_msg ? pst.err_msg : "unknown error");
        return -1;
    }
    PyConfig cfg;
    PyConfig_InitIsolatedConfig(&cfg);
    cfg.install_signal_handlers = 0;
    cfg.buffered_stdio = 0;
    cfg.site_import = 1;
    const char *nb = getenv("PYTHONDONTWRITEBYTECODE");
    if (nb && *nb)
        cfg.write_bytecode = 0;
    char *argv[] = {"gateway", NULL};
    PyStatus st;
    if (o->virtualenv) {
        /* the venv's python: its pyvenv.cfg makes sys.prefix the venv */
        char exe[4096];
        snprintf(exe, sizeof(exe), "%s/bin/python3", o->virtualenv);
        st = PyConfig_SetBytesString(&cfg, &cfg.program_name, exe);
    } else
        st = PyConfig_SetString(&cfg, &cfg.program_name, L"/usr/bin/python3");
    if (!PyStatus_Exception(st))
        st = PyConfig_SetBytesArgv(&cfg, 1, argv);
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&cfg);
    PyConfig_Clear(&cfg);
    if (PyStatus_Exception(st)) {
        log_error("cannot start Python: %s%s%s", st.func ? st.func : "", st.func ? ": " : "",
                  st.err_msg ? st.err_msg : "unknown error");
        return -1;
    }
    Py_ssize_t pos = 0;
    for (int i = 0; i < o->npythonpath; i++)
        if (path_insert(pos++, o->pythonpath[i]) < 0)
            goto error;
    if (o->wsgi_file) {
        char *dup = strdup(o->wsgi_file);
        if (!dup) {
            PyErr_NoMemory();
            goto error;
        }
        char *slash = strrchr(dup, '/');
        const char *dir = ".";
        if (slash == dup)
            dir = "/";
        else if (slash) {
            *slash = '\0';
            dir = dup;
        }
        int rc = path_insert(pos++, dir);
        free(dup);
        if (rc < 0)
            goto error;
    } else if (path_insert(pos++, ".") < 0)
        goto error;
    return 0;
error:
    log_error("cannot set up sys.path:");
    gw_py_log_exception();
    return -1;
}

/* Loads a Python source file as a module named from its path, as uWSGI
 * does ("uwsgi_file_" + the path with non-alphanumerics as '_').  Returns the
 * module (new) or NULL with an exception set. */
static PyObject *load_file(const char *path)
{
    static const char code[] =
        "import importlib.machinery, importlib.util, sys\n"
        "loader = importlib.machinery.SourceFileLoader(name, path)\n"
        "spec = importlib.util.spec_from_file_location(name, path, loader=loader)\n"
        "mod = importlib.util.module_from_spec(spec)\n"
        "sys.modules[name] = mod\n"
        "try:\n"
        "    loader.exec_module(mod)\n"
        "except BaseException:\n"
        "    del sys.modules[name]\n"
        "    raise\n";
    PyObject *globals = NULL, *name = NULL, *p = NULL, *r = NULL, *mod = NULL; /* new */
    size_t n = strlen(path);
    char *mname = malloc(n + 12);
    if (!mname) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(mname, "uwsgi_file_", 11);
    for (size_t i = 0; i < n; i++) {
        char ch = path[i];
        mname[11 + i] =
            ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
                ? ch
                : '_';
    }
    mname[11 + n] = '\0';
    globals = PyDict_New();
    if (!globals)
        goto error;
    if (PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0)
        goto error;
    name = PyUnicode_FromString(mname);
    p = PyUnicode_DecodeFSDefault(path);
    if (!name || !p || PyDict_SetItemString(globals, "name", name) < 0 ||
        PyDict_SetItemString(globals, "path", p) < 0)
        goto error;
    r = PyRun_String(code, Py_file_input, globals, globals);
    if (!r)
        goto error;
    mod = PyDict_GetItemString(globals, "mod"); /* borrowed */
    Py_XINCREF(mod);
    if (!mod)
        PyErr_SetString(PyExc_RuntimeError, "module not created");
error:
    free(mname);
    Py_XDECREF(r);
    Py_XDECREF(p);
    Py_XDECREF(name);
    Py_XDECREF(globals);
    return mod;
}

PyObject *gw_py_load_app(const struct gw_opts *o)
{
    PyObject *mod = NULL, *app = NULL; /* new */
    char *modname = NULL;
    const char *callable = o->callable ? o->callable : "application";
    const char *what;
    if (o->wsgi_file) {
        what = o->wsgi_file;
        struct stat sb;
        if (stat(o->wsgi_file, &sb) < 0) {
            log_error("cannot load the app: --wsgi-file %s: %s", o->wsgi_file, strerror(errno));
            return NULL;
        }
        mod = load_file(o->wsgi_file);
        if (!mod) {
            log_error("cannot load the app from --wsgi-file %s:", o->wsgi_file);
            goto error;
        }
    } else {
        modname = strdup(o->module);
        if (!modname) {
            log_error("out of memory");
            return NULL;
        }
        char *colon = strchr(modname, ':');
        if (colon) {
            *colon = '\0';
            if (colon[1])
                callable = o->module + (colon + 1 - modname);
        }
        what = modname;
        mod = PyImport_ImportModule(modname);
        if (!mod) {
            log_error("cannot load the app: cannot import module \"%s\":", modname);
            goto error;
        }
    }
    app = PyObject_GetAttrString(mod, callable);
    if (!app) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            log_error("cannot load the app: %s has no callable named \"%s\" (see --callable)", what,
                      callable);
            goto out;
        }
        log_error("cannot load the app: getting \"%s\" from %s failed:", callable, what);
        goto error;
    }
    if (!PyCallable_Check(app)) {
        log_error("cannot load the app: \"%s\" in %s is not callable (it is a %s)", callable, what,
                  Py_TYPE(app)->tp_name);
        Py_CLEAR(app);
    }
    goto out;
error:
    gw_py_log_exception();
out:
    free(modname);
    Py_XDECREF(mod);
    return app;
}

void gw_py_log_exception(void)
{
    PyObject *t, *v, *tb; /* new (owned after Fetch) */
    PyErr_Fetch(&t, &v, &tb);
    if (!t)
        return;
    PyErr_NormalizeException(&t, &v, &tb);
    if (tb && v)
        PyException_SetTraceback(v, tb);
    PyErr_Display(t, v, tb);
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
    PyErr_Clear();
}

void gw_py_after_fork(void)
{
    PyOS_AfterFork_Child();
}

void gw_py_release(void)
{
    if (!saved_ts && Py_IsInitialized())
        saved_ts = PyEval_SaveThread();
}

void gw_py_acquire(void)
{
    if (saved_ts) {
        PyEval_RestoreThread(saved_ts);
        saved_ts = NULL;
    }
}

int gw_py_fini(void)
{
    gw_py_acquire();
    if (!Py_IsInitialized())
        return 0;
    return Py_FinalizeEx();
}
