# xen-boot: dom0less
# Boot-time (dom0less) domains on real Xen. Xen builds two domains from the device tree
# before dom0 runs (scripts/xen-qemu/dom0less-dtb.sh): domid 1, the test guest's Linux
# with xen,enhanced and vpl011 only; domid 2, an idle loop without xen,enhanced.
# xen.start() adopts domid 1 (its xenstore page, entries, introduction); domid 2 is
# listed and left alone. The guest's init (tests/xen/guest/init, "modxen.dom0less")
# waits for dom0's control/sysrq before its first xenstore access, then reads its name
# and writes data/probe; its output is on Xen's console, which dom0 reads through
# _xen.readconsole().
import _xen
import xen
from xen import xenstore, xl
import xtest
from xtest import check, eq, log


def wait_for(cond, ms):
    return xtest.wait_for(cond, ms, 50)


GUEST, IDLE = 1, 2
NAME = "boot-guest"
state = {}


class XenConsole:
    """What a domain printed on Xen's console (its vpl011), read with readconsole."""

    def __init__(self):
        self.index = None
        self.text = ""

    def read(self):
        while True:
            data, self.index = _xen.readconsole(self.index)
            if not data:
                return self.text
            self.text += data.decode("utf-8", "replace")

    def lines(self, domid):
        # Xen prints a vpl011 line as "(XEN) DOM1: text" (4.17) or "(d1) text"
        out = []
        for ln in self.read().split("\n"):
            for tag in ("DOM%d: " % domid, "(d%d) " % domid):
                i = ln.find(tag)
                if i >= 0:
                    out.append(ln[i + len(tag):].rstrip("\r"))
                    break
        return out

    def has(self, domid, needle):
        return any(needle in ln for ln in self.lines(domid))


con = XenConsole()


def home(domid):
    return "/local/domain/%d" % domid


def dump(path):
    """The tree under path, "path = value (perms)" per node, for the comparison with
    init-dom0less's (docs/domain.md)."""
    v = xenstore.read(path)
    print("TREE %s = %r (%s)" % (path, v.decode("utf-8", "replace"), " ".join(xenstore.get_perms(path))))
    for c in sorted(xenstore.ls(path)):
        dump(path + "/" + c)


def test_a_start_adopts_the_enhanced_domain():
    info = _xen.getdomaininfo(GUEST)
    state["store_pfn_before"] = _xen.hvm_get_param(GUEST, _xen.HVM_PARAM_STORE_PFN)
    state["idle_before"] = _xen.getdomaininfo(IDLE)
    log("before start: domid 1 tot_pages %d max_pages %d store pfn %#x store port %d console pfn %#x" % (
        info["tot_pages"], info["max_pages"], state["store_pfn_before"],
        _xen.hvm_get_param(GUEST, _xen.HVM_PARAM_STORE_EVTCHN),
        _xen.hvm_get_param(GUEST, _xen.HVM_PARAM_CONSOLE_PFN)))
    xen.start(boot_domains={GUEST: {"name": NAME}})
    d = xen.get_dom0().domains.get(GUEST)
    check(d is not None, "domid 1 not adopted: %r" % (xen.get_dom0().domains,))
    eq(d.name, NAME, "the adopted domain's name")
    check(d in xen.domains(), "adopted domain not in xen.domains()")
    rows = {r[1]: r for r in xl.rows()}
    check(GUEST in rows and rows[GUEST][0] == NAME, "xl.rows(): %r" % (rows,))
    eq(xenstore.read(home(GUEST) + "/name"), NAME.encode(), "name in our xenstore")
    eq(_xen.getdomaininfo(GUEST)["paused"], False, "adoption left it running")
    pfn = _xen.hvm_get_param(GUEST, _xen.HVM_PARAM_STORE_PFN)
    if state["store_pfn_before"] in (0, 0xFFFFFFFFFFFFFFFF):    # left to dom0 (~0: 4.17.7)
        eq(pfn, (_xen.GUEST_MAGIC_BASE >> 12) + 1, "HVM_PARAM_STORE_PFN given by dom0")
        eq(_xen.getdomaininfo(GUEST)["max_pages"], info["max_pages"] + 1, "allowance raised by one page")
    xl.list()


def test_b_not_enhanced_listed_not_touched():
    before = state["idle_before"]
    check(any(d.domid == IDLE for d in xen.domains()), "domid 2 not in xen.domains()")
    check(IDLE in [r[1] for r in xl.rows()], "domid 2 not in xl.rows()")
    check(IDLE not in xen.get_dom0().domains, "domid 2 was adopted")
    check(not xenstore.exists(home(IDLE)), "domid 2 has a xenstore home")
    eq(_xen.hvm_get_param(IDLE, _xen.HVM_PARAM_STORE_EVTCHN), 0, "domid 2's store port")
    eq(_xen.hvm_get_param(IDLE, _xen.HVM_PARAM_STORE_PFN), 0, "domid 2's store pfn")
    now = _xen.getdomaininfo(IDLE)
    for k in ("tot_pages", "max_pages", "paused"):
        eq(now[k], before[k], "domid 2's " + k)


def test_c_guest_xenbus_comes_up():
    # the guest's init waits for this; its kernel's watch clears the node
    xenstore.write(home(GUEST) + "/control/sysrq", "4")
    ok = wait_for(lambda: xenstore.read(home(GUEST) + "/control/sysrq") == b"", 120000)
    check(ok, "the guest's kernel never acted on control/sysrq: console %r" % con.lines(GUEST)[-10:])


def test_d_guest_reads_its_name_and_writes():
    ok = wait_for(lambda: xenstore.exists(home(GUEST) + "/data/probe"), 60000)
    check(ok, "no data/probe from the guest: console %r" % con.lines(GUEST)[-10:])
    eq(xenstore.read(home(GUEST) + "/data/probe"), b"ok from " + NAME, "the guest's node")
    dump(home(GUEST))


def test_e_guest_console_reaches_dom0():
    ok = wait_for(lambda: con.has(GUEST, "guest waiting for input"), 30000)
    lines = con.lines(GUEST)
    for ln in lines:
        log("domU console: " + ln)
    check(ok, "guest output not on Xen's console: %r" % lines[-10:])
    check(any(ln.strip() == "guest up" for ln in lines), "no 'guest up'")
    check(any(ln.strip() == "guest name=" + NAME for ln in lines), "no 'guest name=%s'" % NAME)
    check(any("guest probe written" in ln for ln in lines), "no 'guest probe written'")


def test_f_shutdown_and_gone():
    d = xen.get_dom0().domains[GUEST]
    d.shutdown()

    def acked_or_gone():
        # the guest clears control/shutdown, then powers off; dom0 may have
        # torn its home down (on_poweroff) before this looks again
        try:
            return xenstore.read(home(GUEST) + "/control/shutdown") == b""
        except OSError:
            return True
    acked = wait_for(acked_or_gone, 20000)
    log("control/shutdown acknowledged by the guest: %s" % acked)
    ok = wait_for(lambda: GUEST not in xtest.domids(), 60000)
    check(ok, "domid 1 still there after shutdown: %r, console %r" % (
        _xen.getdomaininfo(GUEST) if GUEST in xtest.domids() else None, con.lines(GUEST)[-5:]))
    check(not xenstore.exists(home(GUEST)), "its xenstore home is left")
    check(all(x.domid != GUEST for x in xen.domains()), "still in xen.domains()")
    check(GUEST not in [r[1] for r in xl.rows()], "still in xl.rows()")
    check(IDLE in xtest.domids(), "domid 2 went too")
    xl.list()


xtest.main(globals())
