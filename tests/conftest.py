"""pytest drives the built firmware: it runs MicroPython code in it and reads
what the code prints. Shared by every capability folder under tests/."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# tests/ itself, for helper modules shared by the folders (mpfirmware.py)
sys.path.insert(0, str(Path(__file__).resolve().parent))
FIRMWARE = Path(os.environ.get("MODXEN_FIRMWARE", ROOT / "build" / "host" / "micropython"))


class MicroPythonError(AssertionError):
    pass


class Firmware:
    """Runs snippets in the host firmware, one fresh process per call."""

    def __init__(self, path):
        self.path = Path(path)

    def run(self, code, *, timeout=60, expect_ok=True, env=None, args=()):
        e = dict(os.environ)
        e.pop("MICROPYPATH", None)  # the frozen package, not a source tree
        if env:
            e.update(env)
        p = subprocess.run(
            [str(self.path), *args, "-c", code],
            capture_output=True, timeout=timeout, env=e, cwd=str(ROOT),
        )
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        if expect_ok and p.returncode != 0:
            raise MicroPythonError(
                "firmware exited %d\n--- code ---\n%s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (p.returncode, code, out, err))
        if not expect_ok and p.returncode == 0:
            raise MicroPythonError("firmware succeeded but a failure was expected\n" + out)
        return out if expect_ok else out + err

    def json(self, code, **kw):
        """Run code whose last printed line is JSON (use `emit(obj)`)."""
        prelude = "import json\ndef emit(o):\n    print('@@' + json.dumps(o))\n"
        out = self.run(prelude + code, **kw)
        lines = [l for l in out.splitlines() if l.startswith("@@")]
        if not lines:
            raise MicroPythonError("no result emitted; output was:\n" + out)
        return json.loads(lines[-1][2:])


@pytest.fixture(scope="session")
def firmware():
    if not FIRMWARE.is_file():
        pytest.fail("host firmware not built: %s (run `make host`)" % FIRMWARE, pytrace=False)
    return Firmware(FIRMWARE)


@pytest.fixture(scope="session")
def mp(firmware):
    return firmware


# ---- Xen releases on the sim -------------------------------------------------
# The sim acts as the release MODXEN_SIM_XEN names (its interface versions,
# layouts and behaviour). These test files run once per release; the rest of
# the suite runs on the sim's default (4.17). A new release is a row in
# modxen/abi.c, one in modxen/backends/sim_release.c, and its name here.
SIM_RELEASES = ("4.17", "4.18", "4.20", "4.21", "4.22")
ON_EVERY_RELEASE = (
    "tests/domain/test_domain_create.py",     # domain_create and the lifecycle
    "tests/domain/test_domain_pipeline.py",
    "tests/domain/test_domain_last_words.py",  # consoles of dying domains
    "tests/domain/test_domain_dom0less.py",    # boot-time domains, adopted
    "tests/host/test_sim_domain.py",          # the domain domctls
    "tests/xenstore/test_ring.py",            # introduce, release, rings
    "tests/host/test_releases.py",
)


def _on_every_release(path):
    rel = Path(str(path)).resolve().relative_to(ROOT).as_posix()
    return rel in ON_EVERY_RELEASE


def pytest_generate_tests(metafunc):
    if _on_every_release(metafunc.definition.fspath) and "xen_release" not in metafunc.fixturenames:
        metafunc.fixturenames.append("xen_release")
    if "xen_release" in metafunc.fixturenames:
        metafunc.parametrize("xen_release", SIM_RELEASES, indirect=True, ids=lambda r: "xen" + r)


@pytest.fixture
def xen_release(request, monkeypatch):
    """The release the sim acts as for this test (MODXEN_SIM_XEN)."""
    monkeypatch.setenv("MODXEN_SIM_XEN", request.param)
    return request.param
