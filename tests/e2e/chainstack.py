"""Helpers for the whole-chain tests (70-79): a sample app deployed with
deploy/run.sh --detach in a scratch copy of the repository, on a free port.

The scratch root holds a copy of deploy/ and links to conf/, apps/ and the
build folder under test, so the tests exercise the very configs, ini files
and scripts users run, while run/ (logs, pid files, sockets, databases) stays
private to the test.  CHAIN_IMPL=ours runs our proxy and gateway (the default; nginx+ours while
only our gateway is built),
CHAIN_IMPL=peers runs nginx + uWSGI on the same files (to check the tests
themselves against the reference), CHAIN_IMPL=nginx+ours and ours+uwsgi mix
them (proxy+gateway); a test exits 77 (skip) while a binary it needs is not
built."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import harness

IMPL = os.environ.get("CHAIN_IMPL")
if not IMPL:
    # ours when both are built; while only the gateway is, nginx in front of it
    IMPL = "nginx+ours" if os.path.exists(harness.GATEWAY_BIN) and not os.path.exists(harness.PROXY_BIN) else "ours"
_IMPLS = {"ours": ("ours", "ours"), "peers": ("nginx", "uwsgi"),
          "nginx+ours": ("nginx", "ours"), "ours+uwsgi": ("ours", "uwsgi")}
if IMPL not in _IMPLS:
    sys.exit("CHAIN_IMPL must be one of " + ", ".join(_IMPLS))
PROXY_IMPL, GATEWAY_IMPL = _IMPLS[IMPL]


def need_impl(proxy=None, gateway=None):
    """Skips the calling test file (exit 77) when its programs are missing,
    or when it needs a given proxy or gateway ("ours") and runs another."""
    if (proxy and proxy != PROXY_IMPL) or (gateway and gateway != GATEWAY_IMPL):
        print("SKIP: needs proxy=%s gateway=%s, running %s" % (proxy, gateway, IMPL))
        sys.exit(77)
    harness.need_binary(harness.PROXY_BIN if PROXY_IMPL == "ours" else "/usr/sbin/nginx")
    harness.need_binary(harness.GATEWAY_BIN if GATEWAY_IMPL == "ours" else "/usr/bin/uwsgi")
    print("chain under test: %s proxy, %s gateway (CHAIN_IMPL=%s)" % (PROXY_IMPL, GATEWAY_IMPL, IMPL))


def impl_args():
    """deploy/run.sh's arguments that pick the programs under test."""
    return ["--proxy", PROXY_IMPL, "--gateway", GATEWAY_IMPL]


def scratch_dir():
    """A private scratch folder (its own prefix: a sweep of chain-e2e-* by
    someone else's cleanup must not pull the run folder from under us)."""
    import tempfile
    d = tempfile.mkdtemp(prefix="chain-stack-")
    os.chmod(d, 0o755)  # nginx's workers (nobody) read run/django-static
    return d


def make_root(tmp):
    """A scratch repository root in `tmp`: deploy/ copied (run.sh finds the
    root from its own path), conf/ and apps/ linked, build/ -> BUILD_DIR."""
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    shutil.copytree(os.path.join(harness.SRC_DIR, "deploy"), os.path.join(root, "deploy"))
    for d in ("conf", "apps"):
        os.symlink(os.path.join(harness.SRC_DIR, d), os.path.join(root, d))
    os.symlink(harness.BUILD_DIR, os.path.join(root, "build"))
    return root


class Deployment:
    """One sample app started by deploy/run.sh --detach in a scratch root."""

    def __init__(self, tmp, app, env=None):
        self.root = make_root(tmp)
        self.run_dir = os.path.join(self.root, "run")
        self.app = app
        self.port = harness.free_port()
        self.env = harness.clean_env(env or {})
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"

    def run_sh(self, *args, timeout=120):
        cmd = ["bash", os.path.join(self.root, "deploy", "run.sh"), "--no-build", "--app", self.app,
               "--port", str(self.port)]
        cmd += impl_args()
        return subprocess.run(cmd + list(args), cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def start(self):
        r = self.run_sh("--detach")
        if r.returncode != 0:
            raise RuntimeError("deploy/run.sh failed (%d):\n%s\n%s\n%s" % (
                r.returncode, r.stdout, r.stderr, self.logs()))
        self.started = r
        return r

    def stop(self):
        return subprocess.run(["bash", os.path.join(self.root, "deploy", "stop.sh")], cwd=self.root,
                              env=self.env, capture_output=True, text=True, timeout=60)

    def logs(self):
        out = []
        if os.path.isdir(self.run_dir):
            for n in sorted(os.listdir(self.run_dir)):
                if n.endswith(".log"):
                    with open(os.path.join(self.run_dir, n), errors="replace") as f:
                        out.append("--- run/%s\n%s" % (n, f.read()[-3000:]))
        return "\n".join(out)

    def sanitizer_reports(self):
        """Lines of ASan/UBSan/LSan reports in run/*.log (sanitizer build)."""
        bad = []
        if os.path.isdir(self.run_dir):
            for n in sorted(os.listdir(self.run_dir)):
                if n.endswith(".log"):
                    for ln in read_text(os.path.join(self.run_dir, n)).splitlines():
                        if "Sanitizer" in ln or "runtime error:" in ln:
                            bad.append("run/%s: %s" % (n, ln))
        return bad

    def processes(self):
        """Pids of processes whose working folder is this root (ours only)."""
        pids = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if os.readlink("/proc/%s/cwd" % p) == self.root:
                        pids.append(int(p))
                except OSError:
                    pass
        return pids

    def kill_leftovers(self):
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def request(self, method="GET", path="/", headers=None, body=None, host="127.0.0.1"):
        h = {"Host": host}
        h.update(headers or {})
        return harness.request(self.port, method, path, headers=h, body=body, timeout=30)


class DeployedTestCase(harness.TempDirTestCase):
    """Starts one sample app for the whole class (setUpClass), stops it after."""
    APP = None
    ENV = None

    @classmethod
    def setUpClass(cls):
        cls.ctmp = scratch_dir()
        cls.dep = Deployment(cls.ctmp, cls.APP, cls.ENV)
        try:
            cls.dep.start()
        except Exception:  # tearDownClass will not run
            cls.dep.stop()
            cls.dep.kill_leftovers()
            if not os.environ.get("KEEP_TMP"):
                shutil.rmtree(cls.ctmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        r = cls.dep.stop()
        left = wait_gone(cls.dep.processes(), timeout=10)
        cls.dep.kill_leftovers()
        reports = cls.dep.sanitizer_reports()
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(cls.ctmp, ignore_errors=True)
        if left:
            raise AssertionError("processes left after deploy/stop.sh: %s\n%s%s" % (left, r.stdout, r.stderr))
        if reports:
            raise AssertionError("sanitizer reports:\n" + "\n".join(reports[:40]))


SERVER_TIMING_RE = re.compile(r'^\s*([A-Za-z0-9_!#$%&\'*+.^`|~-]+)\s*((?:;\s*[A-Za-z]+\s*=\s*(?:"[^"]*"|[^;,]*))*)\s*$')


def parse_server_timing(value):
    """'a;dur=1.2, b;desc="x";dur=3' -> [("a", {"dur": "1.2"}), ("b", {...})]
    (RFC 8941-ish, as browsers read the Server-Timing header)."""
    out = []
    for item in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', value):
        m = SERVER_TIMING_RE.match(item)
        if not m:
            raise ValueError("bad Server-Timing entry %r in %r" % (item, value))
        params = {}
        for p in re.findall(r';\s*([A-Za-z]+)\s*=\s*("[^"]*"|[^;,]*)', m.group(2)):
            params[p[0].lower()] = p[1].strip().strip('"')
        out.append((m.group(1), params))
    return out


def wait_gone(pids, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if os.path.exists("/proc/%d" % p)
                 and open("/proc/%d/stat" % p).read().split(")")[-1].split()[0] != "Z"]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


def read_text(path):
    """A file's text ("" when it does not exist yet)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""
