"""Access logs as nginx writes them (PROXY_IMPL=ours|nginx): combined by
default, a custom log_format with variables, escape=json JSON lines,
access_log off."""
import json
import os
import re
import shutil
import tempfile
import unittest

import harness

COMBINED = re.compile(r'^(\S+) - (\S+) \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "(.*)" (\d{3}) (\d+) '
                      r'"(.*)" "(.*)"$')


class AccessLog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.need_proxy()
        cls.tmp = tempfile.mkdtemp(prefix="chain-e2e-")
        cls.echo = harness.Backend("echo")
        cls.port = harness.free_port()
        t = cls.tmp
        body = r"""
    log_format custom '$request_method|$uri|$args|$arg_x|$status|$body_bytes_sent|$http_x_h|$cookie_c|$host|$server_port|$scheme|$request_uri|$upstream_status|$upstream_addr|$request';
    log_format js escape=json '{"uri":"$request_uri","ua":"$http_user_agent","status":"$status","host":"$host"}';
    server {
        listen 127.0.0.1:%(port)d;
        location / {
            proxy_pass http://127.0.0.1:%(echo)d;
        }
        location /custom/ {
            access_log %(t)s/custom.log custom;
            proxy_pass http://127.0.0.1:%(echo)d;
        }
        location /json/ {
            access_log %(t)s/json.log js;
            return 204;
        }
        location /off/ {
            access_log off;
            return 200 "quiet";
        }
    }
""" % {"port": cls.port, "echo": cls.echo.port, "t": t}
        cls.proxy = harness.start_proxy(cls.tmp, body, [cls.port])

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.echo.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def lines(self, name):
        try:
            with open(os.path.join(self.tmp, name), encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait_line(self, name, pred):
        return harness.wait_for(lambda: [l for l in self.lines(name) if pred(l)], 15,
                                what="a matching line in %s" % name)

    def test_combined_default(self):
        r = harness.request(self.port, path="/comb?a=1", headers={"User-Agent": "ua-test/1.0",
                                                                  "Referer": "http://ref.example/"})
        self.assertEqual(r.status, 200)
        line = self.wait_line("access.log", lambda l: "/comb?a=1" in l)[0]
        m = COMBINED.match(line)
        self.assertTrue(m, "not combined format: %r" % line)
        addr, user, _, request, status, sent, ref, ua = m.groups()
        self.assertEqual((addr, user, request, status), ("127.0.0.1", "-", "GET /comb?a=1 HTTP/1.1", "200"))
        self.assertEqual(int(sent), len(r.body))
        self.assertEqual((ref, ua), ("http://ref.example/", "ua-test/1.0"))

    def test_combined_error_status_and_dash(self):
        harness.status_of(b"GET /nohost HTTP/1.1\r\n\r\n", self.port)
        line = self.wait_line("access.log", lambda l: "/nohost" in l)[0]
        m = COMBINED.match(line)
        self.assertTrue(m, line)
        self.assertEqual(m.group(5), "400")
        self.assertEqual((m.group(7), m.group(8)), ("-", "-"))

    def test_custom_format(self):
        r = harness.request(self.port, path="/custom/p?x=42&y=2",
                            headers={"Host": "h.example", "X-H": "hv", "Cookie": "a=1; c=cv"})
        self.assertEqual(r.status, 200)
        line = self.wait_line("custom.log", lambda l: "/custom/p" in l)[0]
        f = line.split("|")
        self.assertEqual(f[:12], ["GET", "/custom/p", "x=42&y=2", "42", "200", str(len(r.body)), "hv", "cv",
                                  "h.example", str(self.port), "http", "/custom/p?x=42&y=2"])
        self.assertEqual(f[12], "200")
        self.assertEqual(f[13], "127.0.0.1:%d" % self.echo.port)
        self.assertEqual(f[14], "GET /custom/p?x=42&y=2 HTTP/1.1")
        self.assertFalse([l for l in self.lines("access.log") if "/custom/p" in l],
                         "a location's access_log replaces the inherited one")

    def test_escape_json(self):
        # (control bytes other than HTAB are refused in field values, so the
        # escapes seen here are quote, backslash, tab and a UTF-8 letter)
        ua = 'evil "quoted" \\ back\tslash \u00e9'
        r = harness.request(self.port, path="/json/a%22b", headers={"User-Agent": ua.encode("utf-8")})
        self.assertEqual(r.status, 204)
        line = self.wait_line("json.log", lambda l: "/json/" in l)[0]
        rec = json.loads(line)
        self.assertEqual(rec["uri"], "/json/a%22b")
        self.assertEqual(rec["status"], "204")
        self.assertEqual(rec["host"], "127.0.0.1")
        self.assertEqual(rec["ua"], ua)

    def test_access_log_off(self):
        self.assertEqual(harness.request(self.port, path="/off/x").body, b"quiet")
        harness.request(self.port, path="/after-off")
        self.wait_line("access.log", lambda l: "/after-off" in l)
        for name in ("access.log", "custom.log", "json.log"):
            self.assertFalse([l for l in self.lines(name) if "/off/x" in l], name)


if __name__ == "__main__":
    harness.need_proxy()  # exits 77 (skip) when the proxy under test is missing
    harness.main()
