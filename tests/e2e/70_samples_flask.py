"""The Flask sample (apps/flask_app) through the proxy over uwsgi_pass on a
unix socket, deployed by deploy/run.sh with conf/flask.conf + conf/flask.ini:
routing, the form (post/redirect/get with a flashed message in the session
cookie), the JSON API, file upload, the session counter across requests and
workers, the streaming response, url_for-built redirects that see the
client's Host, and the proxy's own limits in front of the app."""
import hashlib
import http.client
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import chainstack  # noqa: E402
import harness  # noqa: E402

chainstack.need_impl()

HOST = "shop.example"


def cookies_from(resp, jar):
    for v in resp.header_all("Set-Cookie"):
        name, _, rest = v.partition("=")
        jar[name.strip()] = rest.split(";")[0]
    return jar


def cookie_header(jar):
    return "; ".join("%s=%s" % kv for kv in jar.items())


class FlaskSample(chainstack.DeployedTestCase):
    APP = "flask"

    def get(self, path, **kw):
        return self.dep.request("GET", path, host=kw.pop("host", HOST), **kw)

    def test_home_and_routing(self):
        r = self.get("/")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"Hello from Flask behind the chain", r.body)
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        r = self.get("/hello/chain")
        self.assertEqual(r.status, 200)
        self.assertIn(b"Hello, chain!", r.body)
        self.assertEqual(self.get("/no/such/page").status, 404)

    def test_app_sees_client_host(self):
        r = self.get("/api/whoami")
        self.assertEqual(r.status, 200, r)
        d = r.json()
        self.assertEqual(d["host"], HOST)
        self.assertEqual(d["external_index"], "http://%s/" % HOST)
        self.assertEqual(d["path"], "/api/whoami")
        self.assertEqual(d["remote_addr"], "127.0.0.1")
        # another virtual host name reaches the app too
        d = self.get("/api/whoami", host="other.example").json()
        self.assertEqual(d["external_index"], "http://other.example/")

    def test_url_for_redirects(self):
        r = self.get("/go/guestbook")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "/guestbook")
        r = self.get("/go/counter?external=1")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "http://%s/counter" % HOST)

    def test_form_post_redirect_get_with_flash(self):
        body = "name=Ada&text=hello+from+the+form+%C3%A9"
        r = self.dep.request("POST", "/guestbook", host=HOST, body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 302, r.body)
        self.assertEqual(r.header("Location"), "/guestbook")
        jar = cookies_from(r, {})
        self.assertIn("session", jar)  # the flashed message travels in the signed cookie
        r = self.get("/guestbook", headers={"Cookie": cookie_header(jar)})
        self.assertEqual(r.status, 200)
        self.assertIn("Thanks, Ada!".encode(), r.body)
        self.assertIn("hello from the form \u00e9".encode(), r.body)
        # missing field: the app's own 400, through the proxy
        r = self.dep.request("POST", "/guestbook", host=HOST, body="name=x",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 400)

    def test_json_api(self):
        payload = json.dumps({"name": "api", "text": "posted as JSON \u2713"}).encode()
        r = self.dep.request("POST", "/api/messages", host=HOST, body=payload,
                             headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 201, r.body)
        d = r.json()
        self.assertEqual(d["text"], "posted as JSON \u2713")
        self.assertEqual(d["url"], "http://%s/api/messages/%d" % (HOST, d["id"]))
        self.assertEqual(r.header("Location"), "/api/messages/%d" % d["id"])
        r2 = self.get(r.header("Location"))
        self.assertEqual(r2.status, 200)
        self.assertEqual(r2.json()["text"], "posted as JSON \u2713")
        self.assertIn(d["id"], [m["id"] for m in self.get("/api/messages").json()["messages"]])
        r = self.dep.request("POST", "/api/messages", host=HOST, body=b"{not json",
                             headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertIn("error", r.json())

    def test_upload(self):
        data = os.urandom(3 * 1024 * 1024 + 17)
        boundary = "chainBoundary7MA4YWxkTrZu0gW"
        body = (("--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nbinary blob\r\n"
                 "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/blob.bin\"\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n") % (boundary, boundary)).encode() \
            + data + ("\r\n--%s--\r\n" % boundary).encode()
        r = self.dep.request("POST", "/upload", host=HOST, body=body,
                             headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
        self.assertEqual(r.status, 200, r.body[:500])
        d = r.json()
        self.assertEqual(d["size"], len(data))
        self.assertEqual(d["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(d["note"], "binary blob")
        self.assertEqual(d["name"], "etc_blob.bin")  # secure_filename: no path escape
        with open(os.path.join(self.dep.run_dir, "uploads", "etc_blob.bin"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_body_over_proxy_limit_is_413(self):
        # conf/flask.conf: client_max_body_size 16m; the proxy refuses first
        r = self.dep.request("POST", "/upload", host=HOST, body=b"x" * (17 * 1024 * 1024),
                             headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 413)

    def test_session_counter_across_workers(self):
        jar = {}
        counts = []
        for _ in range(8):  # fresh connections: the requests spread over both workers
            r = self.get("/counter", headers={"Accept": "application/json", "Cookie": cookie_header(jar)})
            self.assertEqual(r.status, 200)
            cookies_from(r, jar)
            counts.append(r.json()["count"])
        self.assertEqual(counts, list(range(1, 9)))
        # a forged cookie is not trusted
        r = self.get("/counter", headers={"Accept": "application/json", "Cookie": "session=eyJjb3VudCI6OTl9.x.y"})
        self.assertEqual(r.json()["count"], 1)

    def test_login_redirect_and_logout(self):
        r = self.dep.request("POST", "/login", host=HOST, body="user=grace",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "/")
        jar = cookies_from(r, {})
        r = self.get("/", headers={"Cookie": cookie_header(jar)})
        self.assertIn(b"signed in as grace", r.body)
        r = self.get("/logout", headers={"Cookie": cookie_header(jar)})
        self.assertEqual(r.status, 302)
        cookies_from(r, jar)
        self.assertNotIn(b"signed in as", self.get("/", headers={"Cookie": cookie_header(jar)}).body)

    def test_streaming_response(self):
        # read it as it comes: chunks must arrive before the app has finished.
        # The clock starts before the request: a gateway or proxy that
        # buffers the whole response holds the status line too, so timing
        # from getresponse() on could not see it.  The app yields line 1 at
        # once, then sleeps 1 s before each next piece (4 s in all): a first
        # line that came with the rest shows as no gap between them, and a
        # busy machine that delays the first line by up to 3 s still leaves
        # one, so no bound is put on how soon the first line comes.
        import time
        c = http.client.HTTPConnection("127.0.0.1", self.dep.port, timeout=30)
        try:
            t0 = time.monotonic()
            c.request("GET", "/stream?n=4&delay=1", headers={"Host": HOST})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.getheader("Content-Length"))
            self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
            first = r.readline()
            t_first = time.monotonic() - t0
            rest = r.read()
            t_last = time.monotonic() - t0
        finally:
            c.close()
        self.assertEqual(first, b"line 1 of 4\n")
        self.assertEqual(rest, b"line 2 of 4\nline 3 of 4\nline 4 of 4\ndone\n")
        self.assertGreaterEqual(t_last, 3.9, "the app did not sleep between pieces")
        self.assertGreater(t_last - t_first, 1.0,
                           "the first line waited for the whole response (buffered)")

    def test_keepalive_many_requests(self):
        c = harness.RawClient(self.dep.port)
        try:
            for i in range(20):
                c.send("GET /hello/n%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (i, HOST))
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertIn(("Hello, n%d!" % i).encode(), r.body)
        finally:
            c.close()

    def test_access_log_written(self):
        self.get("/hello/logged")
        log = os.path.join(self.dep.run_dir, "proxy-access.log")

        def read():
            if not os.path.exists(log):
                return b""
            with open(log, "rb") as f:
                return f.read()
        harness.wait_for(lambda: b"/hello/logged" in read(), timeout=10, what="the access log line")
        line = [ln for ln in read().splitlines() if b"/hello/logged" in ln][-1]
        self.assertRegex(line.decode(), r'^127\.0\.0\.1 - - \[[^]]+\] "GET /hello/logged HTTP/1\.1" 200 \d+ ')


if __name__ == "__main__":
    harness.main()
