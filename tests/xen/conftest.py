# tests/xen/dom0 holds the scripts that run *inside* the Xen dom0 (MicroPython, busybox
# sh); pytest on the host must not collect them. test_realxen.py runs them.
import re

collect_ignore = ["dom0"]

# Each Xen release's own result: test_realxen.py's ids carry the release ([xen4.17-...]).
_counts = {}


def pytest_runtest_logreport(report):
    m = re.search(r"test_realxen\.py::\w+\[xen(\d+\.\d+)", report.nodeid)
    if not m or not (report.when == "call" or report.failed or report.skipped):
        return
    c = _counts.setdefault(m.group(1), {"passed": 0, "failed": 0, "skipped": 0})
    c["failed" if report.failed else "skipped" if report.skipped else "passed"] += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _counts:
        return
    seconds = getattr(config, "modxen_realxen_seconds", {})
    terminalreporter.section("real-Xen tier, per Xen release")
    for rel in sorted(_counts, key=lambda r: tuple(int(x) for x in r.split("."))):
        c = _counts[rel]
        t = " (run.sh %.0f s)" % seconds[rel] if rel in seconds else ""
        terminalreporter.write_line("Xen %s: %d passed, %d failed%s%s" % (
            rel, c["passed"], c["failed"], ", %d skipped" % c["skipped"] if c["skipped"] else "", t))
