"""Helpers for the console tests: run `xen.repl` on a pseudo-terminal for
mpremote and for raw pty clients, with the sim guest driver (mp/conguest.py)
importable. Scenarios that need no REPL run through mpfirmware.mp() from
mp/.

The firmware is build/host/micropython (or $MODXEN_FIRMWARE). With
MODXEN_PYLIB=1 the source tree pylib/ replaces the frozen package."""
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import mpfirmware
from mpfirmware import ROOT, FIRMWARE, need_firmware  # noqa: F401

HERE = Path(__file__).resolve().parent


def mp_env(extra=None):
    return mpfirmware.mp_env(HERE / "mp", extra)


class Repl:
    """`micropython -m xen.repl PATH --root DIR` in the background."""

    def __init__(self, workdir):
        need_firmware()
        self.dir = Path(workdir)
        self.tty = self.dir / "tty"
        self.root = self.dir / "flash"
        self.logpath = self.dir / "repl.log"
        self.log = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            [str(FIRMWARE), "-m", "xen.repl", str(self.tty), "--root", str(self.root)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            env=mp_env(), cwd=str(ROOT))
        deadline = time.time() + 10
        while not self.tty.exists():
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError("xen.repl did not come up: " + self.logtext())
            time.sleep(0.02)

    def logtext(self):
        self.log.flush()
        return self.logpath.read_text(errors="replace")

    def mpremote(self, *args, ok=True, timeout=60, cwd=None):
        p = subprocess.run([sys.executable, "-m", "mpremote", "connect", str(self.tty), *args],
                           capture_output=True, timeout=timeout, cwd=str(cwd or self.dir))
        out = p.stdout.decode(errors="replace")
        if not ok:
            assert p.returncode != 0, "mpremote %s succeeded unexpectedly: %s" % (args, out)
            return out + p.stderr.decode(errors="replace")
        if ok:
            assert p.returncode == 0, "mpremote %s failed (%d)\n--- out ---\n%s\n--- err ---\n%s\n--- repl log ---\n%s" % (
                args, p.returncode, out, p.stderr.decode(errors="replace"), self.logtext())
        return out

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Pty:
    """A raw client on the REPL's pty (what a terminal program does)."""

    def __init__(self, path):
        self.fd = os.open(str(path), os.O_RDWR | os.O_NOCTTY)
        self.buf = b""

    def send(self, data):
        os.write(self.fd, data)

    def expect(self, token, timeout=10):
        """Read until `token`; returns everything up to and including it."""
        deadline = time.time() + timeout
        while token not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("timeout waiting for %r; got %r" % (token, self.buf[-500:]))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                self.buf += os.read(self.fd, 4096)
        i = self.buf.index(token) + len(token)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def raw_exec(self, code):
        """Enter the raw REPL and start `code` (returns once it runs)."""
        self.send(b"\r\x03\x03\x01")
        self.expect(b"raw REPL; CTRL-B to exit\r\n>")
        self.send(code.encode() + b"\x04")
        self.expect(b"OK")

    def close(self):
        os.close(self.fd)


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="console-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def repl(workdir):
    r = Repl(workdir)
    yield r
    r.stop()
