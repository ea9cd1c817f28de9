/* wsgi: one request through the app (see gw_wsgi.h). */
#include "gw_wsgi.h"

#include "gw_environ.h"
#include "gw_filewrapper.h"
#include "gw_input.h"
#include "gw_py.h"
#include "log.h"

void gw_wsgi_handle(struct gw_conn *c, PyObject *app, struct gw_result *res)
{
    struct gw_req *r = &c->req;
    PyObject *input = NULL;                    /* borrowed (env holds it) */
    PyObject *env = gw_environ_new(c, &input); /* new */
    /* the environ first: it copies c->req's strings, which point into the
     * buffer the body's reads reuse */
    if (r->chunked)
        gw_conn_body_begin(c, GW_BODY_CHUNKED, 0);
    else
        gw_conn_body_begin(c, r->content_length > 0 ? GW_BODY_LENGTH : GW_BODY_NONE,
                           r->content_length > 0 ? (uint64_t)r->content_length : 0);
    if (!env) {
        log_error("cannot build the environ:");
        gw_py_log_exception();
        gw_response_fail(c, res);
        return;
    }
    gw_response_run(c, app, env, res);
    gw_input_detach(input);
    Py_DECREF(env);
}

int gw_wsgi_init(const struct gw_opts *o)
{
    if (gw_input_init() < 0 || gw_filewrapper_init() < 0 || gw_environ_init(o) < 0 ||
        gw_response_init() < 0) {
        log_error("cannot set up WSGI:");
        gw_py_log_exception();
        return -1;
    }
    return 0;
}

void gw_wsgi_fini(void)
{
    gw_response_fini();
    gw_environ_fini();
}
