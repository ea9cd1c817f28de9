"""deploy/run.sh and deploy/stop.sh as a user runs them (in a scratch copy of
the repository, on a free port): --detach then stop.sh leaves no process,
pid file or socket behind; running it twice is harmless; a port in use and
bad arguments give a clear message; in the foreground, Ctrl-C (SIGINT)
stops everything.  Also every config in conf/ passes the proxy's -t."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import chainstack  # noqa: E402
import harness  # noqa: E402

chainstack.need_impl()


class Deploy(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.stack_tmp = chainstack.scratch_dir()
        self.dep = chainstack.Deployment(self.stack_tmp, "hello")

    def tearDown(self):
        self.dep.stop()
        self.dep.kill_leftovers()
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.stack_tmp, ignore_errors=True)
        super().tearDown()

    def assert_all_stopped(self):
        left = chainstack.wait_gone(self.dep.processes(), timeout=20)
        self.assertEqual(left, [], "processes left running")
        names = os.listdir(self.dep.run_dir)
        self.assertEqual([n for n in names if n.endswith(".pid") or n.endswith(".sock")], [], names)
        self.assertEqual(self.dep.sanitizer_reports(), [])

    def test_detach_then_stop(self):
        r = self.dep.start()
        self.assertIn("http://127.0.0.1:%d/" % self.dep.port, r.stdout)
        resp = self.dep.request("GET", "/")
        self.assertEqual((resp.status, resp.body), (200, b"Hello, World!\n"))
        names = os.listdir(self.dep.run_dir)
        for n in ("proxy.pid", "gateway-hello.pid", "proxy.log", "gateway-hello.log", "app.sock"):
            self.assertIn(n, names)
        pids = self.dep.processes()
        self.assertGreaterEqual(len(pids), 4, "proxy master + worker, gateway master + 2 workers")
        s = self.dep.stop()
        self.assertEqual(s.returncode, 0, s.stderr)
        self.assertIn("stopping proxy", s.stdout)
        self.assertIn("stopping gateway", s.stdout)
        self.assertNotIn("killing", s.stderr, "a graceful stop timed out")
        self.assert_all_stopped()
        self.assertFalse(harness.port_open(self.dep.port))
        # stop.sh again: nothing to do, still success
        self.assertEqual(self.dep.stop().returncode, 0)

    def test_run_twice_replaces_the_first(self):
        self.dep.start()
        first = set(self.dep.processes())
        self.dep.start()
        second = set(self.dep.processes())
        self.assertFalse(first & second, "the first run's processes survived the second run")
        self.assertEqual(self.dep.request("GET", "/").status, 200)
        self.dep.stop()
        self.assert_all_stopped()

    def test_port_in_use_is_a_clear_error(self):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", self.dep.port))
            s.listen(1)
            r = self.dep.run_sh("--detach")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("127.0.0.1:%d is already in use" % self.dep.port, r.stderr)
        self.assertEqual(self.dep.processes(), [])

    def test_bad_arguments(self):
        r = subprocess.run(["bash", os.path.join(self.dep.root, "deploy", "run.sh"), "--app", "rails"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--app must be flask, django or hello", r.stderr)
        r = subprocess.run(["bash", os.path.join(self.dep.root, "deploy", "run.sh"), "--bogus"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown argument '--bogus'", r.stderr)

    def test_foreground_ctrl_c_stops_everything(self):
        cmd = ["bash", os.path.join(self.dep.root, "deploy", "run.sh"), "--no-build", "--app", "hello",
               "--port", str(self.dep.port)] + chainstack.impl_args()
        log = open(os.path.join(self.stack_tmp, "fg.out"), "w+")
        p = subprocess.Popen(cmd, cwd=self.dep.root, env=self.dep.env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            harness.wait_for(lambda: p.poll() is None and harness.port_open(self.dep.port), timeout=60,
                             what="deploy/run.sh to listen")
            harness.wait_for(lambda: "Ctrl-C stops everything" in chainstack.read_text(log.name), timeout=60,
                             what="run.sh to be ready")
            self.assertEqual(self.dep.request("GET", "/").status, 200)
            p.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
            self.assertEqual(p.wait(60), 0, chainstack.read_text(log.name))
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            log.close()
        self.assert_all_stopped()

    def test_gateway_dies_then_run_sh_stops_the_rest(self):
        cmd = ["bash", os.path.join(self.dep.root, "deploy", "run.sh"), "--no-build", "--app", "hello",
               "--port", str(self.dep.port)] + chainstack.impl_args()
        out = os.path.join(self.stack_tmp, "fg2.out")
        with open(out, "w") as log:
            p = subprocess.Popen(cmd, cwd=self.dep.root, env=self.dep.env, stdout=log,
                                 stderr=subprocess.PIPE, start_new_session=True)
        try:
            harness.wait_for(lambda: "Ctrl-C stops everything" in chainstack.read_text(out), timeout=90,
                             what="run.sh to be ready")
            with open(os.path.join(self.dep.run_dir, "gateway.spawn.pid")) as f:
                gw = int(f.read())
            os.killpg(gw, signal.SIGKILL)
            err = p.communicate(timeout=60)[1].decode()
            self.assertEqual(p.returncode, 1)
            self.assertIn("exited unexpectedly", err)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.assert_all_stopped()


class Configs(harness.TempDirTestCase):
    def test_every_conf_passes_t(self):
        conf = os.path.join(harness.SRC_DIR, "conf")
        files = sorted(f for f in os.listdir(conf) if f.endswith(".conf"))
        self.assertEqual(files, ["django.conf", "flask.conf", "proxy.conf"])
        root = chainstack.make_root(self.tmp)
        os.makedirs(os.path.join(root, "run"))
        for f in files:
            if chainstack.PROXY_IMPL == "ours":
                cmd = [harness.PROXY_BIN, "-t", "-p", root + "/", "-c", os.path.join(root, "conf", f)]
            else:
                text = chainstack.read_text(os.path.join(conf, f)).replace("server_timing on;", "")
                path = os.path.join(root, "run", f)
                with open(path, "w") as out:
                    out.write(text.replace("include uwsgi_params;", "include %s/uwsgi_params;" % conf))
                cmd = ["/usr/sbin/nginx", "-t", "-p", root + "/", "-c", path]
            r = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=30,
                               env=harness.clean_env())
            self.assertEqual(r.returncode, 0, "%s: %s%s" % (f, r.stdout, r.stderr))
            self.assertIn("syntax is ok", r.stdout + r.stderr)

    def test_uwsgi_params_as_nginx_ships_it(self):
        shipped = "/etc/nginx/uwsgi_params"
        if not os.path.exists(shipped):
            self.skipTest("nginx not installed")
        with open(shipped) as a, open(os.path.join(harness.SRC_DIR, "conf", "uwsgi_params")) as b:
            self.assertEqual(a.read(), b.read())

    def test_ini_files_name_existing_apps(self):
        conf = os.path.join(harness.SRC_DIR, "conf")
        for app in ("hello", "flask", "django"):
            with open(os.path.join(conf, app + ".ini")) as f:
                text = f.read()
            self.assertTrue(text.lstrip().startswith(";") or "[uwsgi]" in text)
            self.assertIn("[uwsgi]", text)
            self.assertIn("pidfile = run/gateway-%s.pid" % app, text)


if __name__ == "__main__":
    harness.main()
