"""e2e 50: `proxy -t` on good and bad configurations, side by side with
`nginx -t` on the same files.

Good configurations print nginx's two lines and exit 0 (nginx accepts the
same files where they use only directives nginx has); bad ones print
FILE:LINE: message and exit 1 (and nginx refuses them too, where it would);
start-up with a bad configuration fails the same way; the repository's own
conf/*.conf pass; -v, -V, -h, -g and a bad option behave as nginx's."""
import os
import subprocess
import unittest

import harness

NGINX = harness.NGINX_BIN

GOOD_NGINX = {
    "basic": """
    server {
        listen 127.0.0.1:{port} default_server;
        server_name example.com *.example.com www.example.*;
        location / { return 200 "hello\\n"; }
        location = /exact { return 204; }
        location ^~ /static/ { root /tmp; index index.html index.htm; }
        location /files/ { alias /tmp/; }
    }""",
    "proxy": """
    log_format j escape=json '{"uri":"$uri","status":$status,'
                             '"rt":$request_time,"up":"$upstream_addr"}';
    upstream app {
        hash $request_uri consistent;
        server 127.0.0.1:9001 weight=3 max_fails=2 fail_timeout=5s max_conns=100;
        server 127.0.0.1:9002;
        server unix:/tmp/nowhere.sock down;
        keepalive 16;
        keepalive_timeout 30s;
        keepalive_requests 500;
    }
    upstream app2 { least_conn; server localhost:9003; server 127.0.0.1:9007 backup; }
    upstream app3 { ip_hash; server 127.0.0.1:9004; }
    upstream app4 { random two least_conn; server 127.0.0.1:9005; server 127.0.0.1:9006; }
    proxy_http_version 1.1;
    proxy_connect_timeout 2s;
    proxy_read_timeout 1m;
    proxy_send_timeout 30;
    client_max_body_size 10m;
    keepalive_timeout 65;
    keepalive_requests 100;
    large_client_header_buffers 4 16k;
    client_header_timeout 10s;
    client_body_timeout 10s;
    send_timeout 10s;
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    server {
        listen 127.0.0.1:{port} reuseport backlog=128;
        access_log {tmp}/j.log j;
        location / {
            proxy_pass http://app;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 10s;
            proxy_buffering off;
            add_header X-Id $request_id always;
        }
        location /v1/ { proxy_pass http://127.0.0.1:9010/api/; }
        location /u/ { include {src}/conf/uwsgi_params; uwsgi_pass unix:/tmp/app.sock; }
        location /u2/ { uwsgi_pass uwsgi://app2; uwsgi_param X_A $arg_a if_not_empty; }
        location /off { access_log off; return 301 http://example.com$request_uri; }
    }""",
    "types": """
    include {src}/conf/mime.types;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:{port};
        location / { root {tmp}; types { text/x-custom cst; } }
    }""",
}

# directives only ours has (nginx Plus or ours)
GOOD_OURS = {
    "ours_only": """
    server_timing on;
    upstream u {
        least_time header inflight;
        server 127.0.0.1:9001 slow_start=10s;
        health_check interval=2s fails=2 passes=1 uri=/health timeout=1s;
    }
    server {
        listen 127.0.0.1:{port};
        location / { proxy_pass http://u; }
        location = /status { status; }
    }""",
}

# text inside http { } -> (line within the file, message); the line counts
# from the file's first line (proxy_conf puts http's body after 9 lines)
BAD = [
    ("    gzip_bogus on;", "unknown directive \"gzip_bogus\"", True),
    ("    server { listen 127.0.0.1:{port}; location / { proxy_pass http://nohost.invalid.; } }",
     "host not found in upstream \"nohost.invalid.\"", True),
    ("    server { listen 127.0.0.1:{port}; location / { proxy_pass http://app; } }\n"
     "    upstream app { server 127.0.0.1:1 weight=x; }",
     "invalid parameter \"weight=x\"", True),
    ("    keepalive_timeout 5 s s;", "invalid number of arguments in \"keepalive_timeout\" directive",
     True),
    ("    proxy_read_timeout 1x;", "invalid value \"1x\" in \"proxy_read_timeout\" directive", True),
    ("    listen 127.0.0.1:{port};", "\"listen\" directive is not allowed here", True),
    ("    server { listen 127.0.0.1:{port} }", "unexpected \"}\"", True),
    ("    access_log {tmp}/x.log nosuchformat;", "unknown log format \"nosuchformat\"", True),
    ("    server { location / {} location / {} }", "duplicate location \"/\"", True),
    ("    add_header X $no_such_var;", "unknown \"no_such_var\" variable", True),
    ("    server { listen 127.0.0.1:{port} backlog=100; }\n"
     "    server { listen 127.0.0.1:{port} reuseport; }",
     "duplicate listen options for 127.0.0.1:", True),
]


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


class ConfigCheck(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)
        self.port = harness.free_port()

    def conf(self, name, body, impl="ours"):
        text = harness.proxy_conf(
            body.replace("{port}", str(self.port)).replace("{tmp}", self.tmp)
            .replace("{src}", harness.SRC_DIR), self.tmp, impl=impl)
        return self.write("%s.%s.conf" % (name, impl), text)

    def proxy_t(self, path):
        return run([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path, "-t"])

    def nginx_t(self, path):
        return run([NGINX, "-p", self.tmp + "/", "-e", os.path.join(self.tmp, "nginx-error.log"),
                    "-c", path, "-t"])

    def test_good_configs(self):
        for name, body in list(GOOD_NGINX.items()) + list(GOOD_OURS.items()):
            with self.subTest(name):
                path = self.conf(name, body)
                r = self.proxy_t(path)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("proxy: the configuration file %s syntax is ok" % path, r.stderr)
                self.assertIn("proxy: configuration file %s test is successful" % path, r.stderr)

    @unittest.skipUnless(os.path.exists(NGINX), "nginx not installed")
    def test_nginx_accepts_the_same_good_configs(self):
        for name, body in GOOD_NGINX.items():
            with self.subTest(name):
                path = self.conf(name, body, impl="nginx")
                r = self.nginx_t(path)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("test is successful", r.stderr)
                self.assertEqual(self.proxy_t(path).returncode, 0, self.proxy_t(path).stderr)
        for name, body in GOOD_OURS.items():
            with self.subTest(name):
                self.assertNotEqual(self.nginx_t(self.conf(name, body, impl="nginx")).returncode, 0)

    def test_bad_configs(self):
        for i, (body, msg, _) in enumerate(BAD):
            with self.subTest(msg):
                path = self.conf("bad%d" % i, body)
                r = self.proxy_t(path)
                self.assertEqual(r.returncode, 1, r.stderr)
                lines = open(path).read().split("\n")
                # the error names this file and the line of the bad text
                want_lines = [n + 1 for n, l in enumerate(lines)
                              if l.strip() and l.strip()[:12] in body.replace("{port}", str(self.port))
                              .replace("{tmp}", self.tmp)]
                got = [l for l in r.stderr.split("\n") if msg in l]
                self.assertTrue(got, r.stderr)
                self.assertTrue(any("%s:%d: %s" % (path, n, msg) in got[0] for n in want_lines),
                                (got, want_lines))
                self.assertIn("test failed", r.stderr)

    @unittest.skipUnless(os.path.exists(NGINX), "nginx not installed")
    def test_nginx_refuses_the_same_bad_configs(self):
        for i, (body, msg, nginx_too) in enumerate(BAD):
            if not nginx_too:
                continue
            with self.subTest(msg):
                r = self.nginx_t(self.conf("bad%d" % i, body, impl="nginx"))
                self.assertNotEqual(r.returncode, 0, r.stderr)

    def test_start_with_bad_config_fails(self):
        path = self.conf("bad", BAD[0][0])
        r = run([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path])
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:" % path, r.stderr)
        self.assertIn("unknown directive \"gzip_bogus\"", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "proxy.pid")))

    def test_start_with_busy_port_fails(self):
        import socket
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(1)
        self.addCleanup(s.close)
        path = self.conf("busy", GOOD_NGINX["basic"])
        r = run([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path])
        self.assertEqual(r.returncode, 1)
        self.assertIn("bind() to 127.0.0.1:%d failed" % self.port, r.stderr)

    def test_repository_configs(self):
        confdir = os.path.join(harness.SRC_DIR, "conf")
        for name in sorted(os.listdir(confdir)):
            if not name.endswith(".conf"):
                continue
            with self.subTest(name):
                r = run([harness.PROXY_BIN, "-p", harness.SRC_DIR + "/", "-c", "conf/" + name, "-t"])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("test is successful", r.stderr)

    def test_globals_and_options(self):
        path = self.conf("g", GOOD_NGINX["basic"])
        r = run([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path, "-g", "worker_processes 2;",
                 "-t"])
        # proxy_conf already sets worker_processes: a duplicate, as nginx says
        self.assertEqual(r.returncode, 1)
        self.assertIn("\"worker_processes\" directive is duplicate", r.stderr)
        r = run([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path, "-g", "daemon off;", "-t"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path, "-g", "nonsense 1;", "-t"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("command line:1: unknown directive \"nonsense\"", r.stderr)
        r = run([harness.PROXY_BIN, "-v"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"^proxy version: proxy/\d")
        r = run([harness.PROXY_BIN, "-V"])
        self.assertIn("built with libevent", r.stderr)
        r = run([harness.PROXY_BIN, "-h"])
        self.assertIn("-s signal", r.stderr)
        r = run([harness.PROXY_BIN, "-x"])
        self.assertEqual(r.returncode, 1)
        r = run([harness.PROXY_BIN, "-s", "bogus"])
        self.assertEqual(r.returncode, 1)
        r = run([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", "nope.conf", "-t"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("nope.conf", r.stderr)


if __name__ == "__main__":
    harness.need_binary(harness.PROXY_BIN)
    harness.main()
