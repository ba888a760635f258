"""Transports, all ending in the same install(): xenstore from a driver
domain (a sim guest on a xenstore ring), HTTP pull from a local server
(127.0.0.1 only), and the console (mpremote on xen.repl's pty)."""
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from policylib import ROOT, make_bundle, policy_files, other_key  # noqa: F401

XS_PRE = """
import sys
sys.path.append('tests/xenstore/mp')
from xsguest import Guest
from xen import xenstore as xs
from xen.xenstore import ring as R
import xen.policy as P
from xen.policy.transport import XenstoreReceiver, push_chunks

def guest(domid):
    xs.introduce(domid, 1000 + domid, 10 + domid)
    g = Guest()
    g.server = R.attach(xs.server(), domid, g.page, g.notify)
    return g

def writer(g):
    def w(path, value):
        if isinstance(value, str):
            value = value.encode()
        t, b = g.write(path.encode(), value)
        if t != 11:
            raise OSError('guest write %s: %r' % (path, b))
    return w

g = guest(5)
rx = XenstoreReceiver(5, policy=P.store())
xs.pump()
rx.pending = False          # the watch's first event fires on registration

def send(data, tamper=None):
    w = writer(g)
    if tamper:
        w = tamper(w)
    push_chunks(data, w, rx.base)
    xs.pump()
    assert rx.pending, 'dom0 saw no commit'
    rx.step()
    t, b = g.read((rx.base + '/result').encode())
    return b.decode()
"""


def xs_run(dev, code, bundles):
    pre = "".join("B%d = open(%r, 'rb').read()\n" % (i, str(dev.put(b))) for i, b in enumerate(bundles))
    return dev.json(pre + XS_PRE + code, env={"MICROPYPATH": ".frozen:" + str(ROOT / "tests/xenstore/mp")})


def test_xenstore_transfer_installs(v1dev):
    big = policy_files(2, extra={"table.py": b"T = %r\n" % (b"z" * 5000)})
    got = xs_run(v1dev, """
r1 = send(B0)
emit([r1, P.status()['slot'], P.status()['state'], P.status()['version'], xs.ls(rx.base)])
""", [make_bundle(big, version=2, counter=2)])
    assert got[0] == "ok b 2" and got[1:4] == ["b", "trial", 2], got
    assert got[4] == ["result"]           # chunks and commit removed
    booted, st, _ = v1dev.boot()
    assert booted == [2]


def test_xenstore_refusals_reach_the_guest_and_change_nothing(v1dev, other_key):
    before = v1dev.snapshot()
    got = xs_run(v1dev, """
out = [send(B0), send(B1)]
def drop_chunk(w):
    def f(path, value):
        if not path.endswith('/chunk/1'):
            w(path, value)
    return f
def bad_digest(w):
    def f(path, value):
        if path.endswith('/commit'):
            value = value[:-4] + 'beef'
        w(path, value)
    return f
out.append(send(B2, drop_chunk))
out.append(send(B2, bad_digest))
# an absurd announced size is refused before any chunk is read
w = writer(g)
w(rx.base + '/commit', '99999 99999999 00')
xs.pump(); rx.step()
out.append(g.read((rx.base + '/result').encode())[1].decode())
# another guest may not write into domain 5's area
g6 = guest(6)
out.append(g6.write((rx.base + '/commit').encode(), b'1 1 00')[1].decode())
emit(out)
""", [make_bundle(policy_files(2), version=2, key=other_key),
      make_bundle(policy_files(2), version=2, target="modxen,else"),
      make_bundle(policy_files(2, extra={"pad.py": b"#" * 3000}), version=2)])
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
    got = v1dev.json("""
from xen.policy import transport as T
out = []
for name in ('evil.bundle', 'huge.bundle', 'missing.bundle'):
    try:
        T.pull_http('%s/' + name)
        out.append('ACCEPTED')
    except (p.PolicyError, OSError) as e:
        out.append(type(e).__name__ + ': ' + str(e))
out.append(p.status()['slot'])
emit(out)
""" % url)
    assert got[0].startswith("UnknownKeyError"), got
    assert got[1].startswith("BundleError") and "larger than the limit" in got[1], got
    assert got[2].startswith("OSError") and "404" in got[2], got
    assert got[3] == "a" and v1dev.snapshot() == before
    st = v1dev.json("from xen.policy import transport as T\nemit(T.pull_http(%r))" % (url + "/v2.bundle"))
    assert st["slot"] == "b" and st["version"] == 2 and st["state"] == "trial"


def test_console_mpremote_copy_then_install(firmware, tmp_path):
    """`mpremote fs cp bundle :` then xen.policy.install() at the REPL."""
    tty = tmp_path / "tty"
    root = tmp_path / "flash"
    root.mkdir()
    log = open(tmp_path / "repl.log", "wb")
    env = dict(os.environ, MODXEN_STATE=str(tmp_path / "state"))
    env.pop("MICROPYPATH", None)
    proc = subprocess.Popen([str(firmware.path), "-m", "xen.repl", str(tty), "--root", str(root)],
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
    booted_out = firmware.run("import xen.policy as p\np.boot()\nprint('@@', p.status()['state'])",
                              env={"MODXEN_STATE": str(tmp_path / "state")})
    assert "@@BOOTED 1" in booted_out and "@@ trial" in booted_out
