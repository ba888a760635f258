"""Real clients against `xen.xenstored` on a unix socket: Debian's
xenstore-utils and test-xenstore (libxenstore via XENSTORED_PATH), and pyxs."""
import os
import signal
import subprocess
import time

import pytest

from xslib import TEST_XENSTORE, Daemon

GET_QUOTA = 25      # XS_GET_QUOTA (Xen 4.21), newer than the installed xs_wire.h


# ---------------------------------------------------------------- utils
def test_utils_write_read(xsd):
    xsd.tool("xenstore-write", "/vm/a", "one", "/vm/b", "two")
    p = xsd.tool("xenstore-read", "/vm/a", "/vm/b")
    assert p.stdout.decode().split() == ["one", "two"]


def test_utils_read_missing_fails(xsd):
    p = xsd.tool("xenstore-read", "/no/such/node", ok=False)
    assert b"could not read" in p.stderr.lower() or p.stderr


def test_utils_write_invalid_path_fails(xsd):
    xsd.tool("xenstore-write", "/bad path", "x", ok=False)
    xsd.tool("xenstore-write", "/trailing/", "x", ok=False)


def test_utils_ls_and_list(xsd):
    xsd.tool("xenstore-write", "/t/x", "1", "/t/y/z", "2")
    ls = xsd.tool("xenstore-ls", "/t").stdout.decode()
    assert 'x = "1"' in ls and 'z = "2"' in ls
    lst = xsd.tool("xenstore-list", "/t").stdout.decode().split()
    assert lst == ["x", "y"]
    xsd.tool("xenstore-ls", "/missing", ok=False)
    xsd.tool("xenstore-list", "/missing", ok=False)


def test_utils_exists(xsd):
    xsd.tool("xenstore-write", "/e", "1")
    xsd.tool("xenstore-exists", "/e")
    xsd.tool("xenstore-exists", "/e/nope", ok=False)


def test_utils_rm(xsd):
    xsd.tool("xenstore-write", "/r/a/b", "1")
    xsd.tool("xenstore-rm", "/r/a")
    xsd.tool("xenstore-exists", "/r/a", ok=False)
    xsd.tool("xenstore-exists", "/r")
    # Parent missing: error.
    xsd.tool("xenstore-rm", "/nothere/x", ok=False)


def test_utils_chmod(xsd):
    xsd.tool("xenstore-write", "/p", "v")
    xsd.tool("xenstore-chmod", "/p", "r0", "w5")
    out = xsd.tool("xenstore-ls", "-p", "/").stdout.decode()
    assert "(r0,w5)" in out
    # The owner must be a domain that exists (only dom0 on this daemon's
    # simulated Xen); other entries may name any domain.
    xsd.tool("xenstore-chmod", "/p", "r3", ok=False)
    assert "(r0,w5)" in xsd.tool("xenstore-ls", "-p", "/").stdout.decode()
    xsd.tool("xenstore-chmod", "/p", "x3", ok=False)
    xsd.tool("xenstore-chmod", "/missing", "r0", ok=False)


def test_utils_watch(xsd):
    xsd.tool("xenstore-write", "/w", "0")
    p = subprocess.Popen(["xenstore-watch", "-n", "3", "/w"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=xsd.env)
    # The initial event says the watch is in place (no sleep: on a loaded
    # machine 0.3 s was sometimes too short).
    first = p.stdout.readline()
    xsd.tool("xenstore-write", "/w/a", "1")
    xsd.tool("xenstore-rm", "/w")
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert (first + out).decode().split() == ["/w", "/w/a", "/w"]


def test_utils_watch_invalid_fails(xsd):
    p = xsd.tool("xenstore-watch", "-n", "1", "/bad path", ok=False, timeout=10)
    assert p.returncode != 0


# --------------------------------------------------------- test-xenstore
def _xstest(xsd, *args):
    p = subprocess.run([str(TEST_XENSTORE), *args], capture_output=True, env=xsd.env, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_xenstore_testsuite_all_12(xsd):
    rc, out, err = _xstest(xsd, "-i", "100")
    lines = [l for l in out.splitlines() if ":" in l]
    assert len(lines) == 12, out
    assert all("avg:" in l for l in lines), out
    assert rc == 0, out + err


def test_xenstore_testsuite_random(xsd):
    rc, out, err = _xstest(xsd, "-r", "10")
    assert rc == 0, out + err
    assert "failed" not in out


# ------------------------------------------------------------------ pyxs


def _pyxs():
    import pyxs  # installed by scripts/deps.sh test (tests/requirements.txt)
    return pyxs


def test_pyxs_read_write_list_perms(xsd):
    px = _pyxs()
    with px.Client(unix_socket_path=xsd.path) as c:
        c.write(b"/px/a", b"1")
        c.mkdir(b"/px/d")
        assert c.read(b"/px/a") == b"1"
        assert sorted(c.list(b"/px")) == [b"a", b"d"]
        assert c.exists(b"/px/a") and not c.exists(b"/px/zz")
        c.set_perms(b"/px/a", [b"b0", b"r7"])
        assert c.get_perms(b"/px/a") == [b"b0", b"r7"]
        with pytest.raises(px.PyXSError):
            c.read(b"/px/missing")
        assert c.get_domain_path(3) == b"/local/domain/3"
        c.delete(b"/px")
        assert not c.exists(b"/px")


def test_pyxs_transaction_commit(xsd):
    px = _pyxs()
    with px.Client(unix_socket_path=xsd.path) as c:
        c.transaction()
        c.write(b"/tx/a", b"1")
        c.commit()
    with px.Client(unix_socket_path=xsd.path) as c:
        assert c.read(b"/tx/a") == b"1"


def test_pyxs_transaction_eagain_concurrent_writer(xsd):
    px = _pyxs()
    with px.Client(unix_socket_path=xsd.path) as c0:
        c0.write(b"/cnt", b"0")
    with px.Client(unix_socket_path=xsd.path) as a, px.Client(unix_socket_path=xsd.path) as b:
        a.transaction()
        v = int(a.read(b"/cnt"))
        b.write(b"/cnt", b"100")        # concurrent writer
        a.write(b"/cnt", str(v + 1).encode())
        assert a.commit() is False      # pyxs maps EAGAIN to False
        assert b.read(b"/cnt") == b"100"
        # The retry succeeds.
        a.transaction()
        v = int(a.read(b"/cnt"))
        a.write(b"/cnt", str(v + 1).encode())
        assert a.commit() is True
        assert b.read(b"/cnt") == b"101"


def test_pyxs_watches(xsd):
    px = _pyxs()
    with px.Client(unix_socket_path=xsd.path) as c, px.Client(unix_socket_path=xsd.path) as w:
        m = w.monitor()
        m.watch(b"/mon", b"tok")
        ev = next(m.wait())
        assert (ev.path, ev.token) == (b"/mon", b"tok")     # initial fire
        c.write(b"/mon/x", b"1")
        ev = next(m.wait())
        assert (ev.path, ev.token) == (b"/mon/x", b"tok")
        m.unwatch(b"/mon", b"tok")
        c.write(b"/mon/y", b"1")
        c.write(b"/other", b"1")
        m.watch(b"/other", b"t2")
        ev = next(m.wait())
        assert ev.path == b"/other"      # nothing from /mon/y in between


# ---------------------------------------------------------------- daemon
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_daemon_signal_removes_socket(sockdir, sig):
    d = Daemon(sockdir / "s.sock")
    try:
        d.tool("xenstore-write", "/x", "1")
        d.proc.send_signal(sig)
        d.proc.wait(10)
        for _ in range(50):
            if not os.path.exists(d.path):
                break
            time.sleep(0.05)
        assert not os.path.exists(d.path)
    finally:
        d.stop()


def test_daemon_quota_option(sockdir):
    d = Daemon(sockdir / "q.sock", args=("--quota", "transactions=2"))
    try:
        from xslib import RawClient
        c = RawClient(d.path)
        assert c.call(GET_QUOTA, b"transactions\x00")[3] == b"2\x00"
        c.close()
    finally:
        d.stop()


def test_daemon_bad_arguments(sockdir):
    from xslib import FIRMWARE, mp_env, need_firmware
    need_firmware()
    for args in (["--quota", "nosuch=1", "--socket", str(sockdir / "a")],
                 ["--quota", "nodes=abc", "--socket", str(sockdir / "a")],
                 ["--bogus"], []):
        p = subprocess.run([str(FIRMWARE), "-m", "xen.xenstored", *args], capture_output=True,
                           env=mp_env(), timeout=20)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert b"xen.xenstored:" in p.stderr
