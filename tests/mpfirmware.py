"""Running snippets in the built host firmware, for the test folders whose
MicroPython code imports helper modules of their own (a folder's mp/ dir).

The firmware is build/host/micropython (or $MODXEN_FIRMWARE); it runs its
frozen `xen` package. With MODXEN_PYLIB=1 the source tree pylib/ replaces the
frozen package (for a firmware built without it)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = Path(os.environ.get("MODXEN_FIRMWARE", ROOT / "build" / "host" / "micropython"))
PRELUDE = "import json\ndef emit(o):\n    print('@@' + json.dumps(o))\n"


def mp_env(helpers=None, extra=None, drop=()):
    e = dict(os.environ)
    path = [str(ROOT / "pylib") if os.environ.get("MODXEN_PYLIB") else ".frozen"]
    if helpers is not None:
        path.append(str(helpers))
    e["MICROPYPATH"] = ":".join(path)
    for k in drop:
        e.pop(k, None)
    if extra:
        e.update(extra)
    return e


def need_firmware():
    if not FIRMWARE.is_file():
        pytest.fail("host firmware not built: %s (run `make host`)" % FIRMWARE, pytrace=False)


def run_mp(code, helpers=None, timeout=60, expect_ok=True, drop=()):
    """Run MicroPython code; returns (stdout, stderr). Asserts inside the
    code fail the test (non-zero exit) unless expect_ok is false."""
    need_firmware()
    p = subprocess.run([str(FIRMWARE), "-c", code], capture_output=True,
                       timeout=timeout, env=mp_env(helpers, drop=drop), cwd=str(ROOT))
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    if expect_ok:
        assert p.returncode == 0, "micropython failed (%d)\n--- code ---\n%s\n--- out ---\n%s\n--- err ---\n%s" % (
            p.returncode, code, out, err)
    return out, err


def mp_json(code, helpers=None, **kw):
    """Run code that ends with emit(obj); returns (obj, stderr)."""
    out, err = run_mp(PRELUDE + code, helpers, **kw)
    lines = [l for l in out.splitlines() if l.startswith("@@")]
    assert lines, "no result emitted:\n" + out + err
    return json.loads(lines[-1][2:]), err
