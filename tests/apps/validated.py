"""wsgiref.validate around any WSGI app, with its complaints recorded.

wrap(app) returns an app that runs `app` inside the standard library's
validator with WSGIWarning turned into an error.  Whatever the validator
raises is appended to $WSGI_RECORD_DIR/validator.log (when the call itself
fails the request answers 500 "validator: ..."), so a test can check both.
Shared by the test apps in this folder."""
import os
import sys
import traceback
import warnings
from wsgiref import validate

warnings.filterwarnings("error", category=validate.WSGIWarning)


def record(name, line):
    d = os.environ.get("WSGI_RECORD_DIR", "")
    if not d:
        return
    with open(os.path.join(d, name), "a") as f:
        f.write("%d %s\n" % (os.getpid(), line.replace("\n", "\\n")))


class RecordingIter:
    """Forwards the validator's iterator, recording validator failures."""

    def __init__(self, it):
        self.it = iter(it)
        self.orig = it

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self.it)
        except (AssertionError, validate.WSGIWarning) as e:
            record("validator.log", "iter: %s: %s" % (type(e).__name__, e))
            raise

    def close(self):
        try:
            if hasattr(self.orig, "close"):
                self.orig.close()
        except (AssertionError, validate.WSGIWarning) as e:
            record("validator.log", "close: %s: %s" % (type(e).__name__, e))
            raise


def wrap(app, strict_input=True):
    """strict_input=False hands the app the server's own wsgi.input rather
    than the validator's InputWrapper, which refuses read() without a size:
    Werkzeug calls exactly that when wsgi.input_terminated is true.  The
    environ, start_response and the response are still checked."""
    if not strict_input:
        inner = app

        def app(environ, start_response):
            environ["wsgi.input"] = getattr(environ["wsgi.input"], "input", environ["wsgi.input"])
            return inner(environ, start_response)
    checked = validate.validator(app)

    def application(environ, start_response):
        try:
            return RecordingIter(checked(environ, start_response))
        except (AssertionError, validate.WSGIWarning) as e:
            record("validator.log", "call %s: %s: %s" % (environ.get("PATH_INFO"), type(e).__name__, e))
            traceback.print_exc()
            body = ("validator: %s: %s" % (type(e).__name__, e)).encode("utf-8", "replace")
            start_response("500 Internal Server Error", [("Content-Type", "text/plain"),
                                                         ("Content-Length", str(len(body)))],
                           sys.exc_info())
            return [body]
    return application
