/* response: one request's response, as PEP 3333 says: calls
 * app(environ, start_response), checks what start_response gets (status and
 * headers are latin-1 str without CR/LF or other controls; exc_info rules),
 * sends what write() gets and streams the response iterable (Content-Length
 * kept when the app gives it; a list or tuple gets one computed; otherwise
 * chunked on HTTP/1.1 and close-delimited on HTTP/1.0 and uwsgi), calls its
 * close() always, sends no body for HEAD/1xx/204/304, sends real files given
 * to wsgi.file_wrapper with sendfile(2).  An app exception is logged with
 * its traceback and becomes a 500 without details, or a closed connection
 * once headers are out.
 *
 * Every response carries "X-Chain-App-Us: N": the microseconds from the app
 * call until the head was sent.  The head goes out with the first body
 * chunk, so N covers the whole app when the body is one chunk, a list or
 * tuple, a file, or a first chunk that completes the app's Content-Length
 * (what Flask and Django return); a streaming app's N stops at its first
 * chunk (PEP 3333 forbids holding chunks back).
 *
 * The state of a response lives in an object made per request, the self of
 * that request's start_response and write; only the buffer its head is
 * formatted in is kept at file level, one for the worker's life, written by
 * the running request alone.  Needs the GIL. */
#ifndef GW_RESPONSE_H
#define GW_RESPONSE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "gw_conn.h"

struct gw_result {
    int status;          /* sent (or 0 when nothing was) */
    uint64_t body_bytes; /* body bytes sent */
    bool exception;      /* the app raised (or broke the protocol) */
};

/* Set once the running request's head has been sent: the harakiri signal
 * handler (gw_worker.c) then cannot send a 504 and just closes.  A signal
 * handler cannot be handed state, hence a process-wide flag. */
extern volatile sig_atomic_t gw_response_head_sent;

/* When set, counts app exceptions as they happen (before the 500 is sent,
 * so a client that saw the 500 finds it counted in the stats). */
extern volatile uint64_t *gw_response_exceptions;

/* Readies the response type (once).  0, or -1 with a Python error set. */
int gw_response_init(void);
void gw_response_fini(void);

/* Runs `app` (borrowed) on `environ` (borrowed) for c's current request,
 * whose body is ready to read (gw_conn_body_begin), and writes the response
 * to c; sets c->closing when the connection cannot be reused.  Fills *res. */
void gw_response_run(struct gw_conn *c, PyObject *app, PyObject *environ, struct gw_result *res);

/* Sends a small complete response (errors we generate ourselves) and marks
 * the connection closing.  Returns 0 or -1. */
int gw_response_send_error(struct gw_conn *c, int status);

/* The request failed before the app could run (the caller has logged why):
 * counts it as an exception, answers 500 and marks the connection closing.
 * Fills *res. */
void gw_response_fail(struct gw_conn *c, struct gw_result *res);

#endif
