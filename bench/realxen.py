#!/usr/bin/env python3
"""Real-Xen benchmark: our xen.domain_create against Xen's own `xl create`.

For each Xen release (4.17: bookworm's, 4.20: trixie's; `--xen 4.20` or
MODXEN_XEN_RELEASES="4.20" for one), one QEMU boot of that Xen (Debian arm64) with a
toolstack-free Linux dom0 (scripts/xen-qemu/run.sh --xen REL) builds the same Linux
guest (same xl.cfg, kernel and initramfs in dom0's RAM, 128 MiB, 1 vcpu) in five
alternating phases of RUNS builds: ours, xl, ours, xl, ours. Ours is our aarch64
firmware with its own xenstore and console servers; xl is the same Debian release's
xen-utils-REL (xl, xenstored, xenconsoled, with that release's libraries, unpacked by
scripts/xen-qemu/fetch-xl.sh --xen REL) in a chroot, its daemons
started before and stopped after each of its phases (they and our servers cannot
run at once). Alternating keeps a host that gets busier or quieter during the boot
from favouring one side. Each build is timed from the create call to the guest's
first console output (its kernel log, replayed when hvc0 comes up) and to its
init's first line ("guest up"). The ratio is xl / ours over the medians; the
target is ours at least 2x faster to the first console output.

Prints JSON and writes build/bench/realxen.json: "releases" has one section per
release (medians, ratios, phases, or "error" if its boot failed), "ratio_xl_over_ours"
each release's ratios. A line per release on stderr gives the ratios; the exit status
is 1 if any release failed. Needs `make firmware-aarch64` (or MODXEN_AARCH64_FIRMWARE)
and the real-Xen tier's tools (scripts/deps.sh xen).
  bench/realxen.py [--xen 4.17|4.20] [--smoke] [--out DIR]
(--smoke: one build per phase; --out: where the JSON goes instead of build/bench.)
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = os.environ.get("MODXEN_AARCH64_FIRMWARE", os.path.join(ROOT, "build", "aarch64-linux", "micropython"))
OUT = os.path.join(ROOT, "build", "xen-qemu", "bench")    # run.sh writes OUT/xen-REL
TARGET = 2.0
RELEASES = ("4.17", "4.20")
KEYS = ("create_ms", "first_output_ms", "guest_up_ms")
RUNS = 3            # builds per phase; --smoke: 1


class Failed(Exception):
    pass


def options(name, extra=()):
    """The command line both real-Xen benchmarks take: --xen REL (else
    MODXEN_XEN_RELEASES, else both), --smoke, --out DIR, and `extra`
    (flag, add_argument keywords) pairs. Exits if the firmware is missing."""
    ap = argparse.ArgumentParser(prog="bench/%s.py" % name)
    ap.add_argument("--xen", metavar="REL", help="one Xen release (4.17 or 4.20)")
    ap.add_argument("--smoke", action="store_true", help="every phase and field, a few runs")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench"), help="where the JSON goes")
    for flag, kw in extra:
        ap.add_argument(flag, **kw)
    a = ap.parse_args()
    a.releases = [a.xen] if a.xen else os.environ.get("MODXEN_XEN_RELEASES", " ".join(RELEASES)).split()
    if not os.path.isfile(FW):
        print("bench/%s: no aarch64 firmware at %s (make firmware-aarch64)" % (name, FW), file=sys.stderr)
        sys.exit(1)
    return a


def write_json(out_dir, name, out):
    """The benchmark's JSON: into out_dir/NAME.json and on stdout."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def fetch_release(rel):
    """The release's Debian packages (hypervisor, and xl with its daemons for the
    other side of a benchmark); -> the directory of its xl tree."""
    xl = os.path.join(ROOT, "build", "xen-qemu", rel, "xl")
    for script, args in (("fetch.sh", ["--xen", rel]), ("fetch-xl.sh", ["--xen", rel, xl])):
        x = subprocess.run(["bash", os.path.join(ROOT, "scripts", "xen-qemu", script)] + args,
                           capture_output=True, text=True)
        if x.returncode != 0:
            raise Failed("%s --xen %s failed:\n%s" % (script, rel, x.stderr[-2000:]))
    return os.path.join(xl, "root")


def boot(rel, tests, out, shares, timeout, test_timeout):
    """One real-Xen boot running the dom0 scripts in `tests`, with the 9p shares
    {name: dir}; -> (run.sh's log, its exit status)."""
    env = dict(os.environ, XEN_QEMU_TEST_TIMEOUT=str(test_timeout))
    cmd = ["bash", os.path.join(ROOT, "scripts", "xen-qemu", "run.sh"), "--xen", rel, "--firmware", FW,
           "--tests", tests, "--out", out, "--timeout", str(timeout)]
    for name, d in shares.items():
        cmd += ["--share", "%s=%s" % (name, d)]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout + 300)
    except subprocess.TimeoutExpired:
        raise Failed("run.sh --xen %s did not finish" % rel)
    return run.stdout + run.stderr, run.returncode


def host_cpu():
    """This machine's CPU time so far (/proc/stat's cpu line, in ticks)."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def host_steal(before, after):
    """Of the CPU time between two host_cpu() samples, the share the machine's
    own hypervisor gave to others (steal, %): interference from outside that
    no phase order evens out. None where the kernel does not count it."""
    d = [b - a for a, b in zip(before, after)]
    total = sum(d[:8])
    return round(100.0 * d[7] / total, 1) if len(d) > 7 and total > 0 else None


def bench_lines(out, rel):
    """What the boot's dom0 scripts printed as "BENCH {json}" lines, merged."""
    res = {}
    rdir = os.path.join(out, "xen-" + rel, "results-default")
    for name in sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []:
        if name.endswith(".out"):
            for line in open(os.path.join(rdir, name), errors="replace"):
                if line.startswith("BENCH "):
                    res.update(json.loads(line[6:]))
    return res


def params_share(runs):
    """The dom0 side's parameters, as a share (benchlib reads them)."""
    d = os.path.join(ROOT, "build", "bench", "realxen-params")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "params.json"), "w") as f:
        json.dump({"runs": runs}, f)
    return d


def bench_one(rel, runs=RUNS):
    """One release's boot: its section of the JSON (raises Failed)."""
    xl = fetch_release(rel)
    log, rc = boot(rel, os.path.join(ROOT, "bench", "realxen-dom0"), OUT,
                   {"xl": xl, "rxparams": params_share(runs)}, 900, 400)
    booted = [l.split("booted: ", 1)[1] for l in log.splitlines() if " booted: " in l]
    res = bench_lines(OUT, rel)
    phases = (("ours", "ours"), ("xl", "xl"), ("ours", "ours_again"), ("xl", "xl_again"), ("ours", "ours_last"))
    missing = [key for _, key in phases if key not in res]
    if rc != 0 or missing:
        raise Failed("benchmark boot of Xen %s failed (exit %d), missing %s:\n%s\n%s" % (
            rel, rc, missing, log[-4000:], json.dumps(res)))
    # Phases alternate within the boot, so that a machine getting busier or quieter
    # (QEMU shares the host) weighs on both sides; medians over all runs of a side.
    sides = {"ours": [], "xl": []}
    per_phase = []
    for side, key in phases:
        sides[side] += res[key]["runs"]
        per_phase.append({"phase": key, **{k: res[key][k] for k in KEYS}})
    summary = {}
    for side, runs in sides.items():
        summary[side] = {k: median([r[k] for r in runs]) for k in KEYS}
        summary[side]["runs"] = len(runs)
    ratio = {}
    for k in KEYS:
        if summary["ours"][k] and summary["xl"][k]:
            ratio[k] = round(summary["xl"][k] / summary["ours"][k], 2)
    return {
        "xen": booted[0] if booted else None,
        "ours": summary["ours"],
        "xl": summary["xl"],
        "ratio_xl_over_ours": ratio,
        "target": TARGET,
        "target_met": ratio.get("first_output_ms", 0) >= TARGET,
        "phases": per_phase,
        "ours_from_9p": {k: v for k, v in res.get("ours_from_9p", {}).items() if k != "runs"},
        "ours_profile_ms": res.get("ours_profile_ms"),
        "xl_wrapper_ms": res.get("xl_wrapper_ms"),
        "xl_daemons_start_ms": res.get("xl_daemons_start_ms"),
        "runs": {key: res[key]["runs"] for _, key in phases},
    }


def main():
    a = options("realxen")
    runs = 1 if a.smoke else RUNS
    sections = {}
    for rel in a.releases:
        try:
            sections[rel] = bench_one(rel, runs)
        except Failed as e:
            print("bench/realxen: %s" % e, file=sys.stderr)
            sections[rel] = {"error": str(e).splitlines()[0]}
    out = {
        "what": "create call to the guest's first console output / to its init's 'guest up' line; "
                "same xl.cfg, kernel and initramfs (dom0 RAM), 128 MiB, 1 vcpu, one QEMU boot per Xen release "
                "(Debian arm64; xl from the same Debian release); phases ours, xl, ours, xl, ours; "
                "medians over all runs of each side",
        "target": TARGET,
        "runs_per_phase": runs,
        "smoke": a.smoke,
        "ratio_xl_over_ours": {rel: s.get("ratio_xl_over_ours") for rel, s in sections.items()},
        "releases": sections,
    }
    write_json(a.out, "realxen", out)
    for rel, s in sections.items():
        if "error" in s:
            print("bench/realxen: Xen %s: FAILED: %s" % (rel, s["error"]), file=sys.stderr)
        else:
            r = s["ratio_xl_over_ours"]
            print("bench/realxen: Xen %s: xl / ours = %s to create, %s to first output, %s to 'guest up'%s" % (
                rel, r.get("create_ms"), r.get("first_output_ms"), r.get("guest_up_ms"),
                "" if s["target_met"] else " (target %.1f to first output not met)" % TARGET), file=sys.stderr)
    if any("error" in s for s in sections.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
