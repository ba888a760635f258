#!/usr/bin/env python3
"""Real-Xen benchmark: our xen.domain_create against Xen's own `xl create`.

One QEMU boot of Xen 4.17 (Debian arm64) with a toolstack-free Linux dom0
(scripts/xen-qemu/run.sh). In that boot, first our aarch64 firmware builds the
same Linux guest (same xl.cfg, kernel, initramfs in dom0's RAM, 128 MiB, 1 vcpu)
RUNS times with its own xenstore and console servers; then, after it exits,
Debian's xenstored, xenconsoled and xl (xen-utils-4.17, unpacked by
scripts/xen-qemu/fetch-xl.sh) start in a chroot and `xl create` builds it RUNS
times. Each run is timed from the create call to the guest's first console
output and to its init's first line ("guest up"). The ratio is xl time / ours
(medians); the target is ours at least 2x faster to "guest up".

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
    if run.returncode != 0 or "ours" not in res or "xl" not in res:
        fail("benchmark boot failed (exit %d):\n%s\n%s" % (run.returncode, log[-4000:], json.dumps(res)))
    ours, xlr = res["ours"], res["xl"]
    ratio = {}
    for k in ("create_ms", "first_output_ms", "guest_up_ms"):
        if ours.get(k) and xlr.get(k):
            ratio[k] = round(xlr[k] / ours[k], 2)
    out = {
        "what": "create call to the guest's first console output / to its init's 'guest up' line; "
                "same xl.cfg, kernel and initramfs (dom0 RAM), 128 MiB, 1 vcpu, same QEMU boot of Xen 4.17 arm64",
        "runs": len(ours["runs"]),
        "ours": ours,
        "ours_from_9p": res.get("ours_from_9p"),
        "ours_profile_ms": res.get("ours_profile_ms"),
        "xl": xlr,
        "xl_daemons_start_ms": res.get("xl_daemons_start_ms"),
        "ratio_xl_over_ours": ratio,
        "target": TARGET,
        "target_met": ratio.get("guest_up_ms", 0) >= TARGET,
    }
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "bench", "realxen.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
