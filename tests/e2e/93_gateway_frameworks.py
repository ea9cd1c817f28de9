"""Gateway, black box: real frameworks (Debian's Flask and Django) inside
wsgiref.validate, over HTTP and the uwsgi protocol: forms, multipart
uploads (Werkzeug's and Django's parsers read wsgi.input their own ways),
JSON, streamed responses, send_file/FileResponse (wsgi.file_wrapper), the
frameworks' own 4xx/5xx."""
import hashlib
import json
import os

import harness
from harness import RawClient

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built

APPS = harness.TEST_APPS_DIR


def multipart(fields, files, boundary="----gwqa-boundary-7MA4YWxkTrZu0gW"):
    out = b""
    for k, v in fields:
        out += b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (
            boundary.encode(), k.encode(), v.encode())
    for k, (name, data) in files.items():
        out += (b"--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" % (boundary.encode(), k.encode(), name.encode())
                + data + b"\r\n")
    out += b"--%s--\r\n" % boundary.encode()
    return out, "multipart/form-data; boundary=" + boundary


class FrameworkBase:
    module = None
    prefix = ""  # Django wants trailing slashes

    @classmethod
    def gateway_args(cls):
        cls.port = harness.free_port()
        cls.uw_port = harness.free_port()
        return ["--http-socket", "127.0.0.1:%d" % cls.port, "--socket", "127.0.0.1:%d" % cls.uw_port,
                "--pythonpath", APPS, "--module", cls.module, "--processes", "2"]

    def url(self, name):
        return "/" + name + ("/" if self.trailing and name else "")

    def test_index(self):
        r = harness.request(self.port, path="/")
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(b"hello from", r.body)

    def test_form_and_upload(self):
        data = os.urandom(300000)
        body, ctype = multipart([("a", "x y"), ("b", "1"), ("b", "2")], {"up": ("f.bin", data)})
        r = harness.request(self.port, "POST", self.url("form"), body=body, headers={"Content-Type": ctype})
        self.assertEqual(r.status, 200, r.body[:500])
        j = r.json()
        self.assertEqual(j["a"], "x y")
        self.assertEqual(j["b"], ["1", "2"])
        self.assertEqual(j["file"]["len"], len(data))
        self.assertEqual(j["file"]["sha256"], hashlib.sha256(data).hexdigest())

    def test_urlencoded_over_uwsgi(self):
        body = b"a=%C3%A9t%C3%A9&b=3"
        r = harness.uwsgi_request(port=self.uw_port, method="POST", path=self.url("form"), body=body,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"},
                                  script_name="")
        self.assertEqual(r.status, 200, r.body[:500])
        self.assertEqual(r.json()["a"], "\u00e9t\u00e9")

    def test_stream(self):
        c = RawClient(self.port)
        c.send("GET %s?n=50 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % self.url("stream"))
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, "".join("line %d\n" % i for i in range(50)).encode())

    def test_file(self):
        data = os.urandom(1 << 20)
        path = os.path.join(self.tmp, "dl.bin")
        with open(path, "wb") as f:
            f.write(data)
        r = harness.request(self.port, path="%s?path=%s" % (self.url("file"), path))
        self.assertEqual(r.status, 200)
        self.assertEqual(hashlib.sha256(r.body).digest(), hashlib.sha256(data).digest())

    def test_framework_500(self):
        r = harness.request(self.port, path=self.url("boom"))
        self.assertEqual(r.status, 500)
        self.assertNotIn(b"secret-boom", r.body)
        self.assertEqual(harness.request(self.port, path="/").status, 200)


class Flask(FrameworkBase, harness.SharedGatewayTestCase):
    module = "flask_suite"
    trailing = False

    def test_json(self):
        r = harness.request(self.port, "POST", "/json", body=json.dumps({"k": [1, "\u00fc"]}).encode(),
                            headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["got"], {"k": [1, "\u00fc"]})

    def test_abort(self):
        self.assertEqual(harness.request(self.port, path="/teapot").status, 418)
        self.assertEqual(harness.request(self.port, path="/nope").status, 404)


class Django(FrameworkBase, harness.SharedGatewayTestCase):
    module = "django_suite"
    trailing = True

    def test_not_found(self):
        self.assertEqual(harness.request(self.port, path="/nope/").status, 404)


if __name__ == "__main__":
    harness.main()
