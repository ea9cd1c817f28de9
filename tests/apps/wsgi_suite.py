"""The WSGI conformance app the gateway e2e tests drive (85-89).

Every route except the /raw/* ones runs inside wsgiref.validate.validator,
the standard library's PEP 3333 referee, with its warnings turned into
errors.  Anything the validator raises is appended to
$WSGI_RECORD_DIR/validator.log (and the request answers 500 "validator: ...")
so a test can check both the status and the file.  close() calls are
appended to $WSGI_RECORD_DIR/close.log ("<id> closed").

Routes (PATH_INFO prefix):
  /environ...          JSON dump of the environ (str values; types of the rest)
  /echo?mode=M&n=N     reads the body with read(n) | read_all | readline |
                       readlines | iter | rawiter | cl, answers JSON
                       {len, sha256, body (first 4 KiB, latin-1), ...}
  /upload              streams the body in 64 KiB reads; JSON {len, sha256,
                       rss_start, rss_max} (bytes, from /proc/self/status)
  /status?code=C       answers status C
  /write               body via write() then the iterable ("abc")
  /gen?n=N&cl=0|1      generator of N pieces, Content-Length only if cl=1
  /handgen?go=NAME     generator (no Content-Length): "hand-0;", then waits
                       until the client creates $WSGI_RECORD_DIR/NAME (60 s
                       safety net), then "hand-1;": a streamed response
  /excinfo/before      start_response twice, the second with exc_info: 500
  /excinfo/after       exc_info after the body started: re-raised, recorded
  /close?id=X&mode=ok|raise|slow   an iterable whose close() is recorded
  /file?path=P         wsgi.file_wrapper over a real file
  /raise               exception before start_response
  /raise_after         exception after the first body piece
  /sleep?s=S           sleeps S seconds, answers the pid
  /pid                 the worker pid
  /errors?m=MARK       writes MARK to wsgi.errors (must reach the log)
  /raw/badstatus?kind=K&catch=0|1   start_response with invalid input,
                       outside the validator (it would refuse it first)
  /raw/file?path=P     wsgi.file_wrapper, unwrapped (sendfile path)
  /raw/sendfile?path=P the same with a file whose read() calls are recorded
                       in $WSGI_RECORD_DIR/fileread.log (sendfile reads none)
  /raw/filelike?n=N    wsgi.file_wrapper over an io.BytesIO (no fileno)
"""
import hashlib
import io
import json
import os
import sys
import time
from urllib.parse import parse_qs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from validated import record, wrap  # noqa: E402

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def qs(environ):
    return {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def text(start_response, body, status="200 OK", ctype="text/plain"):
    if isinstance(body, str):
        body = body.encode("utf-8")
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def jsonr(start_response, obj, status="200 OK"):
    return text(start_response, json.dumps(obj), status, "application/json")


# --- validated routes -------------------------------------------------------

def r_environ(environ, start_response):
    out, types = {}, {}
    for k, v in environ.items():
        types[k] = type(v).__name__
        if isinstance(v, str):
            out[k] = v
        elif isinstance(v, (bool, int, tuple)):
            out[k] = v
    out["environ_is_dict"] = type(environ) is dict
    out["_types"] = types
    return jsonr(start_response, out)


def r_echo(environ, start_response):
    q = qs(environ)
    mode = q.get("mode", "read_n")
    n = int(q.get("n", "7"))
    inp = environ["wsgi.input"]  # the validator's InputWrapper
    raw = getattr(inp, "input", inp)  # the server's own object
    pieces = []
    if mode == "read_n":
        while True:
            b = inp.read(n)
            if not b:
                break
            assert len(b) <= n, "read(%d) returned %d bytes" % (n, len(b))
            pieces.append(b)
    elif mode == "read_all":  # read() without size: outside PEP 3333 strictness
        pieces.append(raw.read())
        pieces.append(raw.read())  # at EOF: must be b""
    elif mode == "read_neg":
        pieces.append(raw.read(-1))
    elif mode == "readline":
        while True:
            b = inp.readline(n) if n > 0 else inp.readline()
            if not b:
                break
            pieces.append(b)
    elif mode == "readlines":
        pieces.extend(inp.readlines())
    elif mode == "iter":
        pieces.extend(iter(inp))
    elif mode == "rawiter":
        pieces.extend(raw)
    elif mode == "cl":
        cl = int(environ.get("CONTENT_LENGTH") or 0)
        pieces.append(inp.read(cl))
    body = b"".join(pieces)
    return jsonr(start_response, {
        "len": len(body), "sha256": hashlib.sha256(body).hexdigest(),
        "body": body[:4096].decode("latin-1"), "pieces": len(pieces),
        "piece_lens": [len(p) for p in pieces][:64],
        "input_terminated": environ.get("wsgi.input_terminated"),
        "CONTENT_LENGTH": environ.get("CONTENT_LENGTH"),
        "has_CONTENT_LENGTH": "CONTENT_LENGTH" in environ})


def r_upload(environ, start_response):
    inp = environ["wsgi.input"]
    h = hashlib.sha256()
    n = 0
    start = rss()
    peak = start
    reads = 0
    while True:
        b = inp.read(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
        reads += 1
        if reads % 64 == 0:
            peak = max(peak, rss())
        del b
    peak = max(peak, rss())
    return jsonr(start_response, {"len": n, "sha256": h.hexdigest(), "rss_start": start,
                                  "rss_max": peak, "pid": os.getpid()})


def r_status(environ, start_response):
    code = qs(environ).get("code", "200")
    reasons = {"200": "OK", "201": "Created", "204": "No Content", "304": "Not Modified",
               "404": "Not Found", "418": "I'm a teapot", "503": "Service Unavailable"}
    status = "%s %s" % (code, reasons.get(code, "Whatever"))
    if code in ("204", "304"):
        start_response(status, [])
        return []
    return text(start_response, "status " + code, status)


def r_write(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"a")
    write(b"b")
    return [b"c"]


def r_gen(environ, start_response):
    q = qs(environ)
    n = int(q.get("n", "5"))
    piece = q.get("piece", "piece-").encode()
    body = [piece + b"%d;" % i for i in range(n)]
    headers = [("Content-Type", "text/plain")]
    if q.get("cl") == "1":
        headers.append(("Content-Length", str(sum(map(len, body)))))
    start_response("200 OK", headers)

    def gen():
        for b in body:
            yield b
        yield b""  # empty pieces must not end a chunked body
    return gen()


def r_handgen(environ, start_response):
    go = os.path.join(os.environ["WSGI_RECORD_DIR"], os.path.basename(qs(environ)["go"]))
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"hand-0;"
        deadline = time.monotonic() + 60  # longer than the client waits for hand-0
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.005)
        yield b"hand-1;"
    return gen()


def r_excinfo_before(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-First", "yes")])
    try:
        raise ValueError("boom-before")
    except ValueError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain"),
                                                     ("Content-Length", "8")], sys.exc_info())
    return [b"replaced"]


def r_excinfo_after(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"first-piece;"
        try:
            raise ValueError("boom-after")
        except ValueError:
            try:
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                               sys.exc_info())
            except ValueError as e:
                record("excinfo.log", "reraised %s" % e)
                raise
            record("excinfo.log", "NOT reraised")
        yield b"never"
    return gen()


class Closing:
    """An iterable with a close() that records it was called."""

    def __init__(self, ident, mode, n):
        self.ident, self.mode, self.n = ident, mode, n

    def __iter__(self):
        for i in range(self.n):
            if self.mode == "raise" and i == 2:
                raise RuntimeError("closing-iter-failed")
            if self.mode == "slow":
                time.sleep(0.05)
            yield b"x" * 1024

    def close(self):
        record("close.log", "%s closed" % self.ident)


def r_close(environ, start_response):
    q = qs(environ)
    mode = q.get("mode", "ok")
    n = int(q.get("n", "4" if mode != "slow" else "200"))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Closing(q.get("id", "?"), mode, n)


def r_file(environ, start_response):
    path = qs(environ)["path"]
    size = os.path.getsize(path)
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](open(path, "rb"), 32768)


def r_raise(environ, start_response):
    raise RuntimeError("secret-detail-xyzzy")


def r_raise_after(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"partial;"
        raise RuntimeError("secret-after-plugh")
    return gen()


def r_sleep(environ, start_response):
    s = float(qs(environ).get("s", "1"))
    time.sleep(s)
    return text(start_response, "%d" % os.getpid())


def r_errors(environ, start_response):
    err = environ["wsgi.errors"]
    err.write("wsgi.errors says %s\n" % qs(environ).get("m", "?"))
    err.writelines(["second line %s\n" % qs(environ).get("m", "?")])
    err.flush()
    return text(start_response, "logged")


def r_pid(environ, start_response):
    return text(start_response, "%d" % os.getpid())


ROUTES = [
    ("/environ", r_environ), ("/echo", r_echo), ("/upload", r_upload), ("/status", r_status),
    ("/write", r_write), ("/gen", r_gen), ("/handgen", r_handgen), ("/excinfo/before", r_excinfo_before),
    ("/excinfo/after", r_excinfo_after), ("/close", r_close), ("/file", r_file),
    ("/raise_after", r_raise_after), ("/raise", r_raise), ("/sleep", r_sleep), ("/pid", r_pid),
    ("/errors", r_errors),
]


def inner(environ, start_response):
    path = environ.get("PATH_INFO", "")
    for prefix, fn in ROUTES:
        if path.startswith(prefix):
            return fn(environ, start_response)
    return text(start_response, "not found: %r" % path, "404 Not Found")


validated = wrap(inner)


# --- unvalidated routes -----------------------------------------------------

BAD = {
    "status_int": (200, [("Content-Type", "text/plain")]),
    "status_bytes": (b"200 OK", [("Content-Type", "text/plain")]),
    "status_short": ("20 OK", [("Content-Type", "text/plain")]),
    "status_crlf": ("200 OK\r\nX-Injected: 1", [("Content-Type", "text/plain")]),
    "hdr_crlf": ("200 OK", [("X-Bad", "a\r\nX-Injected: 1")]),
    "hdr_lf": ("200 OK", [("X-Bad", "a\nX-Injected: 1")]),
    "hdr_name_crlf": ("200 OK", [("X-Bad\r\nX-Injected", "1")]),
    "hdr_nonlatin1": ("200 OK", [("X-Bad", "euro \u20ac")]),
    "hdr_bytes": ("200 OK", [(b"X-Bad", b"bytes")]),
    "hdr_not_tuple": ("200 OK", [["X-Bad", "list"]]),
    "hdr_not_list": ("200 OK", (("X-Bad", "tuple"),)),
}


def raw_badstatus(environ, start_response):
    q = qs(environ)
    status, headers = BAD[q["kind"]]
    if q.get("catch") != "1":
        start_response(status, headers)
        return [b"bad input accepted"]
    try:
        start_response(status, headers)
    except Exception as e:
        body = json.dumps({"raised": True, "type": type(e).__name__, "msg": str(e)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))], sys.exc_info())
        return [body]
    return [b'{"raised": false}']


def raw_file(environ, start_response):
    path = qs(environ)["path"]
    size = os.path.getsize(path)
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](open(path, "rb"), 32768)


class RecordingFile(io.FileIO):
    """A real file that records every read() through Python."""

    def read(self, *a):
        record("fileread.log", "read%r" % (a,))
        return super().read(*a)

    def readinto(self, b):
        record("fileread.log", "readinto")
        return super().readinto(b)


def raw_sendfile(environ, start_response):
    path = qs(environ)["path"]
    size = os.path.getsize(path)
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](RecordingFile(path, "rb"), 65536)


def raw_filelike(environ, start_response):
    n = int(qs(environ).get("n", "100000"))
    data = bytes(i % 251 for i in range(n))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](io.BytesIO(data), 8192)


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/raw/sendfile"):
        return raw_sendfile(environ, start_response)
    if path.startswith("/raw/filelike"):
        return raw_filelike(environ, start_response)
    if path.startswith("/raw/badstatus"):
        return raw_badstatus(environ, start_response)
    if path.startswith("/raw/file"):
        return raw_file(environ, start_response)
    return validated(environ, start_response)
