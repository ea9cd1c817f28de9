"""Gateway: the external HTTP request corpora (../shared/corpora) replayed
against the gateway's HTTP/1.1 front end.  Valid requests reach the app with
the expected method, URI and body; invalid ones (and the request-smuggling
shapes Debian's llhttp 8.1.0 lets through) never get a 2xx.  Skips, saying
where the corpora come from, when they are absent (harness.corpora_missing)."""
import base64
import json
import os
import socket
import sys
import unittest

import harness
from harness import CORPORA_DIR, GATEWAY_IMPL, RawClient, free_port, main, need_gateway

APP = r'''
import base64, json
def application(environ, start_response):
    n = environ.get("CONTENT_LENGTH")
    inp = environ["wsgi.input"]
    body = inp.read(int(n)) if n else inp.read()
    out = json.dumps({"method": environ["REQUEST_METHOD"], "uri": environ["REQUEST_URI"],
                      "body": base64.b64encode(body).decode()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]
'''


def load(test, name):
    """The cases of corpus `name`; skips `test`, saying where the corpus comes
    from, when it is not there."""
    why = harness.corpora_missing(name)
    if why:
        test.skipTest(why)
    with open(os.path.join(CORPORA_DIR, name)) as f:
        return json.load(f)


def replay(port, raw, n, timeout=1.5):
    """Sends `raw` on a fresh connection and reads up to n responses; returns
    the list of (status, body) read before the connection closed or went
    quiet."""
    c = RawClient(port, timeout=timeout)
    out = []
    try:
        c.sock.sendall(raw)
        for _ in range(max(n, 1)):
            try:
                r = c.read_response()
            except (ConnectionError, socket.timeout, ValueError, IndexError):
                break
            out.append((r.status, r.body))
            if r.header("Connection", "").lower() == "close":
                break
    finally:
        c.close()
    return out


def truncated(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    for line in head.lower().split(b"\r\n")[1:]:
        if line.startswith(b"content-length:"):
            try:
                return len(body) < int(line.split(b":", 1)[1])
            except ValueError:
                return False
    return False


def refused_by_choice(raw):
    """Requests a WSGI server may refuse: CONNECT (405), transfer codings
    other than a lone "chunked" (501, as RFC 9112 6.1 allows and nginx does)."""
    head = raw.split(b"\r\n\r\n")[0].lower()
    if head.startswith(b"connect "):
        return True
    tes = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")[1:]
           if l.startswith(b"transfer-encoding:")]
    return bool(tes) and tes != [b"chunked"]


def refused_400_by_choice(raw):
    """llhttp "ok" vectors the gateway refuses with 400 by choice: another
    protocol on the request line (ICE/1.0, RTSP/1.0), HTTP/0.9, asterisk-form
    for a method other than OPTIONS (SSDP's M-SEARCH *).  Any other 400 to
    an ok vector with a Host is a failure (an extension method such as
    QUERY is accepted)."""
    line = raw.lstrip(b"\r\n").split(b"\r\n", 1)[0].split(b" ")
    if len(line) != 3 or not line[2].startswith(b"HTTP/"):
        return True
    return line[1] == b"*" and line[0] != b"OPTIONS"


class Corpora(harness.GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.app = self.write("echo.py", APP)
        self.port = free_port()
        self.gw = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port,
                                      "--wsgi-file", self.app, "--processes", "1",
                                      "--disable-logging"])

    def test_gunicorn_requests(self):
        cases = load(self, "gunicorn_requests.json")
        judged = 0
        for case in cases:
            if case["tags"] or case["gunicorn_limit_specific"]:
                continue
            raw = base64.b64decode(case["raw_b64"])
            if truncated(raw):
                continue  # the vector's body is shorter than its Content-Length
            with self.subTest(case=case["id"]):
                got = replay(self.port, raw, case.get("n_requests") or 1)
                judged += 1
                if case["kind"] == "invalid":
                    self.assertFalse([s for s, _ in got if 200 <= s < 300],
                                     "invalid request accepted: %r" % case["raw_repr"][:200])
                    continue
                if case.get("http11_missing_host") and got and got[-1][0] == 400:
                    continue  # RFC 9112 3.2: answer 400
                if refused_by_choice(raw) and got and got[0][0] in (405, 501):
                    continue
                if not (got and got[-1][0] == 400):
                    self.assertEqual(len(got), case["n_requests"], case["raw_repr"][:300])
                heads = [h for h in raw.split(b"\r\n\r\n")
                         if h.split(b"\r\n")[0].endswith((b"HTTP/1.1", b"HTTP/1.0"))]
                for k, ((status, body), want) in enumerate(zip(got, case["expect"])):
                    if (status == 400 and k < len(heads) and heads[k].endswith(b"HTTP/1.1")
                            and b"\r\nhost:" not in heads[k].lower()):
                        break  # an HTTP/1.1 request without Host: 400 (RFC 9112 3.2)
                    self.assertEqual(status, 200, case["raw_repr"][:300])
                    seen = json.loads(body)
                    self.assertEqual(seen["method"], want["method"])
                    self.assertEqual(seen["uri"], want["uri"])
                    self.assertEqual(base64.b64decode(seen["body"]),
                                     base64.b64decode(want.get("body_b64") or ""))
        self.assertGreater(judged, 50)

    def test_llhttp_request_vectors(self):
        cases = load(self, "llhttp_head_vectors.json")
        judged = 0
        for case in cases:
            if (case["type"] != "request" or case["verdict"] not in ("ok", "error")
                    or not case.get("raw_b64")):
                continue
            raw = base64.b64decode(case["raw_b64"])
            with self.subTest(case=case["id"], name=case["name"]):
                judged += 1
                if case["verdict"] == "error":
                    before = case["messages_complete_before_error"] or 0
                    got = replay(self.port, raw, before + 2)
                    ok = [s for s, _ in got if 200 <= s < 300]
                    self.assertLessEqual(len(ok), before, "accepted: %r" % raw[:200])
                else:
                    n = case["messages_complete"] or 1
                    got = replay(self.port, raw, n)
                    missing_host = b"\nhost:" not in raw.lower() and b"HTTP/1.1" in raw
                    for s, _ in got:
                        if missing_host and s == 400:
                            continue
                        # our stricter choices: methods/targets llhttp knows
                        # but a WSGI server refuses (CONNECT) get 4xx
                        self.assertTrue(200 <= s < 300 or s in (405, 501, 505)
                                        or (s == 400 and refused_400_by_choice(raw)),
                                        "%d for %r" % (s, raw[:200]))
                    if not missing_host:
                        self.assertTrue(got, "no answer for %r" % raw[:200])
        self.assertGreater(judged, 50)


if __name__ == "__main__":
    missing = [why for why in map(harness.corpora_missing, harness.CORPORA) if why]
    if len(missing) == len(harness.CORPORA):  # nothing to replay: ctest's skip
        for why in missing:
            print("SKIP: " + why)
        sys.exit(77)
    need_gateway()
    main()
