"""The real-Xen tier: boot Debian's Xen 4.17 (arm64) under QEMU with a Linux dom0 that
has no Xen toolstack, run tests/xen/dom0 there with the aarch64 firmware and check every
case's result. One boot serves the whole module. Nothing is skipped: a missing tool, a
failed download, a QEMU timeout or a missing result fails the tests."""
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DOM0 = ROOT / "tests" / "xen" / "dom0"
OUT = ROOT / "build" / "xen-qemu" / "pytest"
LIMIT = int(os.environ.get("MODXEN_XEN_TIER_TIMEOUT", "300"))   # seconds per QEMU boot


def boots():
    """scripts/xen-qemu/run.sh boots once per "# xen-boot: NAME" tag (default: default)."""
    tags = set()
    for f in DOM0.glob("test_*"):
        m = re.search(r"^# xen-boot: *([a-z0-9_-]+)", "\n".join(f.read_text().splitlines()[:10]), re.M)
        tags.add(m.group(1) if m else "default")
    return tags


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


@pytest.fixture(scope="module")
def realxen():
    """Build the aarch64 firmware, boot, return {case: (status, detail)} and the log."""
    OUT.mkdir(parents=True, exist_ok=True)
    firmware = os.environ.get("MODXEN_AARCH64_FIRMWARE")   # a prebuilt one, else build it
    if not firmware:
        firmware = str(ROOT / "build" / "aarch64-linux" / "micropython")
        try:
            build = subprocess.run(["make", "-C", str(ROOT), "firmware-aarch64"], capture_output=True,
                                   text=True, timeout=900)
        except subprocess.TimeoutExpired:
            pytest.fail("make firmware-aarch64 timed out", pytrace=False)
        if build.returncode != 0:
            pytest.fail("make firmware-aarch64 failed:\n" + build.stdout[-3000:] + build.stderr[-3000:],
                        pytrace=False)
    started = time.time() - 1
    try:
        run = subprocess.run(["bash", str(ROOT / "scripts" / "xen-qemu" / "run.sh"), "--out", str(OUT),
                              "--timeout", str(LIMIT), "--firmware", firmware],
                             capture_output=True, text=True, timeout=len(boots()) * LIMIT + 300)
    except subprocess.TimeoutExpired:
        pytest.fail("scripts/xen-qemu/run.sh did not finish", pytrace=False)
    log = run.stdout + run.stderr
    summary = OUT / "summary.txt"
    # A boot that fails part-way still leaves its per-case results (and a
    # "<boot:NAME>::<run>" failure): every case is then reported on its own.
    if not summary.is_file() or summary.stat().st_mtime < started or not summary.read_text().strip():
        pytest.fail("real-Xen boot failed (exit %d):\n%s" % (run.returncode, log[-6000:]), pytrace=False)
    print(log)
    results = {}
    for line in summary.read_text().splitlines():
        status, _, rest = line.partition(" ")
        case, _, detail = rest.partition(" ")
        if case.endswith(":"):
            case = case[:-1]
        results.setdefault(case, []).append((status, detail))
    return results, log


@pytest.mark.parametrize("case", expected_cases())
def test_dom0_case(realxen, case):
    results, log = realxen
    if case.endswith("::*"):
        script = case[:-1]
        mine = {c: r for c, r in results.items() if c.startswith(script)}
        assert mine, "%s reported nothing\n%s" % (script, log[-2000:])
        bad = {c: r for c, r in mine.items() if any(s != "PASS" for s, _ in r)}
        assert not bad, bad
        return
    assert case in results, "no result for %s\n%s" % (case, log[-2000:])
    assert all(s == "PASS" for s, _ in results[case]), results[case]


def test_no_unexpected_failures(realxen):
    """Crashes and timeouts of whole scripts are reported as <run> cases."""
    results, log = realxen
    bad = {c: r for c, r in results.items() if any(s != "PASS" for s, _ in r)}
    assert not bad, "%s\n%s" % (bad, log[-2000:])
