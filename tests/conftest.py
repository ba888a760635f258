"""pytest drives the built firmware (tests/mpfirmware.py runs a folder's
mp/ modules in it). Shared by every capability folder under tests/: the
helper modules' path and the Xen releases the sim plays."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# tests/ itself, for helper modules shared by the folders (mpfirmware.py)
sys.path.insert(0, str(Path(__file__).resolve().parent))


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


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "releases(*names): run an ON_EVERY_RELEASE test on these releases only "
        "(a raw-ABI test whose oracle is the host's own Xen headers)")


def pytest_generate_tests(metafunc):
    if _on_every_release(metafunc.definition.fspath) and "xen_release" not in metafunc.fixturenames:
        metafunc.fixturenames.append("xen_release")
    if "xen_release" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("releases")
        releases = [r for r in SIM_RELEASES if only is None or r in only.args]
        assert releases, "releases marker names no release the sim plays: %r" % (only.args,)
        metafunc.parametrize("xen_release", releases, indirect=True, ids=lambda r: "xen" + r)


@pytest.fixture
def xen_release(request):
    """The release the sim acts as for this test (MODXEN_SIM_XEN, set by
    _sim_release below for every test that carries the parameter)."""
    return request.param


@pytest.fixture(autouse=True)
def _sim_release(request, monkeypatch):
    # A test of an ON_EVERY_RELEASE file need not name xen_release: the
    # parameter is on its call spec either way, and the environment is set
    # here (an indirect fixture only runs for tests that request it).
    spec = getattr(request.node, "callspec", None)
    release = spec.params.get("xen_release") if spec is not None else None
    if release is not None:
        monkeypatch.setenv("MODXEN_SIM_XEN", release)


# ---- the aarch64 firmware (the real-Xen tier and the real-Xen benchmarks) ----
@pytest.fixture(scope="session")
def aarch64_firmware():
    """The aarch64 firmware, built once for every release: (path, None) or (None, why)."""
    firmware = os.environ.get("MODXEN_AARCH64_FIRMWARE")   # a prebuilt one, else build it
    if firmware:
        return firmware, None
    try:
        build = subprocess.run(["make", "-C", str(ROOT), "firmware-aarch64"], capture_output=True,
                               text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return None, "make firmware-aarch64 timed out"
    if build.returncode != 0:
        return None, "make firmware-aarch64 failed:\n" + build.stdout[-3000:] + build.stderr[-3000:]
    return str(ROOT / "build" / "aarch64-linux" / "micropython"), None
