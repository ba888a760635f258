# Helpers for the domain-builder tests: run snippets on the MicroPython firmware
# with the source tree's `xen` package, and read Xen's public headers for the
# Arm guest constants (the oracle the firmware's values are checked against).
import json
import os
import re
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PYLIB = os.path.join(ROOT, "pylib")


def firmware():
    fw = os.environ.get("MODXEN_FIRMWARE") or os.path.join(ROOT, "build/host/micropython")
    if not os.path.exists(fw):
        pytest.fail("no firmware: run `make host` first")
    return fw


class MPError(Exception):
    pass


def frozen_firmware():
    """The firmware with `xen` frozen in, as on a board (bytecode not in the heap)."""
    return firmware()


def run(code, heap=None, timeout=60, cwd=None, frozen=False):
    """Run `code` on the firmware (its frozen `xen` package); return stdout.
    Raise MPError with stderr on failure."""
    cmd = [firmware()]
    if heap:
        cmd += ["-X", "heapsize=" + str(heap)]
    cmd += ["-c", code]
    env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if p.returncode != 0:
        raise MPError((p.stdout + p.stderr).strip())
    return p.stdout


def mpj(code, **kw):
    """Run `code`, which must leave its result in R; return R decoded from JSON."""
    out = run(code + "\nimport json\nprint('@@' + json.dumps(R))\n", **kw)
    line = [l for l in out.splitlines() if l.startswith("@@")]
    assert line, out
    return json.loads(line[-1][2:])


def mp_exc(code, **kw):
    """Run `code` expecting an exception; return (type name, message)."""
    wrapped = (
        "try:\n"
        + "".join("    " + l + "\n" for l in code.splitlines())
        + "    R = None\n"
        "except Exception as e:\n"
        "    R = [type(e).__name__, str(e), [c.__name__ for c in type(e).__mro__] if hasattr(type(e), '__mro__') else []]\n"
    )
    r = mpj(wrapped, **kw)
    assert r is not None, "no exception raised"
    return r[0], r[1]


_DEF = re.compile(r"^#define\s+(GUEST_\w+|PSR_GUEST64_INIT|SCTLR_GUEST_INIT|_?VGCF_online|PSR_\w+)\s+(.*?)\s*(/\*.*)?$")


def _header_consts():
    vals = {}
    for h in ("/usr/include/xen/arch-arm.h", "/usr/include/xen/device_tree_defs.h"):
        if not os.path.exists(h):
            continue
        for line in open(h):
            m = _DEF.match(line.strip())
            if not m:
                continue
            expr = re.sub(r"xen_mk_ullong\((\w+)\)", r"\1", m.group(2))
            expr = expr.replace("|", " | ")
            try:
                vals[m.group(1)] = eval(expr, {}, dict(vals))
            except Exception:
                pass
    return vals


@pytest.fixture(scope="session")
def xen_consts():
    """Arm guest constants read from Xen's installed public headers (libxen-dev)."""
    v = _header_consts()
    if "GUEST_RAM0_BASE" not in v:
        pytest.fail("Xen public headers (libxen-dev) not installed", pytrace=False)
    return v


def consts_literal(d):
    return repr({k: v for k, v in d.items() if not k.startswith("_")})


class _MP:
    run = staticmethod(run)
    j = staticmethod(mpj)
    exc = staticmethod(mp_exc)
    Error = MPError


@pytest.fixture(scope="session")
def dmp():
    """Firmware runner for the source tree's xen.domain: dmp.run(code), dmp.j(code
    setting R), dmp.exc(code raising) -> (type name, message)."""
    return _MP
