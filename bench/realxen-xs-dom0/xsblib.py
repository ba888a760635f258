# The dom0 half of bench/realxen-xs.py (runs on our aarch64 firmware in a toolstack-free
# Linux dom0 under Xen 4.17 or 4.20). Each phase builds the same guest, whose init runs
# xsbench (bench/realxen-xs-guest): N reads, writes, directory listings and
# transactions through the guest's own /dev/xen/xenbus, against the xenstore server of
# that phase: ours (this firmware: xen.start's services), or Debian's cxenstored or
# oxenstored of the booted release (in the chroot of scripts/xen-qemu/fetch-xl.sh, with
# xen-init-dom0, xenconsoled and `xl create`). The client times each request itself
# and prints marks around each kind of request, with PAD_MS of sleep on either side;
# dom0 takes its own cpu_time (and the guest's) at each mark as it sees it: ours in the
# console's upcall, theirs from xenconsoled's log, looked at every POLL_MS. dom0's CPU
# per request is the window's CPU less the window's share of dom0's rate at rest (an
# idle window measured first, in the same run). This process wakes as seldom as it
# can: the unix port's time.sleep_ms polls every millisecond, which alone keeps dom0
# about 50% busy on this emulated machine, so it sleeps with time.sleep (one select).
import os
import json
import time
import _xen
import xen

N = 1000                  # requests of each kind (transactions: N of 4 requests)
PAD_MS = 1500             # the client's sleep around each kind (> POLL_MS)
POLL_MS = 500             # how often dom0 looks at xenconsoled's log (theirs)
DIR = "/bench"            # in dom0's RAM; the xl chroot sees it at the same path
CFG = DIR + "/xsb.cfg"
KINDS = ("read", "write", "directory", "transaction")
ROOT = "/run/xlroot"
with open("/tests/EXPECT.json") as _f:     # this boot's facts (run.sh): the Xen release
    RELEASE = json.load(_f)["release"]
BIN = "/usr/lib/xen-%s/bin/" % RELEASE
LOG = ROOT + "/var/log/xen/console/guest-xsb.log"


def sh(cmd):
    rc = os.system(cmd)
    if rc != 0:
        raise OSError("command failed (%d): %s" % (rc, cmd))


def since(t0):
    return time.ticks_diff(time.ticks_ms(), t0)


def prepare():
    """The guest files in dom0's RAM, once: the tier's kernel and initramfs with
    xsbench and its init appended (a second cpio archive: the kernel unpacks both)."""
    try:
        os.stat(CFG)
        return
    except OSError:
        pass
    sh("mkdir -p %s && cp /mnt/host/guest/Image %s/ && cat /mnt/host/guest/initramfs.cpio "
       "/mnt/host/xsb/xsb.cpio > %s/initramfs-xsb.cpio" % (DIR, DIR, DIR))
    with open("/mnt/host/xsb/params.json") as f:
        p = json.load(f)
    with open(CFG, "w") as f:
        f.write('name = "xsb"\nkernel = "%s/Image"\nramdisk = "%s/initramfs-xsb.cpio"\n'
                'memory = 128\nvcpus = 1\n'
                'extra = "console=hvc0 rdinit=/bin/xsb-init quiet XSB_N=%d XSB_PAD_MS=%d"\n'
                'on_poweroff = "destroy"\non_crash = "destroy"\n' % (DIR, DIR, p["n"], p["pad_ms"]))


def params():
    with open("/mnt/host/xsb/params.json") as f:
        return json.load(f)


def settle():
    """Start from a quiet machine: Xen scrubs a destroyed guest's memory in the
    background (as bench/realxen-dom0/benchlib.py)."""
    a = _xen.physinfo()
    for _ in range(150):
        time.sleep_ms(200)
        b = _xen.physinfo()
        if b["scrub_pages"] == 0 and a["free_pages"] == b["free_pages"]:
            break
        a = b
    time.sleep_ms(300)


def threads_ns():
    """CPU time (ns) of each thread of this process, from /proc (schedstat)."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/schedstat" % tid) as f:
                out[tid] = int(f.read().split()[0])
        except OSError:
            pass
    return out


class Marks:
    """The client's output, fed as it comes: dom0's and the guest's cpu_time (and, when
    asked, this process's threads') at each mark, the client's results per kind."""

    def __init__(self, domid, threads=False):
        self.domid = domid
        self.threads = threads
        self.buf = b""
        self.begin, self.win, self.res = {}, {}, {}
        self.done = False
        self.error = None

    def sample(self):
        s = (time.ticks_us(), _xen.getdomaininfo(0)["cpu_time"], _xen.getdomaininfo(self.domid)["cpu_time"])
        return s + ((threads_ns(),) if self.threads else ())

    def feed(self, data):
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.strip().decode("utf-8", "replace")
            if line.startswith("XSB begin "):
                self.begin[line[10:]] = self.sample()
            elif line.startswith("XSB end "):
                k = line[8:]
                s = self.sample()
                b = self.begin[k]
                w = {"window_us": time.ticks_diff(s[0], b[0]), "dom0_ns": s[1] - b[1], "guest_ns": s[2] - b[2]}
                if self.threads:
                    w["threads_ns"] = {t: s[3][t] - b[3][t] for t in s[3] if t in b[3]}
                self.win[k] = w
            elif line.startswith("XSB {"):
                r = json.loads(line[4:])
                self.res[r["kind"]] = r
            elif line.startswith("XSB done"):
                self.done = True
            elif line.startswith("XSB error") or line.startswith("XSB exit"):
                self.error = line

    def wait(self, poll=None, every_ms=1000, limit_ms=400000):
        """Until the client is done; poll() (new bytes or None) where output must be
        fetched, else the console callback feeds. Wakes seldom: every wake of this
        process costs dom0 CPU that would blur the windows."""
        t0 = time.ticks_ms()
        while not self.done:
            if self.error:
                raise OSError("guest: " + self.error)
            if since(t0) > limit_ms:
                raise OSError("xsbench not done after %d s; last output %r" % (limit_ms // 1000, self.buf[-300:]))
            if poll is None:
                # ours: dom0 serves the guest's ring here, as a dom0 program
                # with nothing else to do does (xen.serve: the interpreter
                # takes each event itself)
                xen.serve(every_ms / 1000)
            else:
                # time.sleep (select), not sleep_ms: the unix port's sleep_ms
                # wakes every millisecond, which alone keeps dom0 about half
                # busy here
                time.sleep(every_ms / 1000)
            if poll is not None:
                data = poll()
                if data:
                    self.feed(data)
        return combine(self.res, self.win)


def combine(res, win):
    idle = win["idle"]
    rate0 = idle["dom0_ns"] / idle["window_us"]     # ns of dom0 CPU per us at rest
    rateg = idle["guest_ns"] / idle["window_us"]
    out = {"idle": {"dom0_cpu_pct": round(rate0 / 10, 2), "guest_cpu_pct": round(rateg / 10, 2),
                    "window_ms": round(idle["window_us"] / 1000)}}
    for k in KINDS:
        r, w = res[k], win[k]
        n = r["n"]
        d0 = w["dom0_ns"] - rate0 * w["window_us"]
        dg = w["guest_ns"] - rateg * w["window_us"]
        out[k] = {
            "n": n, "median_us": r["median_us"], "mean_us": r["mean_us"], "p10_us": r["p10_us"],
            "p90_us": r["p90_us"], "retries": r["retries"],
            "dom0_cpu_us_per_op": round(d0 / n / 1000, 1),
            "guest_cpu_us_per_op": round(dg / n / 1000, 1),
            "dom0_cpu_raw_ms": round(w["dom0_ns"] / 1e6, 1), "window_ms": round(w["window_us"] / 1000),
        }
    return out


def bench_line(key, value):
    print("BENCH " + json.dumps({key: value}))


# ---- Xen's own daemons (cxenstored or oxenstored), as bench/realxen-dom0/xlrun.py

def chroot(cmd):
    sh("chroot %s /bin/sh -c '%s'" % (ROOT, cmd))


def mounted(path):
    with open("/proc/mounts") as f:
        return (" %s " % path) in f.read()


def xl_setup(store):
    try:
        os.stat(ROOT + BIN + "xl")
    except OSError:
        sh("cp -a /mnt/host/xl %s" % ROOT)
    sh("mkdir -p /dev/pts && (grep -q ' /dev/pts ' /proc/mounts || mount -t devpts devpts /dev/pts)")
    for d in ("dev", "proc", "sys", "run", "tmp", "bench", "var/lib/xen", "var/lib/xenstored",
              "var/log/xen/console"):
        sh("mkdir -p %s/%s" % (ROOT, d))
    if not mounted(ROOT + "/dev"):
        sh("mount -o rbind /dev %s/dev && mount -o rbind /proc %s/proc && mount -o rbind /sys %s/sys"
           % (ROOT, ROOT, ROOT))
        sh("mount -t tmpfs tmpfs %s/run && mount -o bind %s %s/bench" % (ROOT, DIR, ROOT))
        sh("rm -rf %s/var/run && ln -s /run %s/var/run" % (ROOT, ROOT))
    sh("rm -rf %s/run/xen %s/run/xenstored %s/var/lib/xenstored/* && mkdir -p %s/run/xen %s/run/xenstored"
       % (ROOT, ROOT, ROOT, ROOT, ROOT))
    if store == "cxenstored":
        chroot(BIN + "xenstored --pid-file /run/xenstored.pid")
    else:
        chroot(BIN + "oxenstored --pid-file /run/xenstored.pid")
    chroot(BIN + "xen-init-dom0")
    chroot(BIN + "xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid")


def xl_stop():
    for name in ("xenconsoled", "xenstored"):
        try:
            with open("%s/run/%s.pid" % (ROOT, name)) as f:
                pid = int(f.read().split()[0])
        except OSError:
            continue
        os.system("kill %d" % pid)
        t0 = time.ticks_ms()
        while os.system("kill -0 %d 2>/dev/null" % pid) == 0:
            if since(t0) > 10000:
                raise OSError("%s (pid %d) did not stop" % (name, pid))
            time.sleep_ms(50)


class FileWatch:
    """The guest's console as xenconsoled logs it: new bytes since the last look."""

    def __init__(self, path):
        self.path = path
        self.off = 0

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except OSError:
            return None
        self.off += len(data)
        return data


def guest_domid():
    ids = [i["domid"] for i in _xen.domain_list() if i["domid"] != 0]
    if len(ids) != 1:
        raise OSError("expected one guest, have %r" % ids)
    return ids[0]


def run_theirs(key, store):
    """One phase with Xen's own xenstored (store: cxenstored or oxenstored)."""
    prepare()
    ok = False
    try:
        xl_setup(store)
        settle()
        try:
            os.remove(LOG)
        except OSError:
            pass
        w = FileWatch(LOG)
        sh("chroot %s %sxl create -q %s" % (ROOT, BIN, CFG))
        domid = guest_domid()
        try:
            r = Marks(domid).wait(w.poll, POLL_MS)
        finally:
            os.system("chroot %s /bin/sh -c '%sxl destroy xsb'" % (ROOT, BIN))
            t1 = time.ticks_ms()
            while [i["domid"] for i in _xen.domain_list()] != [0] and since(t1) < 30000:
                time.sleep_ms(20)
        r["server"] = store
        bench_line(key, r)
        ok = True
    except Exception as e:
        bench_line(key, {"server": store, "error": "%s: %s" % (type(e).__name__, e)})
    finally:
        try:
            xl_stop()
        except Exception as e:
            print("INFO stopping the daemons: %s" % e)
    print(("PASS" if ok else "FAIL") + " %s" % key)


def run_ours(key, profile=False):
    """One phase with our firmware as the whole toolstack (this process)."""
    import xen
    prepare()
    ok = False
    try:
        svc = xen.start()
        settle()
        d = xen.domain_create(CFG, paused=True)
        m = Marks(d.domid, threads=profile)
        # the marks are taken in the console's own upcall, as they arrive
        d.console.add_callback(lambda c, data: m.feed(data))
        prof = Profile(svc, d.domid) if profile else None
        d.unpause()
        try:
            r = m.wait()
            if profile:
                r["threads"] = thread_split(m.win, r)
        finally:
            d.destroy()
        if prof is not None:
            r["profile"] = prof.result(r)
        r["server"] = "ours"
        bench_line(key, r)
        ok = True
    except Exception as e:
        import sys
        sys.print_exception(e)
        bench_line(key, {"server": "ours", "error": "%s: %s" % (type(e).__name__, e)})
    print(("PASS" if ok else "FAIL") + " %s" % key)


def main_tid():
    with open("/proc/self/stat") as f:
        return f.read().split()[0]


def thread_split(win, r):
    """dom0's CPU per request split between this process's main thread (the Python:
    upcall callbacks, ring, store), its other threads (the event reader) and the rest
    of dom0 (its kernel: event delivery, the evtchn device; other processes)."""
    idle = win["idle"]
    out = {}
    for k in KINDS:
        w = win[k]
        n = r[k]["n"] * (4 if k == "transaction" else 1)
        tids = sorted(w["threads_ns"], key=int)
        main = main_tid()
        def rest_of(x):
            return x["dom0_ns"] - sum(x["threads_ns"].values())
        scale = w["window_us"] / idle["window_us"]
        m = w["threads_ns"].get(main, 0) - idle["threads_ns"].get(main, 0) * scale
        o = sum(v for t, v in w["threads_ns"].items() if t != main) - \
            sum(v for t, v in idle["threads_ns"].items() if t != main) * scale
        rest = rest_of(w) - rest_of(idle) * scale
        out[k] = {"main_thread_us_per_request": round(m / n / 1000, 1),
                  "other_threads_us_per_request": round(o / n / 1000, 1),
                  "rest_of_dom0_us_per_request": round(rest / n / 1000, 1),
                  "threads": len(tids)}
    return out


class Profile:
    """Where our dom0 time goes per request, for the profiled phase only (its timers
    cost time themselves, so its figures are not in the ratios). Wraps, on the
    running firmware, the guest ring's event callback (all the Python an upcall runs),
    Ring.service (ring copies and framing, the store's handling included) and the
    store's handle (the request itself); the rest of dom0's CPU per request is the
    upcall path outside Python: Xen, the dom0 kernel's evtchn driver, the reader
    thread, the signal and the scheduler. Internal names: best effort, reported
    missing if the toolstack's insides have moved."""

    def __init__(self, svc, domid):
        self.acc = {"callback": 0, "ring": 0, "store": 0, "events": 0}
        self.marks = []
        self.err = None
        acc = self.acc
        tu, td = time.ticks_us, time.ticks_diff
        try:
            ent = svc.rings[domid]
            ring, ch = ent[0], ent[2]
            cb = ch.callback

            def timed_cb(c):
                t = tu()
                cb(c)
                acc["callback"] += td(tu(), t)
                acc["events"] += 1
            ch.callback = timed_cb
            depth = [0]
            svc_fn = ring.service

            def timed_service(*a):
                depth[0] += 1
                t = tu()
                try:
                    return svc_fn(*a)
                finally:
                    depth[0] -= 1
                    if depth[0] == 0:
                        acc["ring"] += td(tu(), t)
            ring.service = timed_service
            store = ring.store
            h = store.handle

            def timed_handle(*a):
                t = tu()
                try:
                    return h(*a)
                finally:
                    acc["store"] += td(tu(), t)
            store.handle = timed_handle
        except Exception as e:
            self.err = "%s: %s" % (type(e).__name__, e)

    def result(self, r):
        if self.err:
            return {"error": self.err}
        ops = sum(r[k]["n"] * (4 if k == "transaction" else 1) for k in KINDS)
        a = self.acc
        return {"requests": ops, "events_per_request": round(a["events"] / ops, 2),
                "callback_wall_us_per_request": round(a["callback"] / ops, 1),
                "ring_wall_us_per_request": round(a["ring"] / ops, 1),
                "store_wall_us_per_request": round(a["store"] / ops, 1)}
