"""Gateway: bad start-up input exits non-zero within seconds with a message
naming the file or module and the Python traceback; --help, --version, --ini,
--module, --callable, --pythonpath, --chdir, --env, --preload work."""
import os
import socket
import subprocess
import time

from harness import (GATEWAY_BIN, GatewayTestCase, clean_env, free_port, main, need_binary,
                     request)

HELLO = '''
import os
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("hello %s" % os.environ.get("GREETING", "")).encode()]
'''


class GatewayStartup(GatewayTestCase):
    def run_gw(self, args, timeout=20):
        need_binary(GATEWAY_BIN)
        t0 = time.monotonic()
        p = subprocess.run([GATEWAY_BIN] + args, cwd=self.tmp, env=clean_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), time.monotonic() - t0

    def sock(self):
        return ["--http-socket", "127.0.0.1:%d" % free_port()]

    def test_missing_file(self):
        rc, out, dt = self.run_gw(self.sock() + ["--wsgi-file", "nope.py"])
        self.assertNotEqual(rc, 0)
        self.assertIn("nope.py", out)
        self.assertLess(dt, 15)

    def test_import_error(self):
        self.write("bad.py", "import no_such_module_xyz\n")
        rc, out, dt = self.run_gw(self.sock() + ["--wsgi-file", "bad.py", "--processes", "2"])
        self.assertNotEqual(rc, 0)
        self.assertIn("bad.py", out)
        self.assertIn("Traceback", out)
        self.assertIn("no_such_module_xyz", out)

    def test_syntax_error_module(self):
        self.write("pkg/__init__.py", "")
        self.write("pkg/broken.py", "def application(:\n")
        rc, out, dt = self.run_gw(self.sock() + ["--module", "pkg.broken"])
        self.assertNotEqual(rc, 0)
        self.assertIn("pkg.broken", out)
        self.assertIn("SyntaxError", out)

    def test_missing_callable(self):
        self.write("app.py", HELLO)
        rc, out, dt = self.run_gw(self.sock() + ["--wsgi-file", "app.py", "--callable", "nothere"])
        self.assertNotEqual(rc, 0)
        self.assertIn("nothere", out)
        self.assertIn("app.py", out)
        self.write("notcallable.py", "application = 3\n")
        rc, out, dt = self.run_gw(self.sock() + ["--wsgi-file", "notcallable.py"])
        self.assertNotEqual(rc, 0)
        self.assertIn("not callable", out)

    def test_bad_address_and_port_in_use(self):
        self.write("app.py", HELLO)
        rc, out, dt = self.run_gw(["--http-socket", "127.0.0.1:99999", "--wsgi-file", "app.py"])
        self.assertNotEqual(rc, 0)
        self.assertIn("99999", out)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            rc, out, dt = self.run_gw(["--http-socket", "127.0.0.1:%d" % port, "--wsgi-file",
                                       "app.py"])
            self.assertNotEqual(rc, 0)
            self.assertIn(str(port), out)
            self.assertIn("in use", out)

    def test_bad_options(self):
        rc, out, _ = self.run_gw(["--bogus"])
        self.assertNotEqual(rc, 0)
        self.assertIn("bogus", out)
        rc, out, _ = self.run_gw(["--wsgi-file", "x.py"])
        self.assertNotEqual(rc, 0)
        self.assertIn("socket", out)
        ini = self.write("bad.ini", "[uwsgi]\nhttp-socket = :1\nprocesses = many\n")
        rc, out, _ = self.run_gw(["--ini", ini])
        self.assertNotEqual(rc, 0)
        self.assertIn("bad.ini:3:", out)

    def test_help_version(self):
        rc, out, _ = self.run_gw(["--help"])
        self.assertEqual(rc, 0)
        for opt in ("--http-socket", "--socket", "--wsgi-file", "--module", "--harakiri",
                    "--max-requests", "--stats", "--preload", "--ini"):
            self.assertIn(opt, out)
        rc, out, _ = self.run_gw(["--version"])
        self.assertEqual(rc, 0)
        self.assertIn("gateway", out)

    def test_ini_module_pythonpath_chdir_env(self):
        self.write("lib/mypkg/__init__.py", "")
        self.write("lib/mypkg/web.py", HELLO.replace("application", "app"))
        os.makedirs(os.path.join(self.tmp, "wd"))
        port = free_port()
        ini = self.write("gw.ini", "[uwsgi]\nhttp-socket = 127.0.0.1:%d\nmodule = mypkg.web:app\n"
                         "pythonpath = %s\nchdir = %s\nenv = GREETING=ini\nmaster = true\n"
                         % (port, os.path.join(self.tmp, "lib"), os.path.join(self.tmp, "wd")))
        p = self.spawn([GATEWAY_BIN, "--ini", ini], name="gw")
        p.wait_port(port, timeout=30)
        r = request(port)
        self.assertEqual(r.body, b"hello ini")

    def test_virtualenv_and_uid(self):
        venv = os.path.join(self.tmp, "venv")
        r = subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", venv],
                           capture_output=True, timeout=120)
        if r.returncode != 0:
            self.skipTest("cannot make a venv: %s" % r.stderr[-300:])
        self.write("vapp.py", "import os, sys\n"
                   "def application(e, sr):\n"
                   "    sr('200 OK', [('Content-Type', 'text/plain')])\n"
                   "    return [('%s %d' % (sys.prefix, os.getuid())).encode()]\n")
        os.chmod(self.tmp, 0o755)
        extra = ["--uid", "nobody"] if os.getuid() == 0 else []
        self.port = free_port()
        self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", "vapp.py",
                            "--virtualenv", venv] + extra)
        prefix, uid = request(self.port).body.decode().split()
        self.assertEqual(os.path.realpath(prefix), os.path.realpath(venv))
        if extra:
            self.assertEqual(int(uid), 65534)
        rc, out, _ = self.run_gw(self.sock() + ["--wsgi-file", "vapp.py", "--virtualenv",
                                                os.path.join(self.tmp, "nope")])
        self.assertNotEqual(rc, 0)
        self.assertIn("nope", out)
        rc, out, _ = self.run_gw(self.sock() + ["--wsgi-file", "vapp.py", "--uid", "no-such-user-x"])
        self.assertNotEqual(rc, 0)
        self.assertIn("no-such-user-x", out)

    def test_preload(self):
        self.write("app.py", HELLO)
        self.port = free_port()
        self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", "app.py",
                            "--preload", "--processes", "2"])
        self.assertEqual(request(self.port).body, b"hello ")
        rc, out, _ = self.run_gw(self.sock() + ["--wsgi-file", "missing.py", "--preload"])
        self.assertNotEqual(rc, 0)
        self.assertIn("missing.py", out)


if __name__ == "__main__":
    main()
