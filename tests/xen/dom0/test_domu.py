# A Linux domU built by xen.domain_create on real Xen, served by our own xenstore and
# console servers (dom0 runs no Xen toolstack). The guest's init (tests/xen/guest/init)
# reads its name and writes data/probe with Debian's xenstore-utils, then echoes a line
# of console input and powers off.
import time
import _xen
import xen
from xen import xenstore
import xtest
from xtest import check, eq, domids

GUEST = "/run/guest/"   # copied from the share by dom0-init
CFG = {
    "name": "probe-guest",
    "memory": 128,
    "kernel": GUEST + "Image",
    "ramdisk": GUEST + "initramfs.cpio",
    "cmdline": "console=hvc0 rdinit=/init quiet",
    "on_poweroff": "destroy",
}
state = {}


def log(msg):
    print("INFO", msg)


def console_text():
    c = state["dom"].console
    return c.history().decode("utf-8", "replace") if c is not None else ""


def wait_text(text, ms):
    t0 = time.ticks_ms()
    while text not in console_text():
        if time.ticks_diff(time.ticks_ms(), t0) > ms:
            return False
        time.sleep_ms(20)
    return True


def test_a_domain_create():
    xen.start()
    t0 = time.ticks_ms()
    dom = xen.domain_create(CFG)
    state["dom"] = dom
    state["t_create"] = time.ticks_diff(time.ticks_ms(), t0)
    log("domain_create took %d ms (domid %d)" % (state["t_create"], dom.domid))
    check(dom.domid > 0, "domid")
    info = _xen.getdomaininfo(dom.domid)
    check(not info["paused"], "guest left paused")
    eq(info["max_pages"] >= 128 * 256, True, "max_pages covers 128 MiB")
    check(dom.console is not None, "no console served for the guest")


def test_b_guest_up_on_our_console():
    t0 = time.ticks_ms()
    ok = wait_text("guest up", 90000)
    log("first guest line after %d ms" % time.ticks_diff(time.ticks_ms(), t0))
    check(ok, "no 'guest up' on the console; console so far: %r" % console_text()[-400:])


def test_c_guest_reads_its_name_from_our_xenstore():
    check(wait_text("guest name=", 30000), "guest never reported its name: %r" % console_text()[-400:])
    eq(console_text().split("guest name=")[1].split("\n")[0].strip(), CFG["name"], "xenstore-read name in the guest")


def test_d_guest_write_reaches_dom0_xenstore():
    check(wait_text("guest probe", 30000), "guest never wrote its probe: %r" % console_text()[-400:])
    check("guest probe written" in console_text(), "xenstore-write failed in the guest")
    path = xenstore.get_domain_path(state["dom"].domid) + "/data/probe"
    eq(xenstore.read(path), b"ok", "dom0 reads the guest's node")


def test_d2_pause_unpause_visible_in_getdomaininfo():
    dom = state["dom"]
    dom.pause()
    eq(_xen.getdomaininfo(dom.domid)["paused"], True, "paused after .pause()")
    dom.unpause()
    eq(_xen.getdomaininfo(dom.domid)["paused"], False, "running after .unpause()")


def test_e_console_input_reaches_guest():
    check(wait_text("guest waiting for input", 30000), "guest not waiting for input")
    state["dom"].console.write(b"hello-from-dom0\n")
    check(wait_text("guest echo: hello-from-dom0", 30000), "echo missing: %r" % console_text()[-400:])


def test_f_poweroff_destroys_and_cleans_xenstore():
    dom = state["dom"]
    domid = dom.domid
    home = "/local/domain/%d" % domid
    t0 = time.ticks_ms()
    while domid in domids():
        if time.ticks_diff(time.ticks_ms(), t0) > 60000:
            break
        time.sleep_ms(50)
    if domid in domids():
        raise xtest.Fail("guest still exists after poweroff: %r" % _xen.getdomaininfo(domid))
    log("gone %d ms after the test began waiting" % time.ticks_diff(time.ticks_ms(), t0))
    eq(xenstore.exists(home), False, "xenstore home left behind")
    eq(domids(), [0], "domains left")


xtest.main(globals())
