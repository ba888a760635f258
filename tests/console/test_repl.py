"""The dom0 REPL (`micropython -m xen.repl PATH`) driven by mpremote from
PyPI exactly as a board, without `resume`, and by a raw pty client. The
guests the REPL starts are mp/repl_guests.py's."""
import os
import subprocess
import time

from consolelib import FIRMWARE, Pty, ROOT, mp_env


def test_exec_and_eval(repl):
    assert repl.mpremote("exec", "print('sum', 6 * 7)").strip() == "sum 42"
    assert repl.mpremote("eval", "[2 ** 10, 'x' * 3]").strip() == "[1024, 'xxx']"
    out = repl.mpremote("exec", "import sys; print(sys.platform, sys.implementation.name)")
    assert out.split() == ["linux", "micropython"]


def test_exec_error_is_reported(repl):
    out = repl.mpremote("exec", "raise ValueError('boom from the board')", ok=False)
    assert "ValueError: boom from the board" in out
    assert repl.mpremote("eval", "1+1").strip() == "2"     # and the REPL is fine


def test_run_script(repl, workdir):
    (workdir / "script.py").write_text(
        "import sys\nfor i in range(3):\n    print('line', i)\nprint(__name__)\n")
    out = repl.mpremote("run", "script.py")
    assert out.split("\n")[:4] == ["line 0", "line 1", "line 2", "__main__"]


def test_fs_cp_both_ways_cat_ls_rm(repl, workdir):
    blob = os.urandom(20000) + b"\n\r\x00\x03\x04\x1d" * 100
    (workdir / "blob.bin").write_bytes(blob)
    (workdir / "note.txt").write_text("hello flash\n")
    repl.mpremote("fs", "cp", "blob.bin", ":blob.bin")
    repl.mpremote("fs", "cp", "note.txt", ":note.txt")
    assert (repl.root / "blob.bin").read_bytes() == blob      # it landed in --root
    repl.mpremote("fs", "cp", ":blob.bin", "back.bin")
    assert (workdir / "back.bin").read_bytes() == blob
    assert repl.mpremote("fs", "cat", ":note.txt") == "hello flash\n"
    ls = repl.mpremote("fs", "ls")
    sizes = {l.split()[1]: int(l.split()[0]) for l in ls.splitlines()[1:] if l.strip()}
    assert sizes == {"blob.bin": len(blob), "note.txt": 12}
    repl.mpremote("fs", "mkdir", ":d", "+", "fs", "cp", "note.txt", ":d/n2.txt")
    assert "n2.txt" in repl.mpremote("fs", "ls", ":d")
    repl.mpremote("fs", "rm", ":note.txt")
    assert "note.txt" not in repl.mpremote("fs", "ls")
    assert not (repl.root / "note.txt").exists()


def test_mount_and_import(repl, workdir):
    src = workdir / "proj"
    (src / "pkg").mkdir(parents=True)
    (src / "mod.py").write_text("VALUE = 1234\nprint('mod loaded')\n")
    (src / "pkg" / "__init__.py").write_text("from .inner import f\n")
    (src / "pkg" / "inner.py").write_text("def f():\n    return 'inner ok'\n")
    out = repl.mpremote("mount", ".", "exec", "import mod, pkg; print(mod.VALUE, pkg.f())", cwd=src)
    assert "mod loaded" in out and "1234 inner ok" in out
    # after the session the mount is gone and the module forgotten
    out = repl.mpremote("exec", "import vfs, sys; print([m[1] for m in vfs.mount()], 'mod' in sys.modules)")
    assert "/remote" not in out and out.strip().endswith("False")


def test_sessions_in_a_row_soft_reset(repl):
    repl.mpremote("exec", "leftover = 41; import sys; sys.path.append('/nowhere')")
    for i in range(4):
        out = repl.mpremote("exec", "print('leftover' in globals(), '/nowhere' in __import__('sys').path)")
        assert out.strip() == "False False"
    # several commands in one session share it (one soft reset at the start)
    out = repl.mpremote("exec", "k = 5", "+", "eval", "k * 2")
    assert out.strip() == "10"
    assert repl.alive()


def test_ctrl_c_interrupts_running_loop(repl):
    # a busy loop and a sleeping loop left running; the next mpremote
    # session interrupts them with Ctrl-C and gets its raw REPL
    for loop in ("while True:\n pass", "import time\nwhile True:\n time.sleep(0.5)"):
        repl.mpremote("exec", "--no-follow", loop)
        time.sleep(0.3)
        t = time.time()
        assert repl.mpremote("exec", "print('back')", timeout=20).strip() == "back"
        assert time.time() - t < 8


def test_ctrl_c_traceback_on_the_pty(repl):
    c = Pty(repl.tty)
    try:
        c.raw_exec("n = 0\nwhile True:\n    n += 1\n")
        time.sleep(0.3)
        c.send(b"\x03")
        out = c.expect(b"\x04", 10)                     # end of normal output
        err = c.expect(b"\x04", 10)                     # the error output
        assert b"KeyboardInterrupt" in err and out == b"\x04"
        c.send(b"print(n > 1000)\x04")
        assert c.expect(b"\x04>", 10).endswith(b"True\n\x04\x04>")
        # Ctrl-C while idle is just a key: the raw REPL is still there
        c.send(b"\x03")
        c.send(b"print('idle ok')\x04")
        assert b"idle ok" in c.expect(b"\x04>", 10)
    finally:
        c.close()


def test_friendly_repl_and_soft_reboot_banner(repl):
    c = Pty(repl.tty)
    try:
        c.send(b"\r\x03\x02")                           # Ctrl-B: friendly REPL banner
        c.expect(b"MicroPython")
        c.expect(b">>> ")
        c.send(b"x = 6 * 7\rx\r")
        assert b"42" in c.expect(b"42")
        c.send(b"for i in range(2):\r")                 # continuation lines
        c.expect(b"... ")
        c.send(b"print('it', i)\r\r\r\r")              # Enter until the indent is gone
        c.expect(b"it 1")
        c.expect(b">>> ")
        c.send(b"\x04")                                 # soft reset
        c.expect(b"MPY: soft reboot\r\n")
        c.expect(b">>> ")
        c.send(b"'x' in globals()\r")
        assert b"False" in c.expect(b">>> ")
    finally:
        c.close()


def test_services_run_while_idle_and_busy(repl):
    # a sim guest writes from a thread; only dom0's drains make room in its
    # 2048-byte ring, so a total far beyond that proves the service ran
    domid = int(repl.mpremote("exec", "import repl_guests; print(repl_guests.chatty(backlog=100))").strip())
    probe = "import xen.console as xc; print(xc.get(%d).total)" % domid
    # idle: mpremote's own `sleep` keeps the device REPL waiting for input
    out = repl.mpremote("exec", probe, "+", "sleep", "1", "+", "exec", probe)
    a, b = [int(x) for x in out.split()]
    assert b - a > 20000, (a, b)
    # busy: a Python loop in the REPL
    out = repl.mpremote("exec", probe + "\nimport time\nt = time.ticks_ms()\n"
                        "while time.ticks_diff(time.ticks_ms(), t) < 1000:\n    pass\n" + probe)
    a, b = [int(x) for x in out.split()]
    assert b - a > 20000, (a, b)


def test_stdio_mode_for_make_run(workdir):
    # `-m xen.repl -`: the REPL on the process's own terminal (here a pipe)
    p = subprocess.run([str(FIRMWARE), "-m", "xen.repl", "-", "--root", str(workdir / "flash")],
                       input=b"print(6 * 7)\rx = 1\r\x04'x' in globals()\r",
                       capture_output=True, timeout=30, env=mp_env(), cwd=str(ROOT))
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode(errors="replace")
    assert "MicroPython" in out and "42" in out
    assert "MPY: soft reboot" in out and "False" in out


def test_attach_and_detach_through_the_pty(repl):
    c = Pty(repl.tty)
    try:
        c.raw_exec("import repl_guests\nrepl_guests.attach_echo()\n")
        c.expect(b"replay-me\n")                  # the backlog first
        time.sleep(0.2)
        c.send(b"hello")
        c.expect(b"<HELLO>")                      # input to the guest, its echo live
        c.send(b"\x03")                           # Ctrl-C belongs to the guest while attached
        c.expect(b"<\x03>")
        time.sleep(0.3)                           # the other console keeps draining meanwhile
        c.send(b"\x1d")                           # Ctrl-] detaches
        out = c.expect(b"\x04", 10)
        assert b"detached True 1" in out
        err = c.expect(b"\x04", 10)
        assert err == b"\x04"
        # the REPL is back and Ctrl-C interrupts code again
        c.expect(b">")
        c.send(b"while True:\n    pass\n\x04")
        c.expect(b"OK")
        time.sleep(0.2)
        c.send(b"\x03")
        c.expect(b"\x04")
        assert b"KeyboardInterrupt" in c.expect(b"\x04", 10)
    finally:
        c.close()


def test_boot_file_runs_once_and_its_services_outlive_soft_reset(workdir):
    boot = workdir / "boot.py"
    boot.write_text("import xen\nxen.boot_runs = getattr(xen, 'boot_runs', 0) + 1\nprint('boot ran')\n")
    p = subprocess.run([str(FIRMWARE), "-m", "xen.repl", "-", "--root", str(workdir / "flash"),
                        "--boot", str(boot)],
                       input=b"\x04\x04import xen\rprint('runs', xen.boot_runs)\r",
                       capture_output=True, timeout=30, env=mp_env(), cwd=str(ROOT))
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode(errors="replace")
    assert out.count("boot ran") == 1 and out.count("MPY: soft reboot") >= 2
    assert "runs 1" in out
