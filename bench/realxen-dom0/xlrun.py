# The dom0 side of Xen's own toolstack in bench/realxen.py, in the same boot as ours and
# never at the same time (xenstored and our services cannot both hold VIRQ_DOM_EXC). Debian's xenstored, xen-init-dom0 and xenconsoled start in a chroot holding
# Debian's xen-utils of the booted release (scripts/xen-qemu/fetch-xl.sh, shared at /mnt/host/xl); then
# `xl create` of the same xl.cfg is timed the same way, reading the guest's console from
# xenconsoled's log. Starting the daemons is not timed (ours were running too).
import os
import _xen
import benchlib as b

ROOT = "/run/xlroot"
with open("/tests/EXPECT.json") as _f:      # this boot's facts (run.sh): the Xen release
    BIN = "/usr/lib/xen-%s/bin/" % b.json.load(_f)["release"]
LOG = ROOT + "/var/log/xen/console/guest-bench.log"


def chroot(cmd):
    b.sh("chroot %s /bin/sh -c '%s'" % (ROOT, cmd))


def mounted(path):
    with open("/proc/mounts") as f:
        return (" %s " % path) in f.read()


def setup():
    """The chroot (once per boot), then the daemons (each phase)."""
    try:
        os.stat(ROOT + BIN + "xl")
    except OSError:
        b.sh("cp -a /mnt/host/xl %s" % ROOT)
    # xenconsoled gives each guest console a pty (xl create waits for its path)
    b.sh("mkdir -p /dev/pts && (grep -q ' /dev/pts ' /proc/mounts || mount -t devpts devpts /dev/pts)")
    for d in ("dev", "proc", "sys", "run", "tmp", "bench", "var/lib/xen", "var/log/xen/console"):
        b.sh("mkdir -p %s/%s" % (ROOT, d))
    if not mounted(ROOT + "/dev"):
        b.sh("mount -o rbind /dev %s/dev && mount -o rbind /proc %s/proc && mount -o rbind /sys %s/sys"
             % (ROOT, ROOT, ROOT))
        b.sh("mount -t tmpfs tmpfs %s/run && mount -o bind %s %s/bench" % (ROOT, b.DIR, ROOT))
        b.sh("rm -rf %s/var/run && ln -s /run %s/var/run" % (ROOT, ROOT))
    # what a previous phase's daemons left
    b.sh("rm -rf %s/run/xen %s/run/xenstored && mkdir -p %s/run/xen" % (ROOT, ROOT, ROOT))
    t0 = b.ticks()
    chroot(BIN + "xenstored --pid-file /run/xenstored.pid")
    chroot(BIN + "xen-init-dom0")
    chroot(BIN + "xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid")
    return b.since(t0)


def one():
    b.settle()
    try:
        os.remove(LOG)
    except OSError:
        pass
    w = b.FileWatch(LOG)
    t0 = b.ticks()
    b.sh("chroot %s %sxl create -q %s" % (ROOT, BIN, b.CFG))
    create = b.since(t0)
    first, up = b.wait_output(w.poll, t0)
    chroot(BIN + "xl destroy bench")
    # xl destroy returns once the domain is gone from xl's view; wait for Xen's
    t1 = b.ticks()
    while [i["domid"] for i in _xen.domain_list()] != [0]:
        if b.since(t1) > 30000:
            raise OSError("xl destroy left %r" % _xen.domain_list())
        b.time.sleep_ms(10)
    return {"create_ms": create, "first_output_ms": first, "guest_up_ms": up}


def main(key):
    b.prepare()
    start = setup()
    print("BENCH " + b.json.dumps({key + "_daemons_start_ms": start}))
    # what starting a program through os.system and chroot costs by itself (part of
    # the xl times, not of xl): busybox's true, the same way
    w = []
    for _ in range(b.RUNS):
        t0 = b.ticks()
        b.sh("chroot %s /bin/busybox true" % ROOT)
        w.append(b.since(t0))
    print("BENCH " + b.json.dumps({key + "_wrapper_ms": b.median(w)}))
    runs = [one() for _ in range(b.RUNS)]
    b.report(key, runs)
    print(("PASS" if all(r["guest_up_ms"] for r in runs) else "FAIL") + " %s_guest_up" % key)
    stop(key)


def stop(key):
    """End the daemons this script started (by their pid files), so that phase 3 can
    bind VIRQ_DOM_EXC again."""
    for name in ("xenconsoled", "xenstored"):
        with open("%s/run/%s.pid" % (ROOT, name)) as f:
            pid = int(f.read().split()[0])
        b.sh("kill %d" % pid)
        t0 = b.ticks()
        while os.system("kill -0 %d 2>/dev/null" % pid) == 0:
            if b.since(t0) > 10000:
                raise OSError("%s (pid %d) did not stop" % (name, pid))
            b.time.sleep_ms(50)
    print("PASS %s_daemons_stopped" % key)

