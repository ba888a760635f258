# Linux domUs built by xen.domain_create on real Xen, served by our own xenstore and
# console servers (dom0 runs no Xen toolstack). The guest's init (tests/xen/guest/init)
# reads its name and writes data/probe with Debian's xenstore-utils, then runs the
# commands dom0 types on its console (tests/xen/guest/init lists them).
# The images are read straight from the 9p share: the builder copes with files that
# cannot be read into guest memory directly.
import time
import _xen
import xen
from xen import xenstore
import xtest
from xtest import by_name, check, cleanup, eq, domids, err, log, text, wait_for, wait_text

GUEST = "/mnt/host/guest/"
BASE = {
    "memory": 128,
    "kernel": GUEST + "Image",
    "ramdisk": GUEST + "initramfs.cpio",
    "cmdline": "console=hvc0 rdinit=/init quiet",
    "on_poweroff": "destroy",
    "on_crash": "restart",
    # a crash reported as a reboot would destroy it: the restart test then fails
    "on_reboot": "destroy",
}
state = {"seq": 0}


def cfg(name):
    c = dict(BASE)
    c["name"] = name
    return c


def guest_run(dom, cmd, ms=30000):
    """Run a shell command in the guest (through its console); -> (rc, output)."""
    state["seq"] += 1
    tag = "c%d" % state["seq"]
    dom.console.write(("run %s %s\n" % (tag, cmd)).encode())
    mark = "guest result %s rc=" % tag
    check(wait_text(dom, mark, ms), "guest did not answer %r: %r" % (cmd, text(dom)[-300:]))
    line = text(dom).split(mark)[1].split("\n")[0]
    rc, _, out = line.partition(" out=")
    return int(rc), out.strip()


def children(path):
    try:
        return xenstore.ls(path)
    except OSError as e:
        if e.errno != 2:
            raise
        return []


def boot_checks(dom, name):
    check(wait_text(dom, "guest up", 90000), "no 'guest up' from %s: %r" % (name, text(dom)[-400:]))
    check(wait_text(dom, "guest waiting for input", 60000), "%s never got ready: %r" % (name, text(dom)[-400:]))
    eq(text(dom).split("guest name=")[1].split("\n")[0].strip(), name, "xenstore-read name in " + name)
    # Linux's shutdown watcher writes control/feature-* (nodes the toolstack
    # creates writable for the guest); EACCES there is logged on the console
    check("setup_shutdown_watcher: Error" not in text(dom),
          "guest could not write its control/feature nodes: %r" % text(dom)[-400:])


def test_a_domain_create():
    xen.start()
    t0 = time.ticks_ms()
    dom = xen.domain_create(cfg("probe-guest"))
    state["a"] = dom
    state["t_create"] = time.ticks_diff(time.ticks_ms(), t0)
    log("domain_create took %d ms (domid %d, images read from 9p)" % (state["t_create"], dom.domid))
    check(dom.domid > 0, "domid")
    info = _xen.getdomaininfo(dom.domid)
    check(not info["paused"], "guest left paused")
    eq(info["max_pages"] >= 128 * 256, True, "max_pages covers 128 MiB")
    check(dom.console is not None, "no console served for the guest")


def test_b_guest_up_on_our_console():
    t0 = time.ticks_ms()
    ok = wait_text(state["a"], "guest up", 90000)
    log("first guest line after %d ms" % time.ticks_diff(time.ticks_ms(), t0))
    check(ok, "no 'guest up' on the console; console so far: %r" % text(state["a"])[-400:])


def test_c_guest_reads_its_name_from_our_xenstore():
    dom = state["a"]
    check(wait_text(dom, "guest name=", 30000), "guest never reported its name: %r" % text(dom)[-400:])
    eq(text(dom).split("guest name=")[1].split("\n")[0].strip(), "probe-guest", "xenstore-read name in the guest")


def test_d_guest_write_reaches_dom0_xenstore():
    dom = state["a"]
    check(wait_text(dom, "guest probe", 30000), "guest never wrote its probe: %r" % text(dom)[-400:])
    check("guest probe written" in text(dom), "xenstore-write failed in the guest")
    path = xenstore.get_domain_path(dom.domid) + "/data/probe"
    eq(xenstore.read(path), b"ok from probe-guest", "dom0 reads the guest's node")


def test_d2_pause_unpause_visible_in_getdomaininfo():
    dom = state["a"]
    dom.pause()
    eq(_xen.getdomaininfo(dom.domid)["paused"], True, "paused after .pause()")
    eq(dom.info()["state"], "paused", "Domain.info() state")
    dom.unpause()
    eq(_xen.getdomaininfo(dom.domid)["paused"], False, "running after .unpause()")


def test_e_console_input_reaches_guest():
    dom = state["a"]
    check(wait_text(dom, "guest waiting for input", 30000), "guest not waiting for input")
    dom.console.write(b"hello-from-dom0\n")
    check(wait_text(dom, "guest echo: hello-from-dom0", 30000), "echo missing: %r" % text(dom)[-400:])


def test_f_second_domu_alongside():
    a = state["a"]
    b = xen.domain_create(cfg("peer-guest"))
    state["b"] = b
    check(b.domid != a.domid, "two domids")
    boot_checks(b, "peer-guest")
    check(wait_text(b, "guest probe written", 30000), "peer's xenstore-write failed: %r" % text(b)[-400:])
    eq(xenstore.read("/local/domain/%d/data/probe" % b.domid), b"ok from peer-guest", "peer's node in dom0")
    ids = domids()
    check(a.domid in ids and b.domid in ids, "both guests listed: %r" % ids)
    # the first guest is still served while the second runs
    eq(guest_run(a, "xenstore-read name"), (0, "probe-guest"), "first guest's own name")


def test_g_domus_cannot_read_each_other():
    a, b = state["a"], state["b"]
    ha, hb = "/local/domain/%d" % a.domid, "/local/domain/%d" % b.domid
    got = {
        "A reads B's name": guest_run(a, "xsraw %s/name" % hb),
        "A reads B's data": guest_run(a, "xsraw %s/data/probe" % hb),
        "B reads A's data": guest_run(b, "xsraw %s/data/probe" % ha),
        "A reads its own name": guest_run(a, "xsraw %s/name" % ha),
        "B reads its own data": guest_run(b, "xsraw %s/data/probe" % hb),
    }
    want = {
        "A reads B's name": (0, "type=16 EACCES"),
        "A reads B's data": (0, "type=16 EACCES"),
        "B reads A's data": (0, "type=16 EACCES"),
        "A reads its own name": (0, "type=2 probe-guest"),
        "B reads its own data": (0, "type=2 ok from peer-guest"),
    }
    eq(got, want, "raw XS_READ replies in the guests")
    rc, out = guest_run(a, "xenstore-write %s/data/planted x" % hb)
    check(rc != 0, "A wrote into B's home: %r" % out)
    eq(xenstore.exists(hb + "/data/planted"), False, "node planted by A in B's home")


def test_h_destroy_visible_in_getdomaininfo():
    b = state["b"]
    domid = b.domid
    eq(_xen.getdomaininfo(domid)["domid"], domid, "peer exists before destroy")
    b.destroy()
    eq(err(_xen.getdomaininfo, domid), "ESRCH", "getdomaininfo after .destroy()")
    check(domid not in domids(), "destroyed domain still listed")
    eq(xenstore.exists("/local/domain/%d" % domid), False, "peer's xenstore home after destroy")
    # a torn-down domain keeps its console, closed, with what the guest printed
    check(b.console is not None and b.console.closed, "console after destroy: %r" % (b.console,))
    check("guest probe written" in text(b), "peer's output gone after destroy: %r" % text(b)[-200:])


def test_i_crash_restarts_with_on_crash_restart():
    a = state["a"]
    old = a.domid
    uuid = a.facts["uuid"]
    # What Xen reported, seen before lifecycle's own handler acts on it.
    seen = []

    def spy():
        try:
            i = _xen.getdomaininfo(old)
        except OSError:
            return
        if i["shutdown"]:
            seen.append(i["shutdown_reason"])
    xen.get_dom0().exc_handlers.insert(0, spy)
    a.console.write(b"crash\n")
    t0 = time.ticks_ms()
    check(wait_text(a, "guest crashing", 20000), "guest did not take the crash command: %r" % text(a)[-300:])
    check("guest crashing with the watchdog armed" in text(a), "the guest could not arm Xen's watchdog: %r"
          % text(a)[-300:])
    ok = wait_for(lambda: (by_name("probe-guest") is not None and by_name("probe-guest").domid != old), 60000)
    check(ok, "no new probe-guest after the crash; domains %r, old %r" % (
        [(d.domid, d.name) for d in xen.domains()], _xen.getdomaininfo(old) if old in domids() else "gone"))
    xen.get_dom0().exc_handlers.remove(spy)
    # Arm Linux reports a panic to no one; Xen's watchdog turns it into SHUTDOWN_watchdog,
    # which xen.domain handles with on_crash (it has no separate on_watchdog).
    eq(seen[:1], [_xen.SHUTDOWN_watchdog], "shutdown reason Xen gave the crashed guest")
    new = by_name("probe-guest")
    state["a"] = new
    log("restarted as domain %d %d ms after the crash request" % (new.domid, time.ticks_diff(time.ticks_ms(), t0)))
    check(old not in domids(), "crashed domain %d still exists" % old)
    for p in ("/local/domain/%d" % old, "/vm/" + uuid, "/libxl/%d" % old):
        eq(xenstore.exists(p), False, "stale node " + p)
    check(new.facts["uuid"] != uuid, "restart reused the old uuid")
    # its console starts with the old incarnation's last output, then a separator
    past = new.console.history().decode("utf-8", "replace")
    sep = "--- probe-guest: domain %d watchdog; restarted as domain %d ---" % (old, new.domid)
    check(sep in past and "sysrq triggered crash" in past.split(sep)[0],
          "the restarted console lacks the crash output or the separator: %r" % past[-600:])
    boot_checks(new, "probe-guest")
    eq(guest_run(new, "xenstore-read name"), (0, "probe-guest"), "restarted guest's name")


def test_j_poweroff_destroys_and_cleans_xenstore():
    dom = state["a"]
    domid = dom.domid
    home = "/local/domain/%d" % domid
    dom.console.write(b"poweroff\n")
    t0 = time.ticks_ms()
    wait_for(lambda: domid not in domids(), 60000)
    if domid in domids():
        info = _xen.getdomaininfo(domid)
        cleanup()
        raise xtest.Fail("guest still exists after poweroff: %r" % info)
    log("gone %d ms after the poweroff request" % time.ticks_diff(time.ticks_ms(), t0))
    eq(xenstore.exists(home), False, "xenstore home left behind")
    eq(domids(), [0], "domains left")
    eq([x for x in children("/local/domain") if x != "0"], [], "guest homes under /local/domain")
    eq(children("/vm"), [], "entries under /vm")
    eq(children("/libxl"), [], "entries under /libxl")


xtest.main(globals())
