"""deploy/systemd/*.service pass `systemd-analyze verify` (skipped where
systemd-analyze is not installed).  The units name /opt/chain; the test
points them at this checkout and build so that verify also checks that
every ExecStart program exists, and that each gateway instance's ini file
and the proxy's config are real files.

The units are hardened: both run as www-data with NoNewPrivileges,
ProtectSystem=strict (only the state folder run/ writable), PrivateTmp,
ProtectHome and no capabilities (the proxy's config binds no port below
1024); each creates run/ and hands it to www-data before it starts (files
an earlier deploy/run.sh left as root must not break it).  `systemd-analyze
security --offline=yes` rates each unit's exposure at most EXPOSURE_BOUND
(docs/robustness.md records the full output).  deploy/run.sh and stop.sh
run as root in a run/ owned by www-data leave it all to www-data."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SA = shutil.which("systemd-analyze")
if not SA:
    print("SKIP: systemd-analyze not installed")
    sys.exit(77)
harness.need_binary(harness.PROXY_BIN)
harness.need_binary(harness.GATEWAY_BIN)

UNITS = os.path.join(harness.SRC_DIR, "deploy", "systemd")
EXPOSURE_BOUND = 2.0  # "OK" in systemd's scale (0 safest .. 10 unsafe); both rate 1.2-1.3
HARDENING = ["User=www-data", "Group=www-data", "NoNewPrivileges=yes", "ProtectSystem=strict",
             "ReadWritePaths=/opt/chain/run", "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=",
             "ExecStartPre=+/usr/bin/install -d -o www-data -g www-data -m 0775 /opt/chain/run",
             "ExecStartPre=+/bin/chown -R -h www-data:www-data /opt/chain/run"]


class Units(harness.TempDirTestCase):
    def localise(self, name, text):
        text = text.replace("/opt/chain/build/", harness.BUILD_DIR.rstrip("/") + "/")
        text = text.replace("/opt/chain", harness.SRC_DIR.rstrip("/"))
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def verify(self, path):
        r = subprocess.run([SA, "verify", path], capture_output=True, text=True, timeout=120,
                           cwd=self.tmp, env=harness.clean_env({"SYSTEMD_LOG_LEVEL": "warning"}))
        out = (r.stdout + r.stderr).strip()
        # verify also comments on units it pulls in that are not ours (e.g. a
        # missing network-online.target in a container): only ours count
        ours = [ln for ln in out.splitlines() if "chain-" in ln]
        self.assertEqual(r.returncode, 0, out)
        self.assertEqual(ours, [], out)

    def test_units(self):
        names = sorted(os.listdir(UNITS))
        self.assertEqual(names, ["chain-gateway@.service", "chain-proxy.service"])
        with open(os.path.join(UNITS, "chain-proxy.service")) as f:
            proxy = f.read()
        conf = re.search(r"-c (\S+)", proxy).group(1)
        self.assertTrue(os.path.isfile(os.path.join(harness.SRC_DIR, conf)), conf)
        self.verify(self.localise("chain-proxy.service", proxy))
        with open(os.path.join(UNITS, "chain-gateway@.service")) as f:
            gw = f.read()
        self.localise("chain-gateway@.service", gw)
        for app in ("hello", "flask", "django"):
            self.assertTrue(os.path.isfile(os.path.join(harness.SRC_DIR, "conf", app + ".ini")))
            inst = os.path.join(self.tmp, "chain-gateway@%s.service" % app)
            os.symlink("chain-gateway@.service", inst)
            self.verify(inst)

    def test_verify_catches_a_broken_unit(self):
        # the check itself must be able to fail
        with open(os.path.join(UNITS, "chain-proxy.service")) as f:
            text = f.read().replace("/opt/chain/build/proxy/proxy", "/opt/chain/build/proxy/no-such-proxy")
        path = self.localise("chain-proxy.service", text)
        r = subprocess.run([SA, "verify", path], capture_output=True, text=True, timeout=120, cwd=self.tmp)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no-such-proxy", r.stdout + r.stderr)


def unit_lines(name):
    with open(os.path.join(UNITS, name)) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def security(path, cwd):
    """(exit status, output, overall exposure) of systemd-analyze security
    --offline=yes on the unit file at `path`."""
    r = subprocess.run([SA, "security", "--offline=yes", "--no-pager", path], capture_output=True, text=True,
                       timeout=120, cwd=cwd, env=harness.clean_env({"SYSTEMD_LOG_LEVEL": "warning"}))
    out = r.stdout + r.stderr
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    return r.returncode, out, float(m.group(1)) if m else None


class Hardening(harness.TempDirTestCase):
    def test_hardening_keys(self):
        for name in ("chain-proxy.service", "chain-gateway@.service"):
            lines = unit_lines(name)
            for key in HARDENING:
                self.assertIn(key, lines, "%s lacks %s" % (name, key))
            # a capability only when a port below 1024 is bound
            self.assertFalse([ln for ln in lines if ln.startswith("AmbientCapabilities=CAP_")], name)
        with open(os.path.join(harness.SRC_DIR, "conf", "flask.conf")) as f:
            ports = [int(p) for p in re.findall(r"^\s*listen\s+(?:\S+:)?(\d+)", f.read(), re.M)]
        self.assertTrue(ports and min(ports) >= 1024, ports)

    def exposure(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        if "@" in name and name.endswith("@.service"):
            inst = name.replace("@.service", "@flask.service")
            os.symlink(name, os.path.join(self.tmp, inst))
            path = os.path.join(self.tmp, inst)
        rc, out, level = security(path, self.tmp)
        if level is None and "offline" in out.lower() and rc != 0:
            self.skipTest("systemd-analyze security --offline is not supported here: " + out[:200])
        self.assertIsNotNone(level, out)
        return level, out

    def test_exposure_bound(self):
        for name in ("chain-proxy.service", "chain-gateway@.service"):
            with open(os.path.join(UNITS, name)) as f:
                level, out = self.exposure(name, f.read())
            print("%s: overall exposure %.1f" % (name, level))
            self.assertLessEqual(level, EXPOSURE_BOUND, out)

    def test_exposure_check_can_fail(self):
        # the same unit without its hardening block rates far worse
        with open(os.path.join(UNITS, "chain-proxy.service")) as f:
            text = f.read().split("# Hardening")[0] + "\n[Install]\nWantedBy=multi-user.target\n"
        level, out = self.exposure("chain-proxy.service", text)
        self.assertGreater(level, EXPOSURE_BOUND, out)


class StateOwnership(harness.TempDirTestCase):
    """deploy/run.sh and stop.sh run as root in a run/ that belongs to
    www-data (the units' state folder) leave every file there to www-data,
    so the units' gateway can write them afterwards."""

    def test_run_sh_as_root_keeps_run_owned_by_its_owner(self):
        import pwd
        import chainstack
        if os.geteuid() != 0:
            self.skipTest("needs root")
        try:
            w = pwd.getpwnam("www-data")
        except KeyError:
            self.skipTest("no www-data user")
        dep = chainstack.Deployment(self.tmp, "hello")
        os.makedirs(dep.run_dir)
        os.chown(dep.run_dir, w.pw_uid, w.pw_gid)

        def not_theirs():
            return sorted(n for n in os.listdir(dep.run_dir)
                          if os.lstat(os.path.join(dep.run_dir, n)).st_uid != w.pw_uid)
        try:
            dep.start()
            self.assertTrue(os.listdir(dep.run_dir))
            self.assertEqual(not_theirs(), [])
        finally:
            r = dep.stop()
            dep.kill_leftovers()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(not_theirs(), [])


if __name__ == "__main__":
    harness.main()
