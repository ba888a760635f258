"""The real-Xen tier: boot Debian's Xen (arm64) under QEMU with a Linux dom0 that has no
Xen toolstack, run tests/xen/dom0 there with the aarch64 firmware and check every case's
result. Every case runs on each Xen release: 4.17 (bookworm's xen-hypervisor-4.17-arm64)
and 4.20 (trixie's xen-hypervisor-4.20-arm64), test ids [xen4.17-...] and [xen4.20-...];
MODXEN_XEN_RELEASES="4.20" runs one. One run of scripts/xen-qemu/run.sh (one QEMU boot
per "# xen-boot:" tag) serves a release. Nothing is skipped: a missing tool, a failed
download, a QEMU timeout, a missing result or a hypervisor whose banner names another
release fails the tests."""
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DOM0 = ROOT / "tests" / "xen" / "dom0"
OUT = ROOT / "build" / "xen-qemu" / "pytest"     # run.sh writes OUT/xen-<release>
LIMIT = int(os.environ.get("MODXEN_XEN_TIER_TIMEOUT", "300"))   # seconds per QEMU boot
RELEASES = os.environ.get("MODXEN_XEN_RELEASES", "4.17 4.20").split()


def boots():
    """scripts/xen-qemu/run.sh boots once per "# xen-boot: NAME" tag (default: default)."""
    tags = set()
    for f in DOM0.glob("test_*"):
        m = re.search(r"^# xen-boot: *([a-z0-9_-]+)", "\n".join(f.read_text().splitlines()[:10]), re.M)
        tags.add(m.group(1) if m else "default")
    return sorted(tags)


def expected_cases():
    """Every case the dom0 scripts must report, read from their source."""
    cases = []
    for f in sorted(DOM0.glob("test_*.py")):
        text = f.read_text()
        cases += ["%s::%s" % (f.name, n) for n in re.findall(r"^def (test_\w+)\(", text, re.M)]
        cases += ["%s::%s" % (f.name, n) for n in re.findall(r'print\("CONSOLE (\w+)', text)]
    for f in sorted(DOM0.glob("test_*.sh")):
        cases.append("%s::*" % f.name)
    return cases


class Run:
    """One release's run: {case: [(status, detail)]}, run.sh's output, or why it failed."""

    def __init__(self, release):
        self.release = release
        self.out = OUT / ("xen-" + release)
        self.results = {}
        self.log = ""
        self.error = None
        self.reported = False

    def require(self):
        """Fail (never skip) every test of a release whose run did not happen."""
        if self.error:
            if self.reported:
                pytest.fail("real-Xen %s run failed (log in the first failure of this release)" % self.release,
                            pytrace=False)
            self.reported = True
            pytest.fail("real-Xen %s run failed: %s" % (self.release, self.error), pytrace=False)
        return self.results, self.log


@pytest.fixture(scope="module", params=RELEASES, ids=["xen" + r for r in RELEASES])
def realxen(request, aarch64_firmware):
    """Boot the release's hypervisor, return its Run."""
    run = Run(request.param)
    firmware, run.error = aarch64_firmware
    if run.error:
        return run
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.time() - 1
    try:
        p = subprocess.run(["bash", str(ROOT / "scripts" / "xen-qemu" / "run.sh"), "--xen", run.release,
                            "--out", str(OUT), "--timeout", str(LIMIT), "--firmware", firmware],
                           capture_output=True, text=True, timeout=len(boots()) * LIMIT + 300)
    except subprocess.TimeoutExpired:
        run.error = "scripts/xen-qemu/run.sh --xen %s did not finish" % run.release
        return run
    seconds = time.time() - started
    # per-release times and counts for the terminal summary (tests/xen/conftest.py)
    request.config.__dict__.setdefault("modxen_realxen_seconds", {})[run.release] = seconds
    run.log = p.stdout + p.stderr
    summary = run.out / "summary.txt"
    # A boot that fails part-way still leaves its per-case results (and a
    # "<boot:NAME>::<run>" failure): every case is then reported on its own.
    if not summary.is_file() or summary.stat().st_mtime < started or not summary.read_text().strip():
        run.error = "scripts/xen-qemu/run.sh --xen %s exited %d without results:\n%s" % (
            run.release, p.returncode, run.log[-6000:])
        return run
    print(run.log)
    for line in summary.read_text().splitlines():
        status, _, rest = line.partition(" ")
        case, _, detail = rest.partition(" ")
        if case.endswith(":"):
            case = case[:-1]
        run.results.setdefault(case, []).append((status, detail))
    return run


@pytest.mark.parametrize("case", expected_cases())
def test_dom0_case(realxen, case):
    results, log = realxen.require()
    if case.endswith("::*"):
        script = case[:-1]
        mine = {c: r for c, r in results.items() if c.startswith(script)}
        assert mine, "%s reported nothing\n%s" % (script, log[-2000:])
        bad = {c: r for c, r in mine.items() if any(s != "PASS" for s, _ in r)}
        assert not bad, bad
        return
    assert case in results, "no result for %s\n%s" % (case, log[-2000:])
    assert all(s == "PASS" for s, _ in results[case]), results[case]


@pytest.mark.parametrize("boot", boots())
def test_booted_xen_version(realxen, boot):
    """The hypervisor that booted is the release asked for: its banner on the console,
    "(XEN) Xen version 4.20.5-pre (Debian 4.20.4+...)", names that release."""
    realxen.require()
    console = realxen.out / ("console-%s.log" % boot)
    assert console.is_file(), "no console log %s" % console
    m = re.search(r"Xen version (\d+)\.(\d+)(\S*) \(([^)]*)\)", console.read_text(errors="replace"))
    assert m, "no Xen banner in %s" % console
    assert "%s.%s" % m.group(1, 2) == realxen.release, \
        "asked for Xen %s, booted %s" % (realxen.release, m.group(0))
    print("boot %s: %s" % (boot, m.group(0)))


def test_no_unexpected_failures(realxen):
    """Crashes and timeouts of whole scripts are reported as <run> cases."""
    results, log = realxen.require()
    bad = {c: r for c, r in results.items() if any(s != "PASS" for s, _ in r)}
    assert not bad, "%s\n%s" % (bad, log[-2000:])
