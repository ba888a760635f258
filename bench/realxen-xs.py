#!/usr/bin/env python3
"""Real-Xen benchmark: xenstore as a Linux guest sees it, our server against Debian's.

For each Xen release (4.17: bookworm's, 4.20: trixie's; `--xen 4.20` or
MODXEN_XEN_RELEASES="4.20" for one), one QEMU boot of that Xen (Debian arm64) with a
toolstack-free Linux dom0 (scripts/xen-qemu/run.sh --xen REL). In it, the same Linux
guest (Debian's kernel, the tier's busybox initramfs plus bench/realxen-xs-guest) runs
xsbench: N reads, N writes, N directory listings and N transactions (start, read,
write, end) through its own kernel's /dev/xen/xenbus, one request in flight, each timed
by the guest. The server is, phase by phase: ours (our aarch64 firmware, the whole
toolstack), Debian's cxenstored and Debian's oxenstored of the same release (each with
xen-init-dom0, xenconsoled and `xl create`, scripts/xen-qemu/fetch-xl.sh). Ours and
cxenstored run in three pairs, in the order ours, cx, cx, ours, ours, cx (ABBAAB), so
that a host getting busier or quieter during the boot weighs on both sides of each
pair; oxenstored runs once after them. dom0's CPU per
request comes from dom0's cpu_time (getdomaininfo) at the client's marks around each
kind, less dom0's rate at rest in the same run. A last, profiled run of ours splits
our dom0 time into the event callback, the ring and the store (not in the ratios).

Ratios are their time / ours (>= 1.0: ours is not slower): guest-side latency (the
median request of a run, and its 10th percentile: the path without the host's
interference, as bench/xenstore.py's best round) and dom0 CPU per request. Against
cxenstored, each pair gives a ratio and the figure is the median of the three (the
pairs' own are kept); `mean` is the geometric mean over the four kinds. Against
oxenstored (one run), the ratio is to the median of ours' runs. `host.steal_pct`: the
share of this machine's CPU time its own hypervisor gave to others during the boot
(where it is high, so is the noise).
Prints JSON and writes build/bench/realxen-xs.json ("releases": a section per release,
or "error"; "ratios": each release's ratios per kind); stderr has a line per release
and server. Exit status 1 if a release failed. Needs `make firmware-aarch64` (or
MODXEN_AARCH64_FIRMWARE), the real-Xen tier's tools (scripts/deps.sh xen) and an
aarch64 C compiler (AARCH64_CC, default aarch64-linux-gnu-gcc, which the firmware needs too).
  bench/realxen-xs.py [--xen 4.17|4.20] [--n N] [--smoke] [--out DIR] [--reparse]
(--smoke: ten requests of each kind, short pauses; --out: where the JSON goes instead
of build/bench; --reparse: summarize the last boot's results again, without booting.)
"""
import json
import os
import shutil
import subprocess
import sys

# bench/realxen.py: the firmware both boot, the release fetch, the boot and its
# BENCH lines
from realxen import Failed, median, fetch_release, boot, bench_lines, options, write_json, host_cpu, host_steal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CC = os.environ.get("AARCH64_CC", "aarch64-linux-gnu-gcc")
OUT = os.path.join(ROOT, "build", "xen-qemu", "bench-xs")    # run.sh writes OUT/xen-REL
WORK = os.path.join(ROOT, "build", "bench", "realxen-xs")
RELEASES = ("4.17", "4.20")
KINDS = ("read", "write", "directory", "transaction")
PHASES = (("ours", "ours_1"), ("cxenstored", "cxenstored_1"), ("cxenstored", "cxenstored_2"),
          ("ours", "ours_2"), ("ours", "ours_3"), ("cxenstored", "cxenstored_3"),
          ("oxenstored", "oxenstored"))
PAIRS = (("ours_1", "cxenstored_1"), ("ours_2", "cxenstored_2"), ("ours_3", "cxenstored_3"))
THEIRS = ("cxenstored", "oxenstored")
TARGETS = (1.0, 1.5)
N = 200
PAD_MS = 1500
SMOKE_N = 10          # --smoke: every phase and field, a few requests
SMOKE_PAD_MS = 300


def guest_share(n, pad_ms=PAD_MS):
    """xsbench (static aarch64) and its init as a cpio archive dom0 appends to the
    tier's guest initramfs, and the run's parameters."""
    share = os.path.join(WORK, "share")
    stage = os.path.join(WORK, "stage")
    for d in (share, stage):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(stage, "bin"))
    os.makedirs(share)
    src = os.path.join(ROOT, "bench", "realxen-xs-guest")
    x = subprocess.run([CC, "-O2", "-static", "-Wall", "-o", os.path.join(stage, "bin", "xsbench"),
                        os.path.join(src, "xsbench.c")], capture_output=True, text=True)
    if x.returncode != 0:
        raise Failed("compiling xsbench with %s failed:\n%s" % (CC, x.stderr[-2000:]))
    shutil.copy(os.path.join(src, "xsb-init"), os.path.join(stage, "bin", "xsb-init"))
    os.chmod(os.path.join(stage, "bin", "xsb-init"), 0o755)
    names = "\n".join([".", "bin", "bin/xsb-init", "bin/xsbench"]) + "\n"
    with open(os.path.join(share, "xsb.cpio"), "wb") as f:
        x = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], input=names.encode(),
                           stdout=f, stderr=subprocess.PIPE, cwd=stage)
    if x.returncode != 0:
        raise Failed("cpio failed: %s" % x.stderr.decode()[-500:])
    with open(os.path.join(share, "params.json"), "w") as f:
        json.dump({"n": n, "pad_ms": pad_ms}, f)
    return share


def run_boot(rel, share):
    """The release's boot: -> (run.sh's log, its status); the log is kept for --reparse."""
    xl = fetch_release(rel)
    t0 = host_cpu()
    log, rc = boot(rel, os.path.join(ROOT, "bench", "realxen-xs-dom0"), OUT, {"xl": xl, "xsb": share}, 2400, 600)
    with open(os.path.join(OUT, "xen-" + rel, "bench.log"), "w") as f:
        f.write(log)
    with open(os.path.join(OUT, "xen-" + rel, "host.json"), "w") as f:
        json.dump({"steal_pct": host_steal(t0, host_cpu())}, f)
    return log, rc


def results(rel):
    """What the boot's dom0 phases printed (BENCH lines), and the booted banner."""
    booted = None
    try:
        for l in open(os.path.join(OUT, "xen-" + rel, "bench.log"), errors="replace"):
            if " booted: " in l:
                booted = l.split("booted: ", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        with open(os.path.join(OUT, "xen-" + rel, "host.json")) as f:
            host = json.load(f)
    except (OSError, ValueError):
        host = {"steal_pct": None}
    return bench_lines(OUT, rel), booted, host


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def geomean(xs):
    xs = [x for x in xs if x]
    if not xs:
        return None
    p = 1.0
    for x in xs:
        p *= x
    return round(p ** (1.0 / len(xs)), 2)


def summarize(res, booted, host, log="", rc=0):
    ours_keys = [key for side, key in PHASES if side == "ours"]
    bad = [key for key in ours_keys if key not in res or "error" in res[key]]
    if bad:
        raise Failed("ours failed in %s (exit %d):\n%s\n%s" % (
            bad, rc, log[-4000:], json.dumps({k: res.get(k) for k in bad})))
    sides = {}
    errors = {}
    for side, key in PHASES:
        r = res.get(key)
        if r is None or "error" in r:
            errors[key] = (r or {}).get("error", "no result")
            continue
        sides.setdefault(side, []).append(r)
    summary = {}
    for side, runs in sides.items():
        summary[side] = {"runs": len(runs),
                         "idle_dom0_cpu_pct": median([r["idle"]["dom0_cpu_pct"] for r in runs])}
        for k in KINDS:
            summary[side][k] = {f: median([r[k][f] for r in runs]) for f in
                                ("median_us", "p10_us", "mean_us", "p90_us", "dom0_cpu_us_per_op",
                                 "guest_cpu_us_per_op")}
    ratios = {}
    for th in THEIRS:
        if th not in summary:
            continue
        ratios[th] = {}
        for k in KINDS:
            if th == "cxenstored":
                pairs = [(res[o][k], res[c][k]) for o, c in PAIRS if o not in errors and c not in errors]
            else:
                pairs = [(summary["ours"][k], summary[th][k])]
            lat = [ratio(t["median_us"], o["median_us"]) for o, t in pairs]
            p10 = [ratio(t["p10_us"], o["p10_us"]) for o, t in pairs]
            cpu = [ratio(t["dom0_cpu_us_per_op"], o["dom0_cpu_us_per_op"]) for o, t in pairs
                   if o["dom0_cpu_us_per_op"] and o["dom0_cpu_us_per_op"] > 0]
            ratios[th][k] = {"latency": median(lat), "latency_p10": median(p10),
                             "dom0_cpu": median(cpu),
                             "latency_pairs": lat, "latency_p10_pairs": p10}
        for f in ("latency", "latency_p10"):
            ratios[th]["mean_" + f] = geomean([ratios[th][k][f] for k in KINDS])
    return {
        "xen": booted,
        "host": host,
        "summary": summary,
        "ratios": ratios,
        "profile_ours": {"wall": res.get("ours_profile", {}).get("profile"),
                         "threads": res.get("ours_profile", {}).get("threads")},
        "phase_errors": errors,
        "runs": {key: res.get(key) for _, key in PHASES},
        "profiled_run": res.get("ours_profile"),
    }


def bench_one(rel, share, reparse=False):
    log, rc = ("", 0) if reparse else run_boot(rel, share)
    res, booted, host = results(rel)
    try:
        return summarize(res, booted, host, log, rc)
    except Failed as e:
        raise Failed("benchmark boot of Xen %s: %s" % (rel, e))


def main():
    a = options("realxen-xs", (
        ("--n", {"type": int, "help": "requests of each kind (default %d; --smoke: %d)" % (N, SMOKE_N)}),
        ("--reparse", {"action": "store_true", "help": "summarize the last boot again, without booting"})))
    n = a.n or (SMOKE_N if a.smoke else N)
    pad_ms = SMOKE_PAD_MS if a.smoke else PAD_MS
    reparse = a.reparse
    sections = {}
    try:
        share = None if reparse else guest_share(n, pad_ms)
    except Failed as e:
        print("bench/realxen-xs: %s" % e, file=sys.stderr)
        sys.exit(1)
    for rel in a.releases:
        try:
            sections[rel] = bench_one(rel, share, reparse)
        except Failed as e:
            print("bench/realxen-xs: %s" % e, file=sys.stderr)
            sections[rel] = {"error": str(e).splitlines()[0]}
    out = {
        "what": "a Linux guest's own xenstore requests through /dev/xen/xenbus (xsbench, one in flight): "
                "N each of read, write, directory, transaction (start, read, write, end); guest-side "
                "latency per request (median of a run) and dom0 CPU per request (dom0 cpu_time over the "
                "client's marks, less dom0's rate at rest); one QEMU boot per Xen release (Debian arm64), "
                "ours and cxenstored in three pairs (ABBAAB), then oxenstored; ratio = their "
                "time / ours: against cxenstored the median of the pairs' ratios, against "
                "oxenstored to the median of ours' runs; mean_* = geometric mean over the kinds",
        "n": n,
        "smoke": a.smoke,
        "targets": list(TARGETS),
        "ratios": {rel: s.get("ratios") for rel, s in sections.items()},
        "releases": sections,
    }
    write_json(a.out, "realxen-xs", out)
    for rel, s in sections.items():
        if "error" in s:
            print("bench/realxen-xs: Xen %s: FAILED: %s" % (rel, s["error"]), file=sys.stderr)
            continue
        for th, r in s["ratios"].items():
            print("bench/realxen-xs: Xen %s: %s / ours: %s; mean latency %s (p10 %s); host steal %s%%" % (rel, th, ", ".join(
                "%s latency %s (p10 %s) cpu %s" % (k, r[k]["latency"], r[k]["latency_p10"], r[k]["dom0_cpu"])
                for k in KINDS), r["mean_latency"], r["mean_latency_p10"], s["host"]["steal_pct"]), file=sys.stderr)
        for key, e in s["phase_errors"].items():
            print("bench/realxen-xs: Xen %s: phase %s failed: %s" % (rel, key, e), file=sys.stderr)
    if any("error" in s for s in sections.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
