"""Static files: root, alias, index, Content-Type, Last-Modified and
If-Modified-Since (304), Range (206, 416), a directory without its slash
(301), missing files (404), methods (405), HEAD, and a big file through
sendfile.  PROXY_IMPL=nginx runs the same checks on nginx."""
import email.utils
import os
import time

import harness
from harness import ProxyCase

harness.need_proxy()


class Static(ProxyCase):
    def setUp(self):
        super().setUp()
        self.write("www/index.html", "<h1>home</h1>\n")
        self.write("www/style.css", "body{}\n")
        self.write("www/docs/readme.txt", "read me\n")
        self.write("other/file.json", '{"a": 1}\n')
        self.big = os.urandom(3 << 20)
        with open(os.path.join(self.tmp, "www", "big.bin"), "wb") as f:
            f.write(self.big)
        self.start_proxy("""
    include /etc/nginx/mime.types;  # nginx-only (ours has the common types built in)
    server {
        listen 127.0.0.1:{port};
        root %s/www;
        location / { index index.html; }
        location /data/ { alias %s/other/; }
    }
""" % (self.tmp, self.tmp))

    def test_files_and_types(self):
        r = self.get("/")
        self.assertEqual((r.status, r.body), (200, b"<h1>home</h1>\n"))
        self.assertEqual(r.header("Content-Type"), "text/html")
        r = self.get("/style.css")
        self.assertEqual(r.header("Content-Type"), "text/css")
        r = self.get("/docs/readme.txt")
        self.assertEqual((r.status, r.header("Content-Type")), (200, "text/plain"))
        r = self.get("/data/file.json")
        self.assertEqual((r.status, r.body), (200, b'{"a": 1}\n'))
        self.assertEqual(r.header("Content-Type"), "application/json")
        r = self.get("/big.bin")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, self.big)

    def test_not_found_and_dirs(self):
        self.assertEqual(self.get("/nope.html").status, 404)
        self.assertEqual(self.get("/../etc/passwd").status, 400)
        r = self.get("/docs")
        self.assertEqual(r.status, 301)
        self.assertTrue(r.header("Location").endswith("/docs/"), r.header("Location"))
        self.assertIn(self.get("/docs/").status, (403, 404))
        self.assertEqual(self.get("/index.html", method="POST", body=b"x").status, 405)

    def test_conditional_and_ranges(self):
        r = self.get("/style.css")
        lm = r.header("Last-Modified")
        self.assertIsNotNone(lm)
        r = self.get("/style.css", headers={"If-Modified-Since": lm})
        self.assertEqual((r.status, r.body), (304, b""))
        r = self.get("/style.css", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
        self.assertEqual(r.status, 200)
        r = self.get("/big.bin", headers={"Range": "bytes=10-19"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, self.big[10:20])
        self.assertEqual(r.header("Content-Range"), "bytes 10-19/%d" % len(self.big))
        r = self.get("/big.bin", headers={"Range": "bytes=-5"})
        self.assertEqual((r.status, r.body), (206, self.big[-5:]))
        r = self.get("/big.bin", headers={"Range": "bytes=%d-" % (len(self.big) + 1)})
        self.assertEqual(r.status, 416)
        self.assertEqual(r.header("Content-Range"), "bytes */%d" % len(self.big))

    def test_head_and_keepalive(self):
        c = self.raw()
        c.send("HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\nGET /style.css HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response(head_only=True)
        self.assertEqual(r.header("Content-Length"), str(len(self.big)))
        r = c.read_response()
        self.assertEqual(r.body, b"body{}\n")


class Expires(ProxyCase):
    """expires on static files, `return` and proxied responses: Expires and
    Cache-Control as nginx writes them (an upstream's replaced), only for
    the statuses nginx applies it to."""

    def setUp(self):
        super().setUp()
        self.write("www/a.css", "a{}\n")
        self.b = harness.Backend("b", extra_headers=[("Cache-Control", "private"),
                                                     ("Expires", "Mon, 01 Jan 2001 00:00:00 GMT")])
        self.addCleanup(self.b.stop)
        self.start_proxy("""
    server {
        listen 127.0.0.1:{port};
        root %s/www;
        expires 30d;
        location /epoch/ { expires epoch; return 200 "e"; }
        location /max/ { expires max; return 200 "m"; }
        location /past/ { expires -1; return 200 "p"; }
        location /off/ { expires off; return 200 "o"; }
        location /up/ { expires 1h; proxy_pass http://127.0.0.1:%d; }
        location /upoff/ { proxy_pass http://127.0.0.1:%d; expires off; }
    }
""" % (self.tmp, self.b.port, self.b.port))

    def check_time(self, r, secs):
        got = email.utils.parsedate_to_datetime(r.header("Expires")).timestamp()
        self.assertLess(abs(got - (time.time() + secs)), 5, r.header("Expires"))

    def test_expires(self):
        r = self.get("/a.css")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Cache-Control"), "max-age=2592000")
        self.check_time(r, 30 * 86400)
        r = self.get("/nope.css")  # 404: not for this status
        self.assertEqual(r.status, 404)
        self.assertIsNone(r.header("Expires"))
        self.assertIsNone(r.header("Cache-Control"))
        r = self.get("/epoch/")
        self.assertEqual((r.header("Expires"), r.header("Cache-Control")),
                         ("Thu, 01 Jan 1970 00:00:01 GMT", "no-cache"))
        r = self.get("/max/")
        self.assertEqual((r.header("Expires"), r.header("Cache-Control")),
                         ("Thu, 31 Dec 2037 23:55:55 GMT", "max-age=315360000"))
        r = self.get("/past/")
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        self.check_time(r, -1)
        r = self.get("/off/")
        self.assertIsNone(r.header("Expires"))
        r = self.get("/up/x")  # the upstream's two headers are replaced
        self.assertEqual(r.status, 200)
        self.assertEqual([v for k, v in r.headers if k.lower() == "cache-control"], ["max-age=3600"])
        self.check_time(r, 3600)
        r = self.get("/upoff/x")  # passed as sent
        self.assertEqual(r.header("Cache-Control"), "private")
        self.assertEqual(r.header("Expires"), "Mon, 01 Jan 2001 00:00:00 GMT")


class TypesWithoutTypesBlock(ProxyCase):
    """No types { } anywhere: the types nginx knows without one (html, gif,
    jpg; extensions lowercased, none for a dot file) and default_type for
    the rest, the same side by side with nginx."""

    def setUp(self):
        super().setUp()
        for name in ("a.html", "b.jpg", "c.unknownext", "noext", ".hidden", "d.HTML", "e.GIF"):
            self.write("www/" + name, name)
            self.write("plain/" + name, name)
        self.start_proxy("""
    server {
        listen 127.0.0.1:{port};
        root %s/www;
        default_type application/x-default;
        location /plain/ { root %s; default_type text/plain; }
        location /nodefault/ { alias %s/www/; }
    }
""" % (self.tmp, self.tmp, self.tmp))

    def ctype(self, path):
        r = self.get(path)
        self.assertEqual(r.status, 200, path)
        return r.header("Content-Type")

    def test_known_and_default(self):
        self.assertEqual(self.ctype("/a.html"), "text/html")
        self.assertEqual(self.ctype("/d.HTML"), "text/html")
        self.assertEqual(self.ctype("/b.jpg"), "image/jpeg")
        self.assertEqual(self.ctype("/e.GIF"), "image/gif")
        for path in ("/c.unknownext", "/noext", "/.hidden"):
            self.assertEqual(self.ctype(path), "application/x-default", path)
        self.assertEqual(self.ctype("/plain/c.unknownext"), "text/plain")
        self.assertEqual(self.ctype("/plain/a.html"), "text/html")
        # default_type is inherited like any other setting
        self.assertEqual(self.ctype("/nodefault/noext"), "application/x-default")


if __name__ == "__main__":
    harness.main()
