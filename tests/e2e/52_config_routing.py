"""e2e 52: what a configuration means at run time, through the real proxy.

Server choice by Host (exact, wildcard, default_server) and by listen
address; location choice (= exact, ^~, longest prefix); a server-level
`return` before any location; `types { }` / `include mime.types` /
`default_type` on static files; `add_header ... always`; settings inherited
http -> server -> location; a JSON log_format; reuseport with two workers.
Runs against nginx too (PROXY_IMPL=nginx)."""
import json
import os

import harness

CONF = """
    log_format j escape=json '{"host":"$host","uri":"$uri","status":"$status","srv":"$server_name"}';
    include {src}/conf/mime.types;
    default_type application/x-default;
    add_header X-Level http;
    server {
        listen 127.0.0.1:{p1};
        server_name first.test;
        access_log {tmp}/j.log j;
        location / { return 200 "first"; }
    }
    server {
        listen 127.0.0.1:{p1} default_server;
        server_name dflt.test *.wild.test;
        add_header X-Level server always;
        location / { return 200 "default /"; }
        location = /exact { return 200 "exact"; }
        location /pre/ { return 200 "prefix /pre/"; }
        location /pre/longer/ { return 200 "prefix /pre/longer/"; }
        location ^~ /static/ {
            root {tmp}/www;
            types { text/x-own own; }
        }
        location /files/ { alias {tmp}/www/static/; }
        location /err { return 404 "missing"; }
    }
    server {
        listen 127.0.0.1:{p2} reuseport;
        server_name _;
        return 418 "teapot";
        location / { return 200 "never"; }
    }
"""


class ConfigRouting(harness.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.p1, self.p2 = harness.free_port(), harness.free_port()
        os.makedirs(os.path.join(self.tmp, "www", "static"))
        for name, text in (("a.css", "body{}"), ("b.own", "own"), ("c.unknownext", "?"),
                           ("d.json", "{}")):
            with open(os.path.join(self.tmp, "www", "static", name), "w") as f:
                f.write(text)
        os.chmod(self.tmp, 0o755)
        conf = (CONF.replace("{p1}", str(self.p1)).replace("{p2}", str(self.p2))
                .replace("{tmp}", self.tmp).replace("{src}", harness.SRC_DIR))
        self.start(conf, [self.p1, self.p2], workers=2)

    def get(self, path, host="x", port=None):
        return harness.request(port or self.p1, path=path, headers={"Host": host})

    def test_server_names(self):
        self.assertEqual(self.get("/", "first.test").body, b"first")
        self.assertEqual(self.get("/", "FIRST.test").body, b"first")
        self.assertEqual(self.get("/", "first.test:%d" % self.p1).body, b"first")
        self.assertEqual(self.get("/", "a.wild.test").body, b"default /")
        self.assertEqual(self.get("/", "unknown.test").body, b"default /")
        self.assertEqual(self.get("/", "dflt.test").body, b"default /")

    def test_locations(self):
        self.assertEqual(self.get("/exact").body, b"exact")
        self.assertEqual(self.get("/exact/x").body, b"default /")
        self.assertEqual(self.get("/pre/x").body, b"prefix /pre/")
        self.assertEqual(self.get("/pre/longer/x").body, b"prefix /pre/longer/")
        r = self.get("/err")
        self.assertEqual((r.status, r.body), (404, b"missing"))

    def test_server_return_and_second_address(self):
        r = self.get("/", port=self.p2)
        self.assertEqual((r.status, r.body), (418, b"teapot"))
        for _ in range(20):  # reuseport: both workers answer on their own socket
            self.assertEqual(self.get("/anything", port=self.p2).status, 418)

    def test_types_and_default_type(self):
        self.assertEqual(self.get("/static/b.own").header("Content-Type"), "text/x-own")
        # a location's own types { } replaces the inherited map, as in nginx
        self.assertEqual(self.get("/static/a.css").header("Content-Type"), "application/x-default")
        self.assertEqual(self.get("/files/a.css").header("Content-Type"), "text/css")
        self.assertEqual(self.get("/files/d.json").header("Content-Type"), "application/json")
        self.assertEqual(self.get("/files/c.unknownext").header("Content-Type"),
                         "application/x-default")
        self.assertEqual(self.get("/files/b.own").body, b"own")

    def test_add_header_inheritance(self):
        # the server's own add_header replaces http's; `always` reaches 404s
        self.assertEqual(self.get("/err").header_all("X-Level"), ["server"])
        self.assertEqual(self.get("/", "first.test").header_all("X-Level"), ["http"])

    def test_json_log(self):
        self.get("/q\"x", "first.test")
        path = os.path.join(self.tmp, "j.log")

        def line():
            try:
                with open(path) as f:
                    return [l for l in f.read().splitlines() if l]
            except FileNotFoundError:
                return []

        harness.wait_for(line, 10, what="a JSON log line")
        rec = json.loads(line()[0])
        self.assertEqual(rec, {"host": "first.test", "uri": "/q\"x", "status": "200",
                               "srv": "first.test"})


if __name__ == "__main__":
    harness.need_proxy()
    harness.main()
