"""deploy/systemd/*.service pass `systemd-analyze verify` (skipped where
systemd-analyze is not installed).  The units name /opt/chain; the test
points them at this checkout and build so that verify also checks that
every ExecStart program exists, and that each gateway instance's ini file
and the proxy's config are real files."""
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


if __name__ == "__main__":
    harness.main()
