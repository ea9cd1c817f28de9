"""Request bodies behind nginx's uwsgi_pass, inside wsgiref.validate.

/sha    reads wsgi.input to its end, 64 KiB at a time, and answers with the
        length, the sha256 and the CONTENT_*/HTTP_CONTENT_* items it saw
/early  answers at once without reading the body (as an app rejecting an
        upload does), with the same environ items
/early_big  the same with an 8 MiB answer
Complaints of the validator go to $WSGI_RECORD_DIR/validator.log
(validated.py)."""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import validated  # noqa: E402

KEYS = ("CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE")


def inner(environ, start_response):
    seen = {k: environ[k] for k in KEYS if k in environ}
    out = {"environ": seen}
    if environ["PATH_INFO"] == "/sha":
        h = hashlib.sha256()
        n = 0
        inp = environ["wsgi.input"]
        while True:
            d = inp.read(65536)
            if not d:
                break
            h.update(d)
            n += len(d)
        out.update(len=n, sha256=h.hexdigest())
    elif environ["PATH_INFO"] == "/early_big":
        # an answer larger than the sockets' buffers, sent while the body
        # has not been read: the writer must not wait for a reader that
        # is itself waiting to send the body
        big = b"x" * (8 << 20)
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(big)))])
        return [big]
    elif environ["PATH_INFO"] != "/early":
        body = b"not found\n"
        start_response("404 Not Found", [("Content-Type", "text/plain"),
                                         ("Content-Length", str(len(body)))])
        return [body]
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validated.wrap(inner)
