"""The `user` directive, as nginx's: a master started as root keeps root,
its workers run as the configured user and group (nobody, and nogroup, when
none is given); the log files stay writable by them across USR1 (the master
hands the reopened files over); `-t` with an unknown user or group fails
with the file and line.  Skipped unless run as root."""
import grp
import os
import pwd
import signal
import socket
import subprocess
import unittest

import harness

harness.need_proxy()

CONF = """%(user)s
worker_processes 2;
error_log %(tmp)s/error.log info;
pid %(tmp)s/proxy.pid;
events { worker_connections 64; }
http {
    access_log %(tmp)s/access.log;
    server {
        listen 127.0.0.1:%(port)d;
        location / { return 200 "uid ok\\n"; }
    }
}
"""


def ids(pid):
    """(real, effective, saved uid), (real, effective, saved gid) of pid."""
    uid = gid = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                uid = tuple(int(x) for x in line.split()[1:4])
            elif line.startswith("Gid:"):
                gid = tuple(int(x) for x in line.split()[1:4])
    return uid, gid


def holds(pid, path):
    fds = "/proc/%d/fd" % pid
    try:
        names = os.listdir(fds)
    except OSError:
        return False
    for fd in names:
        try:
            if os.readlink(os.path.join(fds, fd)) == path:
                return True
        except OSError:
            pass
    return False


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


@unittest.skipUnless(os.geteuid() == 0, "needs root (workers drop privileges only then)")
@unittest.skipIf(harness.PROXY_IMPL == "nginx", "ours: checks its own log wording and ids")
class User(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        # workers that are not root must reach their log files in here
        os.chmod(self.tmp, 0o711)
        self.port = harness.free_port()

    def conf(self, user):
        return self.write("conf/proxy.conf", CONF % {"user": user, "tmp": self.tmp,
                                                     "port": self.port})

    def start(self, user):
        path = self.conf(user)
        p = self.spawn([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path], name="proxy")
        p.wait_port(self.port)
        workers = harness.wait_for(lambda: (lambda w: len(w) == 2 and w)(
            harness.proc_children(p.pid)), 20, what="2 workers")
        return p, workers

    def want_ids(self, workers, uid, gid):
        for w in workers:
            # the workers switch before their first accept: settled once the
            # port answers, but look until they have (bounded)
            harness.wait_for(lambda: ids(w)[0] == (uid, uid, uid), 20,
                             what="worker %d to run as uid %d" % (w, uid))
            u, g = ids(w)
            self.assertEqual(u, (uid, uid, uid))
            self.assertEqual(g, (gid, gid, gid))

    def test_default_is_nobody(self):
        p, workers = self.start("")
        self.assertEqual(ids(p.pid)[0][1], 0)  # the master keeps root
        try:
            gid = grp.getgrnam("nogroup").gr_gid
        except KeyError:
            gid = pwd.getpwnam("nobody").pw_gid
        self.want_ids(workers, pwd.getpwnam("nobody").pw_uid, gid)
        r = harness.request(self.port, "GET", "/")
        self.assertEqual((r.status, r.body), (200, b"uid ok\n"))

    def test_user_and_group(self):
        p, workers = self.start("user daemon nogroup;")
        self.want_ids(workers, pwd.getpwnam("daemon").pw_uid, grp.getgrnam("nogroup").gr_gid)
        # one name: the group of that name, as nginx
        p.stop()
        p, workers = self.start("user daemon;")
        self.want_ids(workers, pwd.getpwnam("daemon").pw_uid, grp.getgrnam("daemon").gr_gid)
        self.assertEqual(harness.request(self.port, "GET", "/").status, 200)

    def test_usr1_reopens_logs_as_nobody(self):
        p, workers = self.start("user nobody;")
        nobody = pwd.getpwnam("nobody").pw_uid
        self.want_ids(workers, nobody, pwd.getpwnam("nobody").pw_gid)  # no group "nobody"
        alog = os.path.join(self.tmp, "access.log")
        elog = os.path.join(self.tmp, "error.log")
        harness.request(self.port, path="/before")
        harness.wait_for(lambda: "/before" in read(alog), 10, what="the first access line")
        os.rename(alog, alog + ".1")
        os.rename(elog, elog + ".1")
        p.signal(signal.SIGUSR1)

        def reopened():
            harness.request(self.port, path="/after")
            return "/after" in read(alog) and all(holds(w, elog) for w in workers)

        harness.wait_for(reopened, 20, step=0.1, what="the logs reopened by every worker")
        self.assertEqual(os.stat(alog).st_uid, nobody)
        self.assertEqual(os.stat(elog).st_uid, nobody)
        self.assertNotIn("reopening \"%s\" failed" % alog, read(elog) + read(elog + ".1"))
        self.assertNotIn("reopening the error log failed", read(elog) + read(elog + ".1"))
        # and they keep serving, writing to the new files
        self.assertEqual(harness.request(self.port, path="/final").status, 200)
        harness.wait_for(lambda: "/final" in read(alog), 10, what="the last access line")

    def test_temp_files_as_nobody(self):
        """The temp folders the master makes (client_body_temp, proxy_temp
        under the prefix) are the workers' to write in: a request body and a
        response that go to temp files work for workers running as nobody."""
        b = harness.Backend()
        self.addCleanup(b.stop)
        loc = ("location / { proxy_pass http://127.0.0.1:%d; client_body_buffer_size 1k;"
               " client_body_in_file_only clean;"
               " proxy_buffer_size 1k; proxy_buffers 8 1k; proxy_busy_buffers_size 2k; }" % b.port)
        path = self.write("conf/proxy.conf", (CONF % {"user": "", "tmp": self.tmp,
                                                      "port": self.port}).replace(
            'location / { return 200 "uid ok\\n"; }', loc))
        p = self.spawn([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path], name="proxy")
        p.wait_port(self.port)
        workers = harness.wait_for(lambda: (lambda w: len(w) == 2 and w)(
            harness.proc_children(p.pid)), 20, what="2 workers")
        self.want_ids(workers, pwd.getpwnam("nobody").pw_uid, ids(workers[0])[1][0])
        for d in ("client_body_temp", "proxy_temp"):
            self.assertEqual(os.stat(os.path.join(self.tmp, d)).st_uid,
                             pwd.getpwnam("nobody").pw_uid)
        body = os.urandom(64 * 1024)
        r = harness.request(self.port, "POST", "/up", body=body)
        self.assertEqual(r.status, 200, read(os.path.join(self.tmp, "error.log")))
        self.assertEqual(b.hits[-1]["body"], body)
        # a response the client does not read goes to a temp file
        c = socket.socket()
        self.addCleanup(c.close)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.settimeout(60)
        c.connect(("127.0.0.1", self.port))
        c.sendall(b"GET /bytes/8000000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        want = "buffered to a temporary file %s/proxy_temp/" % self.tmp.rstrip("/")
        elog = os.path.join(self.tmp, "error.log")
        harness.wait_for(lambda: want in read(elog), 60, step=0.05, what="the temporary file")
        got = bytearray()
        while True:
            d = c.recv(65536)
            if not d:
                break
            got += d
        head, _, rest = bytes(got).partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertEqual(rest, b"x" * 8000000)
        self.assertNotIn("Permission denied", read(os.path.join(self.tmp, "error.log")))

    def check_t(self, user, want):
        path = self.conf(user)
        r = subprocess.run([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path, "-t"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(want, r.stderr)
        self.assertIn("%s:1" % path, r.stderr)

    def test_t_unknown_user_or_group(self):
        self.check_t("user no_such_user_x;", 'getpwnam("no_such_user_x") failed')
        self.check_t("user nobody no_such_group_x;", 'getgrnam("no_such_group_x") failed')
        path = self.conf("user nobody nogroup;")
        r = subprocess.run([harness.PROXY_BIN, "-p", self.tmp + "/", "-c", path, "-t"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    harness.main()
