"""Running MicroPython in the built host firmware, for every test folder.

A test's MicroPython code lives in its folder's `mp/` directory as ordinary
modules of functions (tests/xenstore/mp/ring_cases.py, ...), never in Python
strings. The one way to run it is

    from mpfirmware import mp
    result = mp("ring_cases.introduce_and_release", 3, b"page")

which starts a fresh firmware process (a fresh simulated hypervisor), imports
the module from the calling test's folder `mp/` (then tests/mp/, the shared
modules), calls the function with the arguments and returns what it returned,
through JSON (bytes round-trip; tuples come back as lists). An exception in
the firmware fails the test with the firmware's traceback (MicroPythonError);
scenarios that expect a refusal return `mptest.fails(f, ...)` instead.

The firmware is build/host/micropython (or $MODXEN_FIRMWARE) with its frozen
`xen` package; with MODXEN_PYLIB=1 the source tree's pylib/ replaces it (for a
firmware built without it). The sim's release comes from MODXEN_SIM_XEN in the
environment (the xen_release fixture sets it).

`run()` below is the process underneath, for the few tests that drive the
firmware's own command line (a REPL on a pty, `-m xen.tool`)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
FIRMWARE = Path(os.environ.get("MODXEN_FIRMWARE", ROOT / "build" / "host" / "micropython"))


class MicroPythonError(AssertionError):
    """The firmware exited non-zero (its traceback is in the message)."""


def need_firmware():
    if not FIRMWARE.is_file():
        pytest.fail("host firmware not built: %s (run `make host`)" % FIRMWARE, pytrace=False)


def mp_env(helpers=(), extra=None, drop=()):
    """The environment a firmware process runs in: the frozen `xen` (or
    pylib/), then the helper folders on MICROPYPATH."""
    e = dict(os.environ)
    path = [str(ROOT / "pylib") if os.environ.get("MODXEN_PYLIB") else ".frozen"]
    if isinstance(helpers, (str, Path)):
        helpers = [helpers]
    path += [str(h) for h in helpers]
    e["MICROPYPATH"] = ":".join(path)
    for k in drop:
        e.pop(k, None)
    if extra:
        e.update({k: str(v) for k, v in extra.items()})
    return e


def run(argv, *, helpers=(), env=None, drop=(), heap=None, timeout=60, cwd=None,
        input=None, expect_ok=True):
    """Run the firmware with argv (e.g. ["-m", "xen.tool", ...]); returns
    (stdout, stderr) as text. Fails with MicroPythonError on a non-zero exit
    when expect_ok, and on a zero exit when expect_ok is False."""
    need_firmware()
    cmd = [str(FIRMWARE)]
    if heap:
        cmd += ["-X", "heapsize=%s" % heap]
    p = subprocess.run(cmd + list(argv), capture_output=True, timeout=timeout, input=input,
                       env=mp_env(helpers, env, drop), cwd=str(cwd or ROOT))
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    if expect_ok and p.returncode != 0:
        raise MicroPythonError("firmware exited %d: %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                               % (p.returncode, " ".join(argv)[:200], out, err))
    if expect_ok is False and p.returncode == 0:
        raise MicroPythonError("firmware succeeded where a failure was expected\n" + out + err)
    return out, err


def _load_mptest():
    # The firmware's half of the call convention, imported here too: one
    # encoding of bytes for both sides (the module runs in CPython as is).
    import importlib.util
    spec = importlib.util.spec_from_file_location("mptest", TESTS / "mp" / "mptest.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


_mptest = _load_mptest()
_encode, _decode, MARK = _mptest.encode, _mptest.decode, _mptest.MARK


def _caller_mp_dir(depth):
    f = sys._getframe(depth + 1).f_globals.get("__file__")
    return Path(f).resolve().parent / "mp"


def mp(target, *args, heap=None, env=None, drop=(), timeout=60, helpers=None,
       cwd=None, stderr=False, **kwargs):
    """Call `module.function(*args, **kwargs)` of the calling test folder's
    mp/ directory in a fresh firmware process and return its result. With
    stderr=True return (result, stderr text) instead. heap (bytes), env
    (extra variables), drop (variables removed), cwd and timeout go to run();
    helpers (a folder or a list of them) replaces the caller's mp/ directory."""
    module, _, func = target.partition(".")
    if not module or not func:
        raise ValueError("mp() wants 'module.function', got %r" % target)
    if helpers is None:
        dirs = [_caller_mp_dir(1)]
    elif isinstance(helpers, (str, Path)):
        dirs = [helpers]
    else:
        dirs = list(helpers)
    dirs.append(TESTS / "mp")
    code = "import mptest\nmptest.main(%r, %r, %r, %r)\n" % (
        module, func, json.dumps(_encode(list(args))), json.dumps(_encode(kwargs)))
    out, err = run(["-c", code], helpers=dirs, env=env, drop=drop, heap=heap,
                   timeout=timeout, cwd=cwd)
    lines = [l for l in out.splitlines() if l.startswith(MARK)]
    if not lines:
        raise MicroPythonError("%s returned nothing\n--- stdout ---\n%s\n--- stderr ---\n%s"
                               % (target, out, err))
    r = _decode(json.loads(lines[-1][len(MARK):]))
    return (r, err) if stderr else r
