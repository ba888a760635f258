#!/usr/bin/env python3
"""Real-Xen benchmark: our xen.domain_create against Xen's own `xl create`.

One QEMU boot of Xen 4.17 (Debian arm64) with a toolstack-free Linux dom0
(scripts/xen-qemu/run.sh) builds the same Linux guest (same xl.cfg, kernel and
initramfs in dom0's RAM, 128 MiB, 1 vcpu) in five alternating phases of RUNS
builds: ours, xl, ours, xl, ours. Ours is our aarch64 firmware with its own
xenstore and console servers; xl is Debian's xen-utils-4.17 (xl, xenstored,
xenconsoled, unpacked by scripts/xen-qemu/fetch-xl.sh) in a chroot, its daemons
started before and stopped after each of its phases (they and our servers cannot
run at once). Alternating keeps a host that gets busier or quieter during the boot
from favouring one side. Each build is timed from the create call to the guest's
first console output (its kernel log, replayed when hvc0 comes up) and to its
init's first line ("guest up"). The ratio is xl / ours over the medians; the
target is ours at least 2x faster to the first console output.

Prints JSON and writes build/bench/realxen.json. Needs `make firmware-aarch64`
(or MODXEN_AARCH64_FIRMWARE) and the real-Xen tier's tools (scripts/deps.sh xen).
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = os.environ.get("MODXEN_AARCH64_FIRMWARE", os.path.join(ROOT, "build", "aarch64-linux", "micropython"))
OUT = os.path.join(ROOT, "build", "xen-qemu", "bench")
TARGET = 2.0


def fail(msg):
    print("bench/realxen: " + msg, file=sys.stderr)
    sys.exit(1)


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main():
    if not os.path.isfile(FW):
        fail("no aarch64 firmware at %s (make firmware-aarch64)" % FW)
    x = subprocess.run(["bash", os.path.join(ROOT, "scripts", "xen-qemu", "fetch.sh")], capture_output=True, text=True)
    if x.returncode != 0:
        fail("fetch.sh failed:\n" + x.stderr[-2000:])
    xl = os.path.join(ROOT, "build", "xen-qemu", "xl")
    x = subprocess.run(["bash", os.path.join(ROOT, "scripts", "xen-qemu", "fetch-xl.sh"), xl],
                       capture_output=True, text=True)
    if x.returncode != 0:
        fail("fetch-xl.sh failed:\n" + x.stderr[-2000:])
    env = dict(os.environ, XEN_QEMU_TEST_TIMEOUT="400")
    run = subprocess.run(["bash", os.path.join(ROOT, "scripts", "xen-qemu", "run.sh"), "--firmware", FW,
                          "--tests", os.path.join(ROOT, "bench", "realxen-dom0"), "--out", OUT,
                          "--timeout", "900", "--share", "xl=" + os.path.join(xl, "root")],
                         capture_output=True, text=True, env=env, timeout=1200)
    log = run.stdout + run.stderr
    res = {}
    rdir = os.path.join(OUT, "results-default")
    for name in sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []:
        if name.endswith(".out"):
            for line in open(os.path.join(rdir, name), errors="replace"):
                if line.startswith("BENCH "):
                    res.update(json.loads(line[6:]))
    phases = (("ours", "ours"), ("xl", "xl"), ("ours", "ours_again"), ("xl", "xl_again"), ("ours", "ours_last"))
    missing = [key for _, key in phases if key not in res]
    if run.returncode != 0 or missing:
        fail("benchmark boot failed (exit %d), missing %s:\n%s\n%s" % (run.returncode, missing, log[-4000:],
                                                                        json.dumps(res)))
    # Phases alternate within the boot, so that a machine getting busier or quieter
    # (QEMU shares the host) weighs on both sides; medians over all runs of a side.
    sides = {"ours": [], "xl": []}
    per_phase = []
    for side, key in phases:
        sides[side] += res[key]["runs"]
        per_phase.append({"phase": key, **{k: res[key][k] for k in ("create_ms", "first_output_ms", "guest_up_ms")}})
    summary = {}
    for side, runs in sides.items():
        summary[side] = {k: median([r[k] for r in runs]) for k in ("create_ms", "first_output_ms", "guest_up_ms")}
        summary[side]["runs"] = len(runs)
    ratio = {}
    for k in ("create_ms", "first_output_ms", "guest_up_ms"):
        if summary["ours"][k] and summary["xl"][k]:
            ratio[k] = round(summary["xl"][k] / summary["ours"][k], 2)
    out = {
        "what": "create call to the guest's first console output / to its init's 'guest up' line; "
                "same xl.cfg, kernel and initramfs (dom0 RAM), 128 MiB, 1 vcpu, one QEMU boot of Xen 4.17 arm64; "
                "phases ours, xl, ours, xl, ours; medians over all runs of each side",
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
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "bench", "realxen.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
