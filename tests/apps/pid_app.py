"""A small validated WSGI app for the gateway's process tests (88-91).

GET /          -> "pid=<worker pid> version=<VERSION> n=<requests this worker served>
                   imported=<pid that imported this module>"
GET /sleep?s=S -> sleeps S seconds first (harakiri, graceful stop); a line
                  "<pid> sleeping" in $WSGI_RECORD_DIR/sleep.log says it has begun
GET /exit?code=N -> the worker exits at once with status N (no answer)
The reload test copies this file and edits VERSION to see new code picked up.
$WSGI_RECORD_DIR/validator.log receives anything the validator raises."""
import os
import time
from urllib.parse import parse_qs
from wsgiref import validate

VERSION = "1"
IMPORTED_BY = os.getpid()  # the worker, or the master with --preload
served = 0


def record(line, name="validator.log"):
    d = os.environ.get("WSGI_RECORD_DIR")
    if d:
        with open(os.path.join(d, name), "a") as f:
            f.write("%d %s\n" % (os.getpid(), line))


def inner(environ, start_response):
    global served
    served += 1
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if environ.get("PATH_INFO", "").startswith("/exit"):
        os._exit(int(q.get("code", "3")))
    if environ.get("PATH_INFO", "").startswith("/sleep"):
        record("sleeping", "sleep.log")  # the request is in the app: tests wait for this
        time.sleep(float(q.get("s", "1")))
    body = ("pid=%d version=%s n=%d imported=%d" % (os.getpid(), VERSION, served, IMPORTED_BY)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


validated = validate.validator(inner)


def application(environ, start_response):
    try:
        return validated(environ, start_response)
    except AssertionError as e:
        record("AssertionError: %s" % e)
        raise
