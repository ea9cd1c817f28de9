"""The WSGI app of the fault tests (tests/e2e/97_faults_*.py), the soak
(tests/soak.sh) and bench/fault_bench.sh.  Standard library only.

GET  /            -> "ok pid=<worker pid>" (the normal client's request)
GET  /big?n=N     -> N bytes (default 5 MiB), a repeated pattern, with
                     Content-Length (what a slow reader reads)
POST /upload      -> reads the whole body; answers "n=<bytes> sha256=<hex>"
POST /early?n=N   -> answers N bytes (default 2) at once without reading the
                     request body (an early response)
GET  /sleep?s=S   -> sleeps S seconds, then answers (the harakiri victim);
                     a line "<pid> sleeping" in $WSGI_RECORD_DIR/sleep.log
                     says it has begun"""
import hashlib
import os
import time
from urllib.parse import parse_qs

PATTERN = bytes(range(256)) * 256  # 64 KiB


def record(line, name):
    d = os.environ.get("WSGI_RECORD_DIR")
    if d:
        with open(os.path.join(d, name), "a") as f:
            f.write("%d %s\n" % (os.getpid(), line))


def _big(n):
    while n > 0:
        piece = PATTERN[:min(n, len(PATTERN))]
        n -= len(piece)
        yield piece


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    text = [("Content-Type", "text/plain")]
    if path == "/big":
        n = int(q.get("n", 5 << 20))
        start_response("200 OK", text + [("Content-Length", str(n))])
        return _big(n)
    if path == "/upload":
        h, n, inp = hashlib.sha256(), 0, environ["wsgi.input"]
        left = int(environ.get("CONTENT_LENGTH") or 0)
        while left > 0:
            d = inp.read(min(left, 65536))
            if not d:
                break
            h.update(d)
            n += len(d)
            left -= len(d)
        body = ("n=%d sha256=%s" % (n, h.hexdigest())).encode()
    elif path == "/early":
        body = b"e" * int(q.get("n", 2))
    elif path == "/sleep":
        record("sleeping", "sleep.log")
        time.sleep(float(q.get("s", "1")))
        body = b"slept"
    else:
        body = ("ok pid=%d" % os.getpid()).encode()
    start_response("200 OK", text + [("Content-Length", str(len(body)))])
    return [body]
