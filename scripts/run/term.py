"""make run's terminal (scripts/run/run.sh): runs QEMU on a pseudo-terminal of its own
and relays between it and the user's terminal.
    term.py T0 TIMES RELEASE -- QEMU-COMMAND...
T0: `date +%s.%N` when make run started ('' = none); TIMES: a file that gets one line
per run with the time from make run to the first ">>> " (the dom0 REPL's prompt), which
is also shown on the terminal.

Input is paced: Xen keeps only 128 bytes of serial input for dom0 (SERIAL_RX_SIZE in
xen/drivers/char/console.c) and QEMU's UART feeds it as fast as it can, so a pasted
line longer than that lost its middle whenever dom0 was not scheduled at once. So at
most WINDOW (64) bytes are in flight: a byte counts as taken once as many bytes of
output have come back (the REPL and a guest's shell echo what they read, and dom0
reads it out of Xen's buffer first), or once SLOW (0.25 s) has passed since the last
send, for input that nothing echoes (the raw REPL). Typed keys go out at once.
Everything else is QEMU's: its stdio is this pseudo-terminal (raw, no signals), and
its escape key Ctrl-\\ works as usual (Ctrl-\\ x quits)."""
import os
import pty
import select
import signal
import sys
import termios
import time
import tty

t0 = float(sys.argv[1]) if sys.argv[1] else None
times, rel = sys.argv[2], sys.argv[3]
assert sys.argv[4] == "--"
qemu = sys.argv[5:]
WINDOW = 64
SLOW = 0.25

pid, master = pty.fork()
if pid == 0:
    os.execvp(qemu[0], qemu)

saved = None
interactive = os.isatty(0)
if interactive:
    saved = termios.tcgetattr(0)
    tty.setraw(0)


class Gone(Exception):
    pass


def gone(signum, frame):
    raise Gone()


# The terminal hung up (or make was stopped): QEMU goes too, never left behind.
for sig in (signal.SIGHUP, signal.SIGTERM):
    signal.signal(sig, gone)


def out(data):
    while data:
        n = os.write(1, data)
        data = data[n:]


pending = b""
sent_at = 0.0          # when input last went out
unacked = 0            # input bytes not yet matched by output
tail = b""
seen = False
stdin_open = True
try:
    while True:
        now = time.monotonic()
        if now - sent_at >= SLOW:
            unacked = 0
        n = min(len(pending), WINDOW - unacked)
        if n > 0:
            os.write(master, pending[:n])
            pending = pending[n:]
            sent_at = now
            unacked += n
        wait = None if not pending else max(0.001, SLOW - (now - sent_at))
        rl = [master] + ([0] if stdin_open and len(pending) < 65536 else [])
        r, _, _ = select.select(rl, [], [], wait)
        if 0 in r:
            try:
                data = os.read(0, 4096)
            except OSError:
                data = b""
            if data:
                pending += data
            elif interactive:
                raise Gone()      # the terminal is gone
            else:
                stdin_open = False
        if master in r:
            try:
                data = os.read(master, 65536)
            except OSError:   # EIO: QEMU has exited
                data = b""
            if not data:
                break
            unacked = max(0, unacked - len(data))
            out(data)
            if not seen:
                i = (tail + data).find(b">>> ")
                tail = (tail + data)[-3:]
                if i >= 0:
                    seen = True
                    if t0 is not None:
                        dt = time.time() - t0
                        out(b"\r\n[make run: %.1f s from `make run` to this prompt (Xen %s)]\r\n>>> "
                            % (dt, rel.encode()))
                        try:
                            with open(times, "a") as f:
                                f.write("%s xen=%s to_prompt_s=%.1f\n"
                                        % (time.strftime("%Y-%m-%dT%H:%M:%S"), rel, dt))
                        except OSError:
                            pass
except (Gone, OSError):
    os.kill(pid, signal.SIGTERM)
finally:
    if saved is not None:
        try:
            termios.tcsetattr(0, termios.TCSAFLUSH, saved)
        except termios.error:
            pass
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8)
