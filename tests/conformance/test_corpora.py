"""External conformance: replays ../shared/corpora (gunicorn's request tests
and llhttp's current request vectors) through the proxy under test
(PROXY_IMPL=ours|nginx, see harness.py) in front of an echo backend that
records what it receives.  Verdicts as the corpora README says:

gunicorn_requests.json (cases with tags are skipped):
  valid   -> a 2xx for every pipelined request, and the backend sees the
             expected method, URI and body, in order (an HTTP/1.1 request
             without Host may get 400 instead: RFC 9112 section 3.2)
  invalid -> no 2xx at all (4xx/5xx, or the connection closed)
llhttp_head_vectors.json (type == "request"; verdicts upgrade/incomplete and
cases without raw bytes are skipped):
  ok      -> a 2xx for every message (400 where an HTTP/1.1 message has no Host)
  error   -> no 2xx for the failing message or after it (earlier complete
             messages may succeed)

Prints one summary line per corpus and fails when any judged case fails.
Skips (exit 77), saying where the corpora come from and where they were
looked for, when they are missing (../shared/corpora, or CORPORA_DIR), and
when the proxy under test is.

Measured here with PROXY_IMPL=nginx (Debian nginx 1.22.1, 2026-11-22):
  gunicorn: 112 judged (25 skipped: tags, valid/099 truncated), 96 passed,
    2 refused by policy (CONNECT), 11 failed + 3 informational (gunicorn_limit_specific 006 008 009).
    The README's 6: invalid/041 (duplicate Content-Type), BEL and DEL in a
    header value, 3 forbidden trailer fields, all answered 200.  Beyond the
    README's set nginx also refuses 5 valid cases: valid/017 (duplicate
    If-Match, 400), TE "gzip, chunked" / "identity, chunked" (501), and
    absolute-form with userinfo, OPTIONS * (400).
  llhttp: 124 judged, 115 passed, 6 failed, 3 refused by policy (ICE/RTSP):
    4 error vectors answered 2xx
    (README says 3): invalid.md:66 (ANNOUNCE over HTTP/1.0), invalid.md:454
    (bare LF ends a header line), transfer-encoding.md:291 and :328 (chunk
    extensions llhttp 9 rejects); 2 ok vectors refused: method.md:135
    (M-SEARCH *, 400), sample.md:314 (HTTP/0.9, answered without a status line).

Measured with ours:
  gunicorn: 107 passed, 0 failed, 3 informational answered 200 (gunicorn's
    own size limits), 2 refused by policy (CONNECT -> 405).
  llhttp: 120 passed, 0 failed, 4 refused by policy (ICE/RTSP, HTTP/0.9
    -> 400).
"""
import base64
import concurrent.futures
import json
import os
import re
import socket
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

GUNICORN = os.path.join(harness.CORPORA_DIR, "gunicorn_requests.json")
LLHTTP = os.path.join(harness.CORPORA_DIR, "llhttp_head_vectors.json")
READ_TIMEOUT = 6.0  # a server that says nothing for this long has refused

# Known defects of ours, listed so the rest of the corpus guards main while
# they are open (printed on every run; remove an entry once it passes).
KNOWN_BUGS = {}


def out_of_scope(raw):
    """Requests an HTTP/1.1 reverse proxy refuses by design, judged "refused
    by policy" when answered 4xx/5xx (never counted as passes of the corpus
    verdict): CONNECT (no tunnelling), HTTP/0.9 (no version), and other
    protocols on the request line (ICE/1.0, RTSP/1.0)."""
    line = raw.split(b"\n", 1)[0].rstrip(b"\r").split(b" ")
    if line[0] == b"CONNECT":
        return "CONNECT: no tunnelling"
    if len(line) == 2:
        return "HTTP/0.9"
    if len(line) >= 3 and not line[-1].startswith(b"HTTP/"):
        return "not HTTP: %s" % line[-1].decode("latin-1")
    return None


def read_statuses(port, raw, heads, n_max):
    """Sends `raw` on a fresh connection; returns the statuses of up to
    n_max responses, stopping at close, silence or garbage.  heads[i] is
    True when request i is a HEAD (its response has no body)."""
    c = harness.RawClient(port, timeout=READ_TIMEOUT)
    out = []
    try:
        try:
            c.send(raw)
        except OSError:
            pass
        while len(out) < n_max:
            try:
                r = c.read_response(head_only=len(out) < len(heads) and heads[len(out)])
            except (ConnectionError, socket.timeout, OSError, ValueError, IndexError):
                break
            out.append(r.status)
            if (r.header("connection") or "").lower() == "close":
                break
    finally:
        c.close()
    return out


def truncated(case):
    """A single-request case whose body is shorter than its Content-Length
    (valid/099: gunicorn reads only what is there; over a socket a server
    must wait for the rest)."""
    raw = base64.b64decode(case["raw_b64"])
    head, sep, body = raw.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return case.get("n_requests", 1) == 1 and sep and m and len(body) < int(m.group(1))


def no_host(expect):
    """An expected HTTP/1.1 request without a Host header."""
    return (list(expect.get("version") or []) == [1, 1]
            and not any(k.lower() == "host" for k, _ in expect.get("headers") or []))


def uri_matches(seen, expected):
    """The backend saw the expected URI: byte-equal, or the origin form of an
    absolute-form request target (a proxy sends origin form upstream)."""
    if seen == expected:
        return True
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", expected):
        p = urllib.parse.urlsplit(expected)
        origin = (p.path or "/") + ("?" + p.query if p.query else "")
        return seen == origin
    return False


def llhttp_messages(case):
    """Per message of an llhttp vector (from its parser log): method,
    version, and whether a Host header is present."""
    msgs = []
    for seg in case.get("log", "").split("message begin")[1:]:
        m = re.search(r'span\[method\]="([^"]*)"', seg)
        v = re.search(r'span\[version\]="([^"]*)"', seg)
        fields = [f.lower() for f in re.findall(r'span\[header_field\]="([^"]*)"', seg)]
        msgs.append({"method": m.group(1) if m else "", "version": v.group(1) if v else "",
                     "host": "host" in fields})
    return msgs


class CorporaTest(unittest.TestCase):
    backend = proxy = None

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="chain-corpora-")
        cls.backend = harness.RecordingBackend()
        cls.port = harness.free_port()
        body = """
    client_header_timeout 5s;
    client_body_timeout 5s;
    server {
        listen 127.0.0.1:%d;
        location / {
            proxy_pass http://127.0.0.1:%d;
        }
    }
""" % (cls.port, cls.backend.port)
        cls.proxy = harness.start_proxy(cls.tmp, body, [cls.port])

    @classmethod
    def tearDownClass(cls):
        if cls.proxy:
            cls.proxy.stop()
        if cls.backend:
            cls.backend.stop()
        if not os.environ.get("KEEP_TMP"):
            import shutil
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def quiesce(self):
        """Waits (at most 10 s) until the backend has seen no new request for
        1 s: a refusal case whose client gave up may still be on its way
        upstream, and must not be counted as a later valid case's."""
        deadline = time.monotonic() + 10
        n, since = len(self.backend.snapshot()), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < 1.0:
            time.sleep(0.1)
            m = len(self.backend.snapshot())
            if m != n:
                n, since = m, time.monotonic()

    def replay(self, name, cases, judge_parallel, judge_serial, informational=()):
        """Runs the refusal cases concurrently (they only look at statuses)
        and the acceptance cases one by one (they look at the backend's
        record).  Each judge returns None (pass) or a reason string."""
        failures, self.policy, self.known, self.info = {}, {}, {}, {}
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            futs = {ex.submit(judge_parallel, c): c["id"] for c in cases if c["_parallel"]}
            for f, cid in futs.items():
                why = f.result()
                if why:
                    failures[cid] = why
        self.quiesce()
        for c in cases:
            if not c["_parallel"]:
                why = judge_serial(c)
                if why:
                    failures[c["id"]] = why
        byid = {c["id"]: c for c in cases}
        for cid in list(failures):
            raw = base64.b64decode(byid[cid]["raw_b64"])
            why = out_of_scope(raw)
            if why and byid[cid].get("kind") != "invalid" and byid[cid].get("verdict") != "error" \
                    and re.search(r"answered \[[45]\d\d", failures[cid]):
                self.policy[cid] = "%s (%s)" % (why, failures.pop(cid))
            elif cid in KNOWN_BUGS and harness.PROXY_IMPL == "ours":
                self.known[cid] = "%s (%s)" % (KNOWN_BUGS[cid], failures.pop(cid))
            elif cid in informational:
                self.info[cid] = failures.pop(cid)
        judged = len(cases)
        print("%s: %d judged, %d passed, %d failed, %d refused by policy, %d known bugs, "
              "%d informational failed, %d skipped%s" % (
            name, judged, judged - len(failures) - len(self.policy) - len(self.known) - len(self.info),
            len(failures), len(self.policy), len(self.known), len(self.info), self.skipped,
            (": " + " ".join(sorted(failures))) if failures else ""))
        for cid in sorted(failures):
            print("  FAIL %s: %s" % (cid, failures[cid]))
        for cid in sorted(self.policy):
            print("  refused by policy %s: %s" % (cid, self.policy[cid]))
        for cid in sorted(self.info):
            print("  informational %s (gunicorn_limit_specific): %s" % (cid, self.info[cid]))
        for cid in sorted(self.known):
            print("  KNOWN BUG %s: %s" % (cid, self.known[cid]))
        for cid in sorted(set(KNOWN_BUGS) & set(byid) - set(self.known)):
            if harness.PROXY_IMPL == "ours":
                print("  note: known bug %s passes now: remove it from KNOWN_BUGS" % cid)
        sys.stdout.flush()
        return failures

    def test_gunicorn(self):
        with open(GUNICORN) as f:
            corpus = json.load(f)
        cases, self.skipped = [], 0
        for c in corpus:
            if c.get("tags") or not c.get("raw_b64"):
                self.skipped += 1
                continue
            if c["kind"] == "valid" and truncated(c):
                print("skip %s: its body is shorter than its Content-Length (a server must wait)" % c["id"])
                self.skipped += 1
                continue
            c["_parallel"] = c["kind"] == "invalid"
            cases.append(c)
        port, backend = self.port, self.backend

        def judge_invalid(c):
            st = read_statuses(port, base64.b64decode(c["raw_b64"]), [], 4)
            ok = [s for s in st if 200 <= s < 300]
            if ok:
                return "invalid request answered %s" % st
            return None

        def judge_valid(c):
            expect = c["expect"]
            heads = [e["method"] == "HEAD" for e in expect]
            backend.clear()
            st = read_statuses(port, base64.b64decode(c["raw_b64"]), heads, len(expect))
            for i, s in enumerate(st):
                if s == 400 and (c.get("http11_missing_host") or no_host(expect[i])):
                    return None  # RFC 9112 section 3.2: acceptable, the rest is not judged
            if len(st) != len(expect) or any(not 200 <= s < 300 for s in st):
                return "valid request(s) answered %s, want %d x 2xx" % (st, len(expect))
            hits = backend.snapshot()
            if len(hits) != len(expect):
                return "backend saw %d requests, want %d" % (len(hits), len(expect))
            for i, (h, e) in enumerate(zip(hits, expect)):
                body = base64.b64decode(e.get("body_b64") or "")
                if h["method"] != e["method"]:
                    return "request %d: backend saw method %r, want %r" % (i, h["method"], e["method"])
                if not uri_matches(h["uri"], e["uri"]):
                    return "request %d: backend saw URI %r, want %r" % (i, h["uri"], e["uri"])
                if h["body"] != body:
                    return "request %d: backend saw body %r, want %r" % (i, h["body"][:80], body[:80])
            return None

        failures = self.replay("gunicorn_requests", cases, judge_invalid, judge_valid,
                               {c["id"] for c in cases if c.get("gunicorn_limit_specific")})
        self.assertEqual(failures, {}, "gunicorn corpus cases failed")

    def test_llhttp(self):
        with open(LLHTTP) as f:
            corpus = json.load(f)
        cases, self.skipped = [], 0
        for c in corpus:
            if c.get("type") != "request" or c.get("verdict") not in ("ok", "error") or not c.get("raw_b64"):
                self.skipped += 1
                continue
            c["_parallel"] = True  # judged on statuses only
            cases.append(c)
        port = self.port

        def judge(c):
            msgs = llhttp_messages(c)
            heads = [m["method"] == "HEAD" for m in msgs]
            raw = base64.b64decode(c["raw_b64"])
            if c["verdict"] == "error":
                before = c.get("messages_complete_before_error") or 0
                st = read_statuses(port, raw, heads, before + 3)
                late = [s for s in st[before:] if 200 <= s < 300]
                if late:
                    return "error vector (fails after %d messages) answered %s" % (before, st)
                return None
            n = c.get("messages_complete") or 1
            st = read_statuses(port, raw, heads, n)
            for i in range(n):
                if i >= len(st):
                    return "ok vector: %d messages, answered %s" % (n, st)
                no_host = i < len(msgs) and msgs[i]["version"] == "1.1" and not msgs[i]["host"]
                if st[i] == 400 and no_host:
                    return None  # RFC 9112 section 3.2: acceptable, the rest is not judged
                if not 200 <= st[i] < 300:
                    return "ok vector: %d messages, answered %s" % (n, st)
            return None

        failures = self.replay("llhttp_head_vectors", cases, judge, judge)
        self.assertEqual(failures, {}, "llhttp corpus cases failed")


if __name__ == "__main__":
    missing = [why for why in map(harness.corpora_missing, harness.CORPORA) if why]
    if missing:
        for why in missing:
            print("SKIP: " + why)
        sys.exit(77)
    harness.need_proxy()
    harness.main()
