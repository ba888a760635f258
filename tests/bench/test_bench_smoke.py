"""Every benchmark in bench/ still runs.

`make bench` runs them in full; here each runs in its --smoke mode and must
exit 0 and write its JSON with every field below. No figure is judged: on a
shared machine a timing says nothing. The sim benchmarks take about a second
each; bench/realxen.py and bench/realxen-xs.py boot Debian's Xen under QEMU
with their own dom0 (one build per phase, ten requests of each kind: about a
minute and a half each), on one release (SMOKE_RELEASE): their code is the
same for every release, which the real-Xen tier covers."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mpfirmware import need_firmware

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

NUM = "number"
NUM_OR_NONE = "number or None"  # a ratio whose divisor can round to 0
NUMS = "list of numbers"         # one per pair of runs
SIDE = {k: NUM for k in ("ours", "cxenstored", "ours_median", "cxenstored_median")}
SIDE.update({"ratio": NUM_OR_NONE, "ratio_median": NUM_OR_NONE})

# The fields of each benchmark's JSON: what docs and readers rely on.
FIELDS = {
    "xenstore": {
        "iterations": NUM, "mix_ops": NUM, "rounds": NUM, "method": str, "smoke": bool,
        "test_xenstore_rc": {"ours": NUM, "cxenstored": NUM},
        "test_xenstore_ns": {k: SIDE for k in (
            "read 1", "read 2000", "write 1", "write 2000", "dir", "rm node", "rm dir",
            "ta empty", "ta empty x", "ta rmw", "ta rmw x", "ta err")},
        "mix_us_per_op": {k: SIDE for k in ("read", "write", "directory", "transaction")},
        "memory": {k: NUM for k in (
            "cxenstored_rss_kb_before", "cxenstored_rss_kb_after", "cxenstored_rss_bytes_per_node",
            "ours_heap_bytes", "ours_nodes", "ours_heap_bytes_per_node")},
        "ratio_geomean": NUM_OR_NONE, "ratio_geomean_median": NUM_OR_NONE,
    },
    "domain": {
        "create_ms_median": NUM, "create_ms_p90": NUM, "creates": NUM, "image_bytes": NUM,
        "image_load_MBps": NUM, "memcpy_MBps": NUM, "heap_bytes_per_domain": NUM,
        "image_load_vs_memcpy": NUM, "smoke": bool,
        "targets": {"create_ms_median": str, "image_load_vs_memcpy": str},
    },
    "console": {
        "drain_MBps": NUM, "drain_ratio_to_memcpy": NUM, "drain_loop_c_MBps": NUM,
        "drain_loop_python_MBps": NUM, "drain_loop_c_over_python": NUM, "notify_us": NUM,
        "memcpy_MBps": NUM, "flood_end_to_end_MBps": NUM, "latency_us_median": NUM,
        "latency_us_p99": NUM, "latency_samples": NUM, "heap_per_console_bytes": NUM,
        "default_backlog_bytes": NUM, "rounds": NUM, "smoke": bool,
    },
}
# The real-Xen ones, run by `make bench-xen` in full.
KINDS = ("read", "write", "directory", "transaction")
XS_SIDE = {"runs": NUM, "idle_dom0_cpu_pct": NUM}
XS_SIDE.update({k: {f: NUM for f in ("median_us", "p10_us", "mean_us", "p90_us")} for k in KINDS})
XEN_FIELDS = {
    "realxen": {
        "what": str, "target": NUM, "runs_per_phase": NUM, "smoke": bool,
        "releases": {"*": {
            "xen": str, "target_met": bool,
            "ours": {k: NUM for k in ("create_ms", "first_output_ms", "guest_up_ms", "runs")},
            "xl": {k: NUM for k in ("create_ms", "first_output_ms", "guest_up_ms", "runs")},
            "ratio_xl_over_ours": {k: NUM for k in ("create_ms", "first_output_ms", "guest_up_ms")},
        }},
    },
    "realxen-xs": {
        "what": str, "n": NUM, "smoke": bool,
        "releases": {"*": {
            "xen": str, "host": {"steal_pct": NUM_OR_NONE},
            "summary": {side: XS_SIDE for side in ("ours", "cxenstored", "oxenstored")},
            "ratios": {side: dict({k: {"latency": NUM, "latency_p10": NUM, "dom0_cpu": NUM_OR_NONE,
                                       "latency_pairs": NUMS, "latency_p10_pairs": NUMS}
                                   for k in KINDS}, mean_latency=NUM, mean_latency_p10=NUM)
                       for side in ("cxenstored", "oxenstored")},
            "profile_ours": {"wall": {f: NUM for f in (
                "requests", "events_per_request", "callback_wall_us_per_request",
                "ring_wall_us_per_request", "store_wall_us_per_request")}},
        }},
    },
}
SMOKE_RELEASE = "4.20"


def missing(want, got, where=""):
    """The fields of `want` that `got` lacks or holds with the wrong type."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [where or "(top)"]
        if list(want) == ["*"]:
            # every entry (and at least one) as want["*"]
            if not got:
                return [where + "*"]
            want = {k: want["*"] for k in got}
        out = []
        for k, w in want.items():
            if k not in got:
                out.append(where + k)
            else:
                out += missing(w, got[k], where + k + ".")
        return out
    ok = {NUM: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          NUM_OR_NONE: lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)),
          NUMS: lambda v: isinstance(v, list) and len(v) > 0 and all(
              isinstance(x, (int, float)) and not isinstance(x, bool) for x in v),
          str: lambda v: isinstance(v, str), bool: lambda v: isinstance(v, bool)}[want]
    return [] if ok(got) else ["%s (%r is not a %s)" % (where.rstrip("."), got, getattr(want, "__name__", want))]


def test_every_benchmark_is_covered():
    have = {p.stem for p in BENCH.glob("*.py")}
    assert have == set(FIELDS) | set(XEN_FIELDS), "bench/ has %s; this test knows %s" % (
        sorted(have), sorted(set(FIELDS) | set(XEN_FIELDS)))
    # and `make bench` runs every one of them in full
    mk = (ROOT / "Makefile").read_text()

    def recipe(target):
        m = re.search(r"^%s:.*\n(?:\t.*\n)*" % re.escape(target), mk, re.M)
        assert m, "no %s target in the Makefile" % target
        return m.group(0)
    bench = recipe("bench")
    assert "bench-sim" in bench and "bench-xen" in bench, bench
    for name in FIELDS:
        assert "bench/%s.py" % name in recipe("bench-sim"), "make bench-sim does not run bench/%s.py" % name
    for name in XEN_FIELDS:
        assert "bench/%s.py" % name in recipe("bench-xen"), "make bench-xen does not run bench/%s.py" % name


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_smoke(name, tmp_path):
    need_firmware()
    p = subprocess.run([sys.executable, str(BENCH / (name + ".py")), "--smoke", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    assert p.returncode == 0, "bench/%s.py --smoke failed (%d):\n%s\n%s" % (
        name, p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    out = tmp_path / (name + ".json")
    assert out.is_file(), "bench/%s.py --smoke wrote no %s" % (name, out.name)
    r = json.loads(out.read_text())
    lost = missing(FIELDS[name], r)
    assert not lost, "bench/%s.py left out or mistyped: %s" % (name, ", ".join(lost))
    assert r["smoke"] is True
    if name == "xenstore":
        # the workload itself must have passed on both servers
        assert r["test_xenstore_rc"] == {"ours": 0, "cxenstored": 0}, r["test_xenstore_rc"]


@pytest.mark.parametrize("name", sorted(XEN_FIELDS))
def test_smoke_real_xen(name, tmp_path, aarch64_firmware):
    firmware, why = aarch64_firmware
    if why:
        pytest.fail(why, pytrace=False)
    env = dict(os.environ, MODXEN_AARCH64_FIRMWARE=firmware)
    p = subprocess.run([sys.executable, str(BENCH / (name + ".py")), "--smoke", "--xen", SMOKE_RELEASE,
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=1200,
                       cwd=str(ROOT), env=env)
    assert p.returncode == 0, "bench/%s.py --smoke --xen %s failed (%d):\n%s" % (
        name, SMOKE_RELEASE, p.returncode, p.stderr[-4000:])
    out = tmp_path / (name + ".json")
    assert out.is_file(), "bench/%s.py --smoke wrote no %s" % (name, out.name)
    r = json.loads(out.read_text())
    lost = missing(XEN_FIELDS[name], r)
    assert not lost, "bench/%s.py left out or mistyped: %s" % (name, ", ".join(lost))
    assert r["smoke"] is True and list(r["releases"]) == [SMOKE_RELEASE]
    if name == "realxen-xs":
        # every server's phase ran
        assert r["releases"][SMOKE_RELEASE]["phase_errors"] == {}, r["releases"][SMOKE_RELEASE]["phase_errors"]
