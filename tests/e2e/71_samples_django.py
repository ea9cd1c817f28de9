"""The Django sample (apps/django_app) through the proxy over HTTP/1.1
keep-alive on a unix socket (proxy_pass), deployed by deploy/run.sh with
conf/django.conf + conf/django.ini: pages and the model form with Django's
CSRF protection, redirects and absolute URLs that see the client's Host,
ALLOWED_HOSTS enforced, the admin's login page and a real admin login, and
static files served by the proxy itself from the collected folder."""
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import chainstack  # noqa: E402
import harness  # noqa: E402

chainstack.need_impl()

HOST = "notes.example"


def cookies_from(resp, jar):
    for v in resp.header_all("Set-Cookie"):
        name, _, rest = v.partition("=")
        jar[name.strip()] = rest.split(";")[0]
    return jar


def cookie_header(jar):
    return "; ".join("%s=%s" % kv for kv in jar.items())


def csrf_token(body):
    m = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert m, "no CSRF token in the form"
    return m.group(1).decode()


class DjangoSample(chainstack.DeployedTestCase):
    APP = "django"
    ENV = {"DJANGO_ALLOWED_HOSTS": "%s,localhost,127.0.0.1" % HOST}

    def get(self, path, host=HOST, **kw):
        return self.dep.request("GET", path, host=host, **kw)

    def post_form(self, path, fields, jar, host=HOST):
        return self.dep.request("POST", path, host=host, body=urllib.parse.urlencode(fields),
                                headers={"Content-Type": "application/x-www-form-urlencoded",
                                         "Cookie": cookie_header(jar),
                                         "Origin": "http://%s" % host, "Referer": "http://%s%s" % (host, path)})

    def test_index_and_note_form(self):
        r = self.get("/")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"Served by Django behind the chain for <code>" + HOST.encode(), r.body)
        jar = cookies_from(r, {})
        self.assertIn("csrftoken", jar)
        token = csrf_token(r.body)
        r = self.post_form("/", {"csrfmiddlewaretoken": token, "title": "From the e2e test",
                                 "body": "line one\nline two"}, jar)
        self.assertEqual(r.status, 302, r.body[:800])
        loc = r.header("Location")
        self.assertRegex(loc, r"^/notes/\d+/$")
        r = self.get(loc)
        self.assertEqual(r.status, 200)
        self.assertIn(b"<h1>From the e2e test</h1>", r.body)
        self.assertIn(b"line one<br>line two", r.body)
        self.assertIn(b"From the e2e test", self.get("/").body)
        # invalid form: the app's 400 with the errors
        r = self.post_form("/", {"csrfmiddlewaretoken": token, "title": ""}, jar)
        self.assertEqual(r.status, 400)

    def test_csrf_enforced(self):
        r = self.post_form("/", {"title": "no token"}, {})
        self.assertEqual(r.status, 403)

    def test_client_host_and_absolute_urls(self):
        r = self.get("/whoami/")
        self.assertEqual(r.status, 200, r)
        d = r.json()
        self.assertEqual(d["host"], HOST)
        self.assertEqual(d["absolute_index"], "http://%s/" % HOST)
        # over HTTP on a unix socket the client's address arrives as X-Forwarded-For
        self.assertEqual(d["forwarded_for"], "127.0.0.1")
        # APPEND_SLASH redirect keeps the path, relative to the client's host
        r = self.get("/whoami")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "/whoami/")

    def test_disallowed_host_refused(self):
        r = self.get("/", host="evil.example")
        self.assertEqual(r.status, 400)

    def test_admin_login_page_and_login(self):
        r = self.get("/admin/")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "/admin/login/?next=/admin/")
        r = self.get("/admin/login/?next=/admin/")
        self.assertEqual(r.status, 200)
        self.assertIn(b"Django administration", r.body)
        self.assertIn(b'href="/static/admin/css/base.css"', r.body)
        jar = cookies_from(r, {})
        with open(os.path.join(self.dep.run_dir, "django-admin-password")) as f:
            password = f.read().strip()
        self.assertGreaterEqual(len(password), 12)
        r = self.post_form("/admin/login/?next=/admin/", {
            "csrfmiddlewaretoken": csrf_token(r.body), "username": "admin", "password": password,
            "next": "/admin/"}, jar)
        self.assertEqual(r.status, 302, r.body[:1500])
        self.assertEqual(r.header("Location"), "/admin/")
        cookies_from(r, jar)
        self.assertIn("sessionid", jar)
        r = self.get("/admin/notes/note/", headers={"Cookie": cookie_header(jar)})
        self.assertEqual(r.status, 200)
        self.assertIn(b"Select note to change", r.body)
        # a wrong password stays on the login page
        r = self.get("/admin/login/")
        jar2 = cookies_from(r, {})
        r = self.post_form("/admin/login/", {"csrfmiddlewaretoken": csrf_token(r.body),
                                              "username": "admin", "password": "wrong"}, jar2)
        self.assertEqual(r.status, 200)
        self.assertIn(b"Please enter the correct username and password", r.body)

    def test_static_files_served_by_proxy(self):
        static = os.path.join(self.dep.run_dir, "django-static")
        for rel, ctype in (("admin/css/base.css", "text/css"), ("notes/style.css", "text/css"),
                           ("admin/js/core.js", "application/javascript")):
            r = self.get("/static/" + rel)
            self.assertEqual(r.status, 200, rel)
            with open(os.path.join(static, rel), "rb") as f:
                self.assertEqual(r.body, f.read(), rel)
            self.assertEqual(r.header("Content-Type").split(";")[0], ctype, rel)
            self.assertIsNotNone(r.header("Last-Modified"), rel)
        r = self.get("/static/admin/css/base.css",
                     headers={"If-Modified-Since": self.get("/static/admin/css/base.css").header("Last-Modified")})
        self.assertEqual(r.status, 304)
        r = self.get("/static/admin/css/base.css", headers={"Range": "bytes=0-9"})
        self.assertEqual(r.status, 206)
        self.assertEqual(len(r.body), 10)
        self.assertEqual(self.get("/static/no/such.css").status, 404)
        # none of these reached the gateway (Django with DEBUG off would 404 them)
        with open(os.path.join(self.dep.run_dir, "gateway-django.log"), errors="replace") as f:
            self.assertNotIn("/static/", f.read())
        # a dot-dot path is normalised first: it never leaves the static folder
        r = self.get("/static/../django.sqlite3")
        self.assertIn(r.status, (400, 403, 404))
        self.assertNotIn(b"SQLite format", r.body)

    def test_not_found(self):
        self.assertEqual(self.get("/notes/999999/").status, 404)


if __name__ == "__main__":
    harness.main()
