"""Gateway, black box: privileges (root only; skipped otherwise).  With
--uid/--gid the master binds first, then it and every worker run as that
user and group (read from /proc); --chown-socket USER:GROUP and
--chmod-socket MODE set the unix socket's owner and mode before the drop;
bad values stop the start with a message."""
import grp
import os
import pwd
import stat
import sys
import unittest

import harness

harness.need_gateway()
if os.geteuid() != 0:
    print("skipped: needs root")
    sys.exit(77)

APP = os.path.join(harness.TEST_APPS_DIR, "pid_app.py")
USER, GROUP = "nobody", "nogroup"


def proc_ids(pid):
    """(real, effective, saved uid), (real, effective, saved gid), groups."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return ([int(x) for x in out["Uid"][:3]], [int(x) for x in out["Gid"][:3]],
            [int(x) for x in out.get("Groups", [])])


class Privileges(harness.GatewayTestCase):
    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)
        os.chmod(self.records, 0o777)
        self.uid = pwd.getpwnam(USER).pw_uid
        self.gid = grp.getgrnam(GROUP).gr_gid

    def test_workers_and_master_drop(self):
        sock = os.path.join(self.tmp, "gw.sock")
        port = harness.free_port()
        gw = self.start_gateway(["--socket", sock, "--http-socket", "127.0.0.1:%d" % port,
                                 "--wsgi-file", APP, "--processes", "2", "--uid", USER,
                                 "--gid", GROUP, "--chown-socket", "%s:%s" % (USER, GROUP),
                                 "--chmod-socket", "660"])
        workers = gw.wait_workers(2)
        for pid in [gw.pid] + workers:
            uids, gids, groups = proc_ids(pid)
            self.assertEqual(uids, [self.uid] * 3, "uid of %d" % pid)
            self.assertEqual(gids, [self.gid] * 3, "gid of %d" % pid)
            self.assertNotIn(0, groups)
        st = os.stat(sock)
        self.assertEqual((st.st_uid, st.st_gid), (self.uid, self.gid))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        # the app runs as that user
        r = harness.request(port, path="/")
        self.assertEqual(r.status, 200)
        r = harness.uwsgi_request(unix=sock, path="/")
        self.assertEqual(r.status, 200)

    @harness.uwsgi_differs("uWSGI's chmod-socket without a value means 666")
    def test_chmod_only(self):
        sock = os.path.join(self.tmp, "gw2.sock")
        gw = self.start_gateway(["--socket", sock, "--wsgi-file", APP, "--chmod-socket", "600"])
        gw.wait_workers(1)
        st = os.stat(sock)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, 0)

    def test_bad_values_stop_the_start(self):
        for args, msg in ((["--uid", "no-such-user-xyz"], "no such user"),
                          (["--chown-socket", "no-such-user-xyz"], "no such user"),
                          (["--chown-socket", "%s:no-such-group-xyz" % USER], "no such group"),
                          (["--chmod-socket", "8x9"], "not an octal mode")):
            with self.subTest(args=args):
                sock = os.path.join(self.tmp, "bad.sock")
                gw = self.start_gateway(["--socket", sock, "--wsgi-file", APP] + args,
                                        wait=False)
                self.assertNotEqual(gw.p.wait(timeout=30), 0)
                self.assertIn(msg, gw.output())


if __name__ == "__main__":
    harness.main()
