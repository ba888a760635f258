"""Transports, all ending in the same install(): xenstore from a driver
domain (a sim guest on a xenstore ring), HTTP pull from a local server
(127.0.0.1 only), and the console (mpremote on xen.repl's pty). The
firmware side is mp/policy_transports.py and mp/policydev.py."""
import http.server
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from mpfirmware import FIRMWARE, mp, need_firmware
from policylib import ROOT, make_bundle, policy_files
from xenheaders import XEN

def test_xenstore_transfer_installs(v1dev):
    big = policy_files(2, extra={"table.py": b"T = %r\n" % (b"z" * 5000)})
    got = v1dev.call("policy_transports.xenstore_transfer",
                     str(v1dev.put(make_bundle(big, version=2, counter=2))), XEN.XS_WRITE)
    assert got[0] == "ok b 2" and got[1:4] == ["b", "trial", 2], got
    assert got[4] == ["result"]           # chunks and commit removed
    booted, st, _ = v1dev.boot()
    assert booted == [2]


def test_xenstore_refusals_reach_the_guest_and_change_nothing(v1dev, other_key):
    before = v1dev.snapshot()
    bundles = [make_bundle(policy_files(2), version=2, key=other_key),
               make_bundle(policy_files(2), version=2, target="modxen,else"),
               make_bundle(policy_files(2, extra={"pad.py": b"#" * 3000}), version=2)]
    got = v1dev.call("policy_transports.xenstore_refusals", [str(v1dev.put(b)) for b in bundles],
                     XEN.XS_WRITE)
    assert got[0].startswith("error UnknownKeyError:"), got
    assert got[1].startswith("error TargetError:"), got
    assert got[2] == "error BundleError: xenstore transfer: chunk 1 is missing", got
    assert got[3].startswith("error BundleError: xenstore transfer: SHA-256"), got
    assert got[4].startswith("error BundleError: xenstore transfer:") and "out of bounds" in got[4], got
    assert got[5].startswith("EACCES"), got
    assert v1dev.snapshot() == before


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture
def http_dir(tmp_path):
    d = tmp_path / "www"
    d.mkdir()
    handler = lambda *a, **k: _Quiet(*a, directory=str(d), **k)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield d, "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_http_pull(v1dev, http_dir, other_key):
    d, url = http_dir
    (d / "v2.bundle").write_bytes(make_bundle(policy_files(2), version=2, counter=2))
    (d / "evil.bundle").write_bytes(make_bundle(policy_files(3), version=3, key=other_key))
    (d / "huge.bundle").write_bytes(b"\0" * (300 * 1024))
    before = v1dev.snapshot()
    got = v1dev.call("policy_transports.http_refusals", url,
                     ["evil.bundle", "huge.bundle", "missing.bundle"])
    assert got[0].startswith("UnknownKeyError"), got
    assert got[1].startswith("BundleError") and "larger than the limit" in got[1], got
    assert got[2].startswith("OSError") and "404" in got[2], got
    assert got[3] == "a" and v1dev.snapshot() == before
    st = v1dev.call("policy_transports.http_pull", url + "/v2.bundle")
    assert st["slot"] == "b" and st["version"] == 2 and st["state"] == "trial"


def test_console_mpremote_copy_then_install(tmp_path):
    """`mpremote fs cp bundle :` then xen.policy.install() at the REPL."""
    need_firmware()
    tty = tmp_path / "tty"
    root = tmp_path / "flash"
    root.mkdir()
    log = open(tmp_path / "repl.log", "wb")
    env = dict(os.environ, MODXEN_STATE=str(tmp_path / "state"))
    env.pop("MICROPYPATH", None)
    proc = subprocess.Popen([str(FIRMWARE), "-m", "xen.repl", str(tty), "--root", str(root)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            env=env, cwd=str(ROOT))
    try:
        deadline = time.time() + 10
        while not tty.exists():
            assert proc.poll() is None and time.time() < deadline, (tmp_path / "repl.log").read_text()
            time.sleep(0.05)
        b = tmp_path / "v1.bundle"
        b.write_bytes(make_bundle(policy_files(1), version=1, counter=1))

        def mpremote(*args):
            p = subprocess.run([sys.executable, "-m", "mpremote", "connect", str(tty), *args],
                               capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
            assert p.returncode == 0, (p.stdout, p.stderr, (tmp_path / "repl.log").read_text())
            return p.stdout

        mpremote("fs", "cp", str(b), ":v1.bundle")
        assert (root / "v1.bundle").read_bytes() == b.read_bytes()
        out = mpremote("exec", "import xen.policy as p; print(p.install('v1.bundle')['state'])")
        assert out.strip() == "trial"
        bad = bytearray(b.read_bytes())
        bad[-3] ^= 1
        (tmp_path / "bad.bundle").write_bytes(bytes(bad))
        mpremote("fs", "cp", str(tmp_path / "bad.bundle"), ":bad.bundle")
        out = mpremote("exec", "import xen.policy as p\ntry:\n p.install('bad.bundle')\n"
                               "except p.PolicyError as e:\n print('refused', type(e).__name__)")
        assert out.strip() == "refused TrialError"      # v1 is still on trial
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    r = mp("policydev.boot", env={"MODXEN_STATE": str(tmp_path / "state")})
    assert r["booted"] == [1] and r["status"]["state"] == "trial", r
