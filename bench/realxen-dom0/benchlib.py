# Shared by the dom0 halves of bench/realxen.py (run on our aarch64 firmware in a
# toolstack-free Linux dom0 under Xen 4.17 or 4.20). Both toolstacks boot the same guest from the
# same xl.cfg, kernel and initramfs in dom0's RAM; a run is timed from the create call to
# the guest's first console output (the kernel's log, replayed when hvc0 registers: the
# command line has no "quiet") and to its init's first line ("guest up").
import os
import json
import time



def _runs():
    # per phase (5 phases: ours, xl, ours, xl, ours); bench/realxen.py --smoke
    # shares {"runs": 1}
    try:
        with open("/mnt/host/rxparams/params.json") as f:
            return json.load(f)["runs"]
    except OSError:
        return 3


RUNS = _runs()
DIR = "/bench"            # in dom0's RAM; the xl chroot sees it at the same path
CFG = DIR + "/guest.cfg"
CFG_TEXT = """name = "bench"
kernel = "/bench/Image"
ramdisk = "/bench/initramfs.cpio"
memory = 128
vcpus = 1
extra = "console=hvc0 rdinit=/init"
on_poweroff = "destroy"
on_crash = "destroy"
"""
MARK = b"guest up"


def sh(cmd):
    rc = os.system(cmd)
    if rc != 0:
        raise OSError("command failed (%d): %s" % (rc, cmd))


def prepare():
    """The guest files in dom0's RAM (copied from the share once, not timed)."""
    try:
        os.stat(CFG)
        return
    except OSError:
        pass
    sh("mkdir -p %s && cp /mnt/host/guest/Image /mnt/host/guest/initramfs.cpio %s/" % (DIR, DIR))
    with open(CFG, "w") as f:
        f.write(CFG_TEXT)


def ticks():
    return time.ticks_ms()


def since(t0):
    return time.ticks_diff(time.ticks_ms(), t0)


class FileWatch:
    """The guest's console as xenconsoled logs it: new bytes since the last look."""

    def __init__(self, path):
        self.path = path
        self.off = 0
        self.tail = b""

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except OSError:
            return None
        self.off += len(data)
        return data


def wait_output(poll, t0, limit_ms=120000):
    """Poll poll() (new console bytes or None) every 10 ms until MARK shows up.
    -> (ms to the first byte, ms to MARK); None where it never came."""
    first = None
    tail = b""
    while True:
        data = poll()
        if data:
            if first is None:
                first = since(t0)
            tail = tail[-len(MARK):] + data
            if MARK in tail:
                return first, since(t0)
        if since(t0) > limit_ms:
            return first, None
        time.sleep_ms(10)


def settle():
    """Start each run from a quiet machine: Xen scrubs a destroyed guest's memory on
    idle CPUs (physinfo's scrub_pages) and frees the rest of it in the background;
    wait until nothing is left to scrub and the free page count stops moving."""
    import _xen
    a = _xen.physinfo()
    for _ in range(150):
        time.sleep_ms(200)
        b = _xen.physinfo()
        if b["scrub_pages"] == 0 and a["free_pages"] == b["free_pages"]:
            break
        a = b
    time.sleep_ms(300)


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def report(name, runs):
    out = {"runs": runs}
    for k in ("create_ms", "first_output_ms", "guest_up_ms"):
        out[k] = median([r.get(k) for r in runs])
    print("BENCH " + json.dumps({name: out}))
    return out
