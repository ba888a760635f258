# tests/policy/test_policy_powercut.py's firmware side: power cuts, run
# inside the firmware. The policy store lives on littlefs (vfs.VfsLfs2) over
# a RAM flash whose power is cut after the N-th block write, for every N,
# during install(), boot() and confirm(). After each cut the flash is
# "rebooted": mounted afresh and booted with xen.policy.
import gc
import sys
import vfs
import xen.policy as P

BS = 512
NBLK = 256
MNT = "/lfs"
BLOCK_COUNT, BLOCK_SIZE, BLOCK_ERASE = 4, 5, 6     # MicroPython's block device ioctl ops
ROOT = MNT + "/policy"


class PowerCut(Exception):
    pass


class Flash:
    """Extended block-device protocol over RAM. With a budget, the write
    that would be number budget+1 is torn and raises PowerCut and from then on nothing
    reaches the flash (later writes, e.g. from finalisers, are dropped)."""

    def __init__(self, data, budget=None):
        self.d = bytearray(data)
        self.budget = budget
        self.writes = 0
        self.dead = False

    def readblocks(self, n, buf, off=0):
        if self.dead:
            return      # no power: also keeps GC finalisers from allocating
        a = n * BS + off
        buf[:] = memoryview(self.d)[a:a + len(buf)]

    def writeblocks(self, n, buf, off=0):
        if self.dead:
            return
        if self.budget is not None and self.writes >= self.budget:
            # the cut tears this write: its first half lands, the rest not
            self.dead = True
            a = n * BS + off
            h = len(buf) // 2
            self.d[a:a + h] = buf[:h]
            raise PowerCut()
        self.writes += 1
        a = n * BS + off
        self.d[a:a + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == BLOCK_COUNT:
            return NBLK
        if op == BLOCK_SIZE:
            return BS
        if op == BLOCK_ERASE:
            return 0
        return None


def load(path):
    with open(path, "rb") as f:
        return f.read()


def forget():
    # a fresh interpreter after each reboot: nothing of an earlier policy cached
    for k in ("helper", "data"):
        if k in sys.modules:
            del sys.modules[k]
    for s in ("a", "b"):
        while ROOT + "/" + s in sys.path:
            sys.path.remove(ROOT + "/" + s)


def mount(flash):
    try:
        vfs.umount(MNT)
    except OSError:
        pass
    vfs.mount(vfs.VfsLfs2(flash), MNT)


def up(image, budget=None):
    fl = Flash(image, budget)
    mount(fl)
    return fl, P.Policy(ROOT, target="modxen,sim")


def reboot(image):
    """Boot the flash image; returns (versions run, status)."""
    forget()
    fl, pol = up(image)
    ran = []
    try:
        pol.boot(globals={"RESULT": ran})
    except P.PolicyError as e:
        return ran, {"error": str(e)}, fl
    return ran, pol.status(), fl


def cut_every(image, action, after_cut):
    """Run action(policy) on a copy of image with the power cut after N
    writes, for N = 0, 1, ... until the action completes; after_cut(N,
    flash image) for each cut. Returns the number of cuts and the image
    after the complete run."""
    n = 0
    while True:
        gc.collect()
        forget()
        fl, pol = up(image, n)
        try:
            action(pol)
        except PowerCut:
            pass
        except OSError:
            # littlefs noticed the dead flash after the cut: still a cut
            if not fl.dead:
                raise
        if not fl.dead:
            return n, bytes(fl.d)
        img = bytes(fl.d)
        fl = pol = None
        after_cut(n, img)
        n += 1


def boot_and_confirm(pol):
    pol.boot(globals={"RESULT": []})
    pol.confirm()


def run_all(rep, name, image, action, allowed, mincounter):
    """Cut the power at every block write of action(policy) on image; each
    reboot after a cut must give one of the allowed outcomes and a counter
    of at least mincounter. Returns the image after the complete action."""
    r = {"seen": {}, "bad": []}

    def after_cut(n, img):
        ran, st, _ = reboot(img)
        if "error" in st and "no policy installed" in st["error"]:
            key = "none"
        else:
            key = "%s/%s/%s" % (ran, st.get("version"), st.get("state"))
        r["seen"][key] = r["seen"].get(key, 0) + 1
        if key not in allowed:
            r["bad"].append((n, key, st))
        if "counter" in st and st["counter"] < mincounter:
            r["bad"].append((n, "counter went down", st))

    r["cuts"], done = cut_every(image, action, after_cut)
    # N = every write: the action completed; the next boot sees its result
    ran, st, _ = reboot(done)
    r["final"] = "none" if "error" in st else "%s/%s/%s" % (ran, st.get("version"), st.get("state"))
    rep[name] = r
    return done


def report(paths):
    """paths: the bundles of versions 1, 2 and 3 (counters 1, 2, 3). Each
    case as {"cuts", "seen": {outcome: count}, "bad", "final"}, an outcome
    being "[versions booted]/version/state"."""
    data = dict((v, load(p)) for v, p in enumerate(paths, 1))

    # ---- baseline: v1 installed, booted and confirmed
    fresh = Flash(bytearray(b"\xff" * (BS * NBLK)))
    vfs.VfsLfs2.mkfs(fresh)
    base = bytes(fresh.d)
    fl, pol = up(base)
    pol.install(data[1])
    pol.boot(globals={"RESULT": []})
    pol.confirm()
    v1 = bytes(fl.d)
    rep = {}

    # 1. install v2 over confirmed v1: the next boot runs v1, or v2 as a trial
    v2 = run_all(rep, "install", v1, lambda p: p.install(data[2]),
                 ("[1]/1/confirmed", "[2]/2/trial"), 1)

    # 2. the boot that starts the v2 trial: v2 again (tries not yet recorded) or
    #    v1 (the reset came after the trial started: revert)
    v2booted = run_all(rep, "trial boot", v2, lambda p: p.boot(globals={"RESULT": []}),
                       ("[1]/1/confirmed", "[2]/2/trial"), 1)

    # 3. confirm(): afterwards v2 confirmed, or (cut before the record landed) the
    #    restart before confirm reverts to v1
    v2conf = run_all(rep, "confirm", v2booted, lambda p: p.confirm(),
                     ("[1]/1/confirmed", "[2]/2/confirmed"), 1)
    ran, st, _ = reboot(v2conf)
    rep["after confirm"] = [ran, st]

    # 3b. once v2 is confirmed (counter 2), cuts while installing v3 never lower it
    run_all(rep, "install over v2", v2conf, lambda p: p.install(data[3]),
            ("[2]/2/confirmed", "[3]/3/trial"), 2)

    # 4. a first install on an empty store: nothing, or v1 as a trial
    run_all(rep, "first install", base, lambda p: p.install(data[1]), ("none", "[1]/1/trial"), 0)

    # 5. after a cut in the middle of an install the device still takes v3
    mid = []
    cut_every(v1, lambda p: p.install(data[2]), lambda n, img: mid.append(img) if n == 12 else None)
    ran, st, fl = reboot(mid[0])
    pol = P.Policy(ROOT, target="modxen,sim")
    if st.get("state") == "trial":
        pol.confirm()
    forget()
    pol.install(data[3])
    ran, st, _ = reboot(bytes(fl.d))
    rep["install after a cut"] = [ran, st]
    return rep
