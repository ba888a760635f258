"""Helpers for the xenstore tests: call the scenarios of mp/ in the firmware,
start `xen.xenstored` on a socket, find Debian's clients.

The firmware is build/host/micropython (or $MODXEN_FIRMWARE). With
MODXEN_PYLIB=1 the source tree pylib/ replaces the frozen package (for a
firmware built without it)."""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import mpfirmware
from xenheaders import XEN
from mpfirmware import ROOT, FIRMWARE, need_firmware  # noqa: F401

HERE = Path(__file__).resolve().parent
TEST_XENSTORE = Path("/usr/lib/xen-4.17/bin/test-xenstore")
# The program itself: /usr/bin/xenstore-control is a wrapper that needs a
# running hypervisor to pick the Xen version.
XENSTORE_CONTROL = Path("/usr/lib/xen-4.17/bin/xenstore-control")


def mp_env(extra=None):
    return mpfirmware.mp_env(HERE / "mp", extra, drop=("XENSTORED_PATH",))


def mp(target, *args, timeout=120, **kw):
    """mpfirmware.mp() for this folder's mp/ scenarios, with XENSTORED_PATH
    dropped from the environment (the firmware's client would follow it to
    a daemon instead of its in-process server)."""
    return mpfirmware.mp(target, *args, timeout=timeout, helpers=HERE / "mp",
                         drop=("XENSTORED_PATH",), **kw)


class Daemon:
    """`micropython -m xen.xenstored --socket PATH` in the background."""

    def __init__(self, path, args=()):
        need_firmware()
        self.path = str(path)
        self.log = open(str(path) + ".log", "wb")
        self.proc = subprocess.Popen(
            [str(FIRMWARE), "-m", "xen.xenstored", "--socket", self.path, *args],
            stdout=self.log, stderr=subprocess.STDOUT, env=mp_env(), cwd=str(ROOT))
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.path):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(self.path)
                    s.close()
                    break
                except OSError:
                    pass
            if self.proc.poll() is not None:
                raise AssertionError("xenstored exited early: " + self.logtext())
            time.sleep(0.02)
        else:
            raise AssertionError("xenstored did not come up: " + self.logtext())
        self.env = dict(os.environ, XENSTORED_PATH=self.path)

    def logtext(self):
        self.log.flush()
        return Path(self.path + ".log").read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def tool(self, *argv, ok=True, input=None, timeout=30):
        p = subprocess.run(list(argv), capture_output=True, env=self.env, timeout=timeout, input=input)
        if ok is True:
            assert p.returncode == 0, "%s failed: %r %r" % (argv, p.stdout, p.stderr)
        elif ok is False:
            assert p.returncode != 0, "%s succeeded unexpectedly: %r" % (argv, p.stdout)
        return p


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="xs-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def xsd(sockdir):
    d = Daemon(sockdir / "xs.sock")
    yield d
    d.stop()


_XS_WATCH_EVENT = XEN.XS_WATCH_EVENT     # looked up once: reply() is timed by bench/xenstore.py


class RawClient:
    """A raw wire client over the unix socket (CPython side)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(10)
        self.s.connect(str(path))
        self.buf = b""
        self.events = []

    def send(self, typ, payload, req_id=1, tx=0, length=None):
        n = len(payload) if length is None else length
        self.s.sendall(struct.pack("<IIII", typ, req_id, tx, n) + payload)

    def recv(self):
        while True:
            if len(self.buf) >= 16:
                t, r, x, n = struct.unpack_from("<IIII", self.buf)
                if len(self.buf) >= 16 + n:
                    body = self.buf[16:16 + n]
                    self.buf = self.buf[16 + n:]
                    return t, r, x, body
            d = self.s.recv(65536)
            if not d:
                raise EOFError("server closed the connection")
            self.buf += d

    def reply(self):
        """Next non-event message."""
        while True:
            m = self.recv()
            if m[0] == _XS_WATCH_EVENT:
                self.events.append(m[3])
            else:
                return m

    def call(self, typ, payload, tx=0, req_id=1):
        self.send(typ, payload, req_id, tx)
        return self.reply()

    def close(self):
        self.s.close()
