#!/usr/bin/python3
"""Builds the fuzz harnesses' seed folders.

    fuzz/seeds.py OUT_DIR [--corpora DIR]

Writes OUT_DIR/<harness>/<name> files (OUT_DIR is normally
build-fuzz/fuzz/seeds), and OUT_DIR/<harness>.dict libFuzzer dictionaries
(HTTP field names and tokens; the directive names docs/directives.md lists),
from:
  - the external request corpora (gunicorn's and llhttp's vectors, see
    their README), by default ../shared/corpora beside the repository;
  - the tests' own vectors: tests/common/http1_vectors.h (request heads and
    chunked bodies) and the configurations in tests/e2e/*.py;
  - conf/*.conf for the configuration reader.
Without the corpora folder it says so and makes seeds from the tests alone.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HARNESSES = ("fuzz_request", "fuzz_response", "fuzz_chunked", "fuzz_uwsgi", "fuzz_conf",
             "fuzz_uwsgi_pass", "fuzz_uwsgi_head")


def c_unescape(s):
    """The bytes of a C string literal's contents (the escapes the vectors use)."""
    out = bytearray()
    i = 0
    while i < len(s):
        ch = s[i]
        if ch != "\\":
            out += ch.encode()
            i += 1
            continue
        nx = s[i + 1]
        i += 2
        if nx == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", s[i:])
            out.append(int(m.group(0), 16))
            i += len(m.group(0))
        elif nx in "01234567":
            m = re.match(r"[0-7]{1,3}", s[i - 1:])
            out.append(int(m.group(0), 8) & 0xFF)
            i += len(m.group(0)) - 1
        else:
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0"}.get(nx, nx.encode())
    return bytes(out)


def c_literals(path):
    """Every vector's first string (adjacent literals joined) in a C header."""
    text = open(path, encoding="utf-8").read()
    lit = r'"((?:[^"\\]|\\.)*)"'
    for m in re.finditer(r"\{\s*((?:%s\s*)+)," % lit, text):
        parts = re.findall(lit, m.group(1))
        yield b"".join(c_unescape(p) for p in parts)


def split_head(raw):
    i = raw.find(b"\r\n\r\n")
    return (raw, b"") if i < 0 else (raw[: i + 4], raw[i + 4:])


def cgi_vars(head):
    """uwsgi variables as nginx's uwsgi_params would make them from a head."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        return None
    method, target, proto = parts
    path, _, query = target.partition(b"?")
    v = [(b"REQUEST_METHOD", method), (b"REQUEST_URI", target), (b"PATH_INFO", path),
         (b"QUERY_STRING", query), (b"SERVER_PROTOCOL", proto),
         (b"CONTENT_LENGTH", b""), (b"CONTENT_TYPE", b""), (b"REMOTE_ADDR", b"127.0.0.1"),
         (b"SERVER_NAME", b"localhost"), (b"SERVER_PORT", b"80"), (b"REQUEST_SCHEME", b"http")]
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name:
            continue
        key = b"HTTP_" + name.strip().upper().replace(b"-", b"_")
        if key == b"HTTP_CONTENT_LENGTH":
            v.append((b"CONTENT_LENGTH", value.strip()))
        v.append((key, value.strip()))
    return v


def uwsgi_packet(variables):
    data = b"".join(struct.pack("<H", len(k)) + k + struct.pack("<H", len(val)) + val
                    for k, val in variables)
    if len(data) > 65535:
        return None
    return struct.pack("<BHB", 0, len(data), 0) + data


class Seeds:
    def __init__(self, out):
        self.out = out
        self.count = {h: 0 for h in HARNESSES}
        for h in HARNESSES:
            os.makedirs(os.path.join(out, h), exist_ok=True)

    def add(self, harness, data, origin):
        if data is None:
            return
        name = "%s-%s" % (origin, hashlib.sha1(data).hexdigest()[:16])
        path = os.path.join(self.out, harness, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            self.count[harness] += 1

    def request(self, raw, origin):
        """A client's bytes: the head and body harnesses all get a share."""
        self.add("fuzz_request", raw, origin)
        self.add("fuzz_uwsgi_pass", raw, origin)
        head, body = split_head(raw)
        if body and b"chunked" in head.lower():
            self.add("fuzz_chunked", b"\x00" + body, origin)
            self.add("fuzz_chunked", b"\x02" + body, origin)
        v = cgi_vars(head)
        if v:
            self.add("fuzz_uwsgi", uwsgi_packet(v), origin)


def from_corpora(seeds, corpora):
    g = os.path.join(corpora, "gunicorn_requests.json")
    if os.path.exists(g):
        for case in json.load(open(g)):
            if case.get("raw_b64"):
                seeds.request(base64.b64decode(case["raw_b64"]), "gunicorn")
    ll = os.path.join(corpora, "llhttp_head_vectors.json")
    if os.path.exists(ll):
        for case in json.load(open(ll)):
            if not case.get("raw_b64"):
                continue
            raw = base64.b64decode(case["raw_b64"])
            if case["type"].startswith("request"):
                seeds.request(raw, "llhttp")
            elif case["type"].startswith("response"):
                seeds.add("fuzz_response", raw, "llhttp")
                head, body = split_head(raw)
                if body and b"chunked" in head.lower():
                    seeds.add("fuzz_chunked", b"\x00" + body, "llhttp")


def from_tests(seeds):
    for raw in c_literals(os.path.join(ROOT, "tests/common/http1_vectors.h")):
        if re.match(rb"^[0-9a-fA-F+\- ;\r\n]", raw) and not raw.startswith(b"\r\n\r\n"):
            seeds.add("fuzz_chunked", b"\x00" + raw, "tests")
            seeds.add("fuzz_chunked", b"\x06" + raw, "tests")
        else:
            seeds.request(raw, "tests")
            if raw.startswith(b"GET "):  # the same fields as a response head
                seeds.add("fuzz_response", b"HTTP/1.1 200 OK\r\n" + raw.split(b"\r\n", 1)[1],
                          "tests")
    for resp in (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                 b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                 b"HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nServer: x\r\n\r\n",
                 b"HTTP/1.1 204\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n\r\n",
                 b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"):
        seeds.add("fuzz_response", resp, "tests")
    # a uwsgi gateway's CGI heads: the fields, with a Status field or none
    for name in sorted(os.listdir(seeds.out + "/fuzz_response")):
        head, _ = split_head(open(os.path.join(seeds.out, "fuzz_response", name), "rb").read())
        line, sep, fields = head.partition(b"\r\n")
        if sep and line.startswith(b"HTTP/"):
            seeds.add("fuzz_uwsgi_head", fields or b"\r\n", "cgi")
            seeds.add("fuzz_uwsgi_head", b"Status: " + line[9:] + b"\r\n" + fields, "cgi")
    # the e2e tests' configurations: the http { } bodies they write
    for py in sorted(os.listdir(os.path.join(ROOT, "tests/e2e"))):
        if not py.endswith(".py"):
            continue
        text = open(os.path.join(ROOT, "tests/e2e", py), encoding="utf-8").read()
        for body in re.findall(r'"""(.*?)"""', text, re.S):
            if "server {" in body or "upstream " in body:
                conf = "events { }\nhttp {\n%s\n}\n" % body
                seeds.add("fuzz_conf", conf.encode(), "e2e")
    confdir = os.path.join(ROOT, "conf")
    for name in sorted(os.listdir(confdir)):
        if name.endswith(".conf"):
            seeds.add("fuzz_conf", open(os.path.join(confdir, name), "rb").read(), "conf")
    # uwsgi_params as the variables of a packet, and as a config fragment
    params = open(os.path.join(confdir, "uwsgi_params"), "rb").read()
    seeds.add("fuzz_conf", b"events { }\nhttp { server { listen 127.0.0.1:8080; location / {\n" +
              params + b"\nuwsgi_pass 127.0.0.1:9000; } } }\n", "conf")
    names = re.findall(rb"uwsgi_param\s+(\S+)\s+(\S+);", params)
    seeds.add("fuzz_uwsgi", uwsgi_packet([(k, v) for k, v in names]), "conf")


HTTP_WORDS = ("Host", "Content-Length", "Transfer-Encoding", "chunked", "gzip", "identity",
              "Connection", "close", "keep-alive", "Expect", "100-continue", "Upgrade",
              "Content-Type", "Trailer", "TE", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "http://",
              "https://", "OPTIONS", "CONNECT", "HEAD", "*", "%2e", "%2F", "..", "\r\n", ": ")
CONF_WORDS = ("{", "}", ";", "on", "off", "127.0.0.1:8080", "unix:", "[::1]:80", "localhost",
              "http", "server", "location", "upstream", "events", "$uri", "$host",
              "$request_uri", "=", "~", "~*", "^~", "@", "1k", "10m", "1s", "default_server",
              "'", "\"", "#", "\\", "*.conf")


def dictionary(path, words):
    """A libFuzzer dictionary: one quoted word a line."""
    def q(w):
        return '"%s"' % "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "\\x%02x" % ord(c)
                                for c in w)
    with open(path, "w") as f:
        for w in words:
            f.write(q(w) + "\n")


def directives():
    """The directive names docs/directives.md lists."""
    text = open(os.path.join(ROOT, "docs/directives.md"), encoding="utf-8").read()
    return sorted(set(re.findall(r"^\| `([a-z_0-9]+)`", text, re.M)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--corpora", default=os.path.join(os.path.dirname(ROOT), "shared", "corpora"))
    a = ap.parse_args()
    seeds = Seeds(a.out)
    if os.path.isdir(a.corpora):
        from_corpora(seeds, a.corpora)
    else:
        print("seeds.py: no corpora folder at %s: seeding from the tests only (the corpora are "
              "gunicorn's tests/requests and llhttp's test/*.md vectors as JSON; see "
              "docs/fuzzing.md)" % a.corpora, file=sys.stderr)
    from_tests(seeds)
    dictionary(os.path.join(a.out, "fuzz_request.dict"), HTTP_WORDS)
    dictionary(os.path.join(a.out, "fuzz_response.dict"), HTTP_WORDS)
    dictionary(os.path.join(a.out, "fuzz_uwsgi_pass.dict"), HTTP_WORDS)
    dictionary(os.path.join(a.out, "fuzz_uwsgi_head.dict"), HTTP_WORDS + ("Status:",))
    dictionary(os.path.join(a.out, "fuzz_conf.dict"), CONF_WORDS + tuple(directives()))
    for h in HARNESSES:
        print("seeds.py: %s: %d new seeds in %s" % (h, seeds.count[h], os.path.join(a.out, h)))


if __name__ == "__main__":
    main()
