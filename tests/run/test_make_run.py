"""`make run`, driven through a terminal as a person would.

One `make run` (Xen in QEMU with the modxen dom0; MODXEN_RUN_XEN picks the release,
default make's own, 4.20) on a pseudo-terminal, then, in order:
  - the first `>>>` (the time from `make run` is printed by make run and reported);
  - Ctrl-A enters the raw REPL and Ctrl-B leaves it, Ctrl-C interrupts a loop: the
    keys reach MicroPython through QEMU and Xen; a 1 KB line pasted in one write
    arrives whole;
  - the README's "First steps" block, typed line by line as it is printed there (the
    test reads it from README.md, so the two cannot drift apart): the demo guest is
    created, its banner and its name from xenstore show through xl.console, a shell
    command typed into the guest answers what the README says, Ctrl-] comes back,
    xl.destroy, and the last xl.list() shows only Domain-0;
  - mpremote through the connection command make run printed: exec, fs cp of a
    20 KB file whose sha256 is checked inside dom0, run;
  - Ctrl-\\ x quits QEMU and make exits.
Every step waits for its own output and fails, with the terminal's last output,
when it does not come. Nothing is skipped."""
import hashlib
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
README = ROOT / "README.md"
RELEASE = os.environ.get("MODXEN_RUN_XEN", "")
FIRST_PROMPT_S = int(os.environ.get("MODXEN_RUN_FIRST_PROMPT_TIMEOUT", "1200"))  # a first run builds


def first_steps():
    """The README's "First steps" block: [(kind, text, expected_output_lines)], kind
    "py" (a `>>> ` line), "sh" (a `demo# ` command) or "detach" (Ctrl-])."""
    text = README.read_text()
    m = re.search(r"^## First steps\n(.*?)^```\n(.*?)^```", text, re.M | re.S)
    assert m, "README.md has no '## First steps' section with a code block"
    steps = []
    for line in m.group(2).splitlines():
        if line.startswith(">>> "):
            steps.append(["py", line[4:], []])
        elif line.startswith("demo# "):
            cmd = line[6:]
            steps.append(["detach", cmd, []] if "Ctrl-]" in cmd else ["sh", cmd, []])
        elif steps:
            steps[-1][2].append(line)
    return steps


class Terminal:
    """`make run` on a pseudo-terminal: what a person types and sees."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(str(ROOT))
            os.execvpe(argv[0], argv, env)
        self.out = b""
        self.mark = 0      # what expect() looks at starts here
        self.t0 = time.time()

    def read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            raise EOFError
        self.out += data
        return True

    def expect(self, what, timeout, why):
        """Wait for `what` (bytes, or a compiled regex: its match is returned) after the
        mark, and move the mark past it; fail with the terminal's last output."""
        end = time.time() + timeout
        while True:
            seen = self.out[self.mark:]
            if isinstance(what, bytes):
                i = seen.find(what)
                if i >= 0:
                    self.mark += i + len(what)
                    return seen[:i].decode(errors="replace")
            else:
                m = what.search(seen)
                if m:
                    self.mark += m.end()
                    return m
            left = end - time.time()
            why_not = "timeout"
            if left > 0:
                try:
                    self.read(min(left, 0.5))
                    continue
                except EOFError:
                    why_not = "make run ended"
            tail = self.out[-2500:].decode(errors="replace")
            pytest.fail("%s: no %r within %ds (%s); the terminal's last output:\n%s"
                        % (why, what, timeout, why_not, tail), pytrace=False)

    def type(self, data):
        # as a person types: Xen buffers 128 bytes of serial input for dom0
        for i in range(0, len(data), 24):
            os.write(self.fd, data[i:i + 24])
            time.sleep(0.03)

    def close(self):
        """Stop make and hang up its terminal: make run's relay then stops QEMU."""
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass


@pytest.fixture(scope="module")
def term():
    argv = ["make", "--no-print-directory", "run"]
    if RELEASE:
        argv.append("XEN=" + RELEASE)
    t = Terminal(argv, dict(os.environ, TERM="xterm"))
    yield t
    t.close()
    try:
        os.waitpid(t.pid, 0)
    except ChildProcessError:
        pass


def test_make_run_session(term, tmp_path):
    t = term
    steps = first_steps()
    assert [s[0] for s in steps].count("sh") >= 1 and any(s[0] == "detach" for s in steps), steps

    # --- the first prompt -------------------------------------------------------------
    t.expect(b"make run: [3/3]", FIRST_PROMPT_S, "make run's boot step")
    m = t.expect(re.compile(rb"(\S*mpremote connect socket://127\.0\.0\.1:\d+)"), 60, "the printed mpremote command")
    mp_cmd = m.group(1).decode()
    t.expect(b"\n>>> ", 240, "the first prompt")
    m = t.expect(re.compile(rb"\[make run: ([0-9.]+) s from"), 10, "make run's time to the prompt")
    print("make run: %s s to the first >>> (this run)" % m.group(1).decode())
    t.expect(b">>> ", 10, "the prompt after the time")

    # --- control keys reach MicroPython ------------------------------------------------
    t.type(b"\x01")
    t.expect(b"raw REPL; CTRL-B to exit", 20, "Ctrl-A: the raw REPL")
    t.type(b"\x02")
    t.expect(b">>> ", 20, "Ctrl-B: back to the friendly REPL")
    t.type(b"while True: pass\r\r")
    time.sleep(1)
    t.type(b"\x03")
    t.expect(b"KeyboardInterrupt", 20, "Ctrl-C interrupts a loop")
    t.expect(b">>> ", 20, "the prompt after Ctrl-C")
    # a pasted 1 KB line arrives whole (one write, as a terminal pastes it; Xen keeps
    # only 128 bytes of dom0's serial input: make run paces what it forwards)
    os.write(t.fd, b"s = '" + b"0123456789" * 100 + b"'; print('pasted', len(s), s[-12:])\r")
    t.expect(b"pasted 1000 890123456789", 60, "a pasted 1 KB line in the friendly REPL")
    t.expect(b">>> ", 20, "the prompt after the pasted line")

    # --- the README's first steps, typed as printed ------------------------------------
    listings = []
    for kind, text, expected in steps:
        if kind == "py":
            t.type(text.encode() + b"\r")
            if text.startswith("xl.console("):
                t.expect(b"=== modxen demo guest", 120, "the demo guest's banner through " + text)
                t.expect(b"my name in xenstore: demo", 60, "the guest's name read from xenstore")
                t.expect(b"demo# ", 60, "the guest's shell prompt")
                continue
            out = t.expect(b"\n>>> ", 120, text)
            for want in expected:
                if want.startswith("created "):
                    assert re.search(r"created demo \(domain \d+\)", out), (text, out)
            if text.startswith("xl.list()"):
                listings.append([l.split()[0] for l in out.splitlines()[1:] if l.strip() and not l.startswith("Name")])
        elif kind == "sh":
            t.type(text.encode() + b"\r")
            for want in expected:
                t.expect(want.encode(), 30, "the guest's answer to %r" % text)
            t.expect(b"demo# ", 30, "the guest's prompt after %r" % text)
        else:
            t.type(b"\x1d")
            t.expect(b">>> ", 30, "Ctrl-] back to the dom0 REPL")
    assert len(listings) >= 2, listings
    assert "demo" in listings[0], listings
    assert listings[-1] == ["Domain-0"], "after xl.destroy: %r" % listings[-1]

    # --- mpremote on the same REPL -----------------------------------------------------
    mp = shlex.split(mp_cmd)
    if not os.path.isabs(mp[0]):
        mp[0] = str(ROOT / mp[0])

    def mpremote(*args, timeout=180):
        p = subprocess.run(mp + list(args), capture_output=True, text=True, timeout=timeout, cwd=str(tmp_path))
        assert p.returncode == 0, "mpremote %s: exit %d\n%s\n%s" % (args, p.returncode, p.stdout, p.stderr)
        return p.stdout

    out = mpremote("exec", "import _xen; print('xen', '%d.%d%s' % _xen.version(), _xen.BACKEND)")
    assert re.search(r"xen 4\.\d+\S* linux", out), out
    data = os.urandom(20 * 1024)
    src = tmp_path / "payload.bin"
    src.write_bytes(data)
    t1 = time.time()
    mpremote("fs", "cp", str(src), ":payload.bin", timeout=300)
    cp_s = time.time() - t1
    out = mpremote("exec", "import hashlib, binascii; f = open('payload.bin', 'rb'); "
                           "print('sha256', binascii.hexlify(hashlib.sha256(f.read()).digest()).decode())")
    assert "sha256 " + hashlib.sha256(data).hexdigest() in out, out
    script = tmp_path / "hello.py"
    script.write_text("import _xen\nprint('run in dom0:', len(_xen.domain_list()), 'domain(s)')\n")
    out = mpremote("run", str(script))
    assert "run in dom0: 1 domain(s)" in out, out
    print("mpremote fs cp of 20 KB: %.1f s" % cp_s)

    # --- quit QEMU ---------------------------------------------------------------------
    t.mark = len(t.out)
    os.write(t.fd, b"\x1cx")
    t.expect(b"QEMU: Terminated", 30, "Ctrl-\\ x quits QEMU")
    end = time.time() + 30
    while time.time() < end:
        pid, status = os.waitpid(t.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.2)
    else:
        pytest.fail("make run did not exit after QEMU quit", pytrace=False)
    print("make run session: %.0f s" % (time.time() - t.t0))
