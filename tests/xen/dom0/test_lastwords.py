# A guest's last words reach dom0 on real Xen: a Linux domU that
# prints a unique line and powers off in the same instant, and one that panics. Our
# console server must drain the ring one last time before the domain's page goes; the
# Domain object keeps the dead domain's console. The guest runs the tier's init
# (tests/xen/guest/init): dom0 types "run TAG CMD" on its console, and CMD here writes
# straight to /dev/hvc0 and calls poweroff -f within one shell, so the line and the
# shutdown leave the guest together. The line is built by the guest's shell
# ("LA""ST-..."), so dom0's own command text never holds it.
#
# dom0 is busy in a blocking call (a shell command, as a policy script might run) while
# the guest says its last words and dies. The console's event and VIRQ_DOM_EXC then
# reach the interpreter in one batch of upcalls, which the binding runs in port order:
# VIRQ_DOM_EXC, bound first, before the console's. So the domain's teardown starts
# with the line still unread in the ring, and only the final drain (in the VIRQ handler
# and in Console.close) saves it. With dom0 idle the console's own event gets there
# first and the line survives even without the drain. The panicking guest says
# "guest crashing" and panics 2 s later: dom0 goes busy on reading that line, so the
# panic text and the watchdog's shutdown both come while it is blocked. Each of the
# three cases fails with the drain removed.
import os
import time
import xen
import xtest
from xtest import by_name, check, cleanup, eq, domids, log, text, wait_for, wait_text

GUEST = "/mnt/host/guest/"


def cfg(name, **actions):
    c = {
        "name": name,
        "memory": 128,
        "kernel": GUEST + "Image",
        "ramdisk": GUEST + "initramfs.cpio",
        "cmdline": "console=hvc0 rdinit=/init quiet",
        "on_poweroff": "destroy",
        "on_reboot": "destroy",
        "on_crash": "destroy",
    }
    c.update(actions)
    return c


def token():
    with open("/dev/urandom", "rb") as f:
        return "%08x" % int.from_bytes(f.read(4), "little")


def history(dom):
    """All of the console's backlog: for a restarted domain, the old incarnation's
    output and the separator line too (xtest.text leaves those out)."""
    c = dom.console
    return c.history().decode("utf-8", "replace") if c is not None else ""


def ready(name, **actions):
    """A booted guest waiting for console commands."""
    xen.start()
    dom = xen.domain_create(cfg(name, **actions))
    if not wait_text(dom, "guest waiting for input", 120000):
        cleanup()
        raise xtest.Fail("%s never got ready: %r" % (name, text(dom)[-400:]))
    return dom


def say_and_power_off(dom, tag):
    """The guest prints LAST-<tag> and powers off in the same shell command."""
    dom.console.write(('run lw echo "LA""ST-%s" >/dev/hvc0; poweroff -f\n' % tag).encode())


def busy(seconds):
    """dom0 blocked in a shell command: no upcall runs until it returns."""
    t0 = time.ticks_ms()
    os.system("sleep %d" % seconds)
    return time.ticks_diff(time.ticks_ms(), t0)


def gone(domid, ms=60000):
    ok = wait_for(lambda: domid not in domids(), ms)
    if not ok:
        cleanup()
    return ok


def test_a_poweroff_destroy_keeps_last_line():
    tag = token()
    dom = ready("lw-off")
    domid = dom.domid
    say_and_power_off(dom, tag)
    busy(4)
    check(gone(domid), "guest %d still there after poweroff -f" % domid)
    check(dom.console is not None and dom.console.closed, "console after teardown: %r" % (dom.console,))
    check(("LAST-" + tag) in text(dom), "the guest's last line is not in dom0's copy of its console: %r"
          % text(dom)[-300:])
    eq(domids(), [0], "domains left")


def test_b_poweroff_restart_carries_last_line():
    tag = token()
    name = "lw-restart"
    dom = ready(name, on_poweroff="restart")
    old = dom.domid
    say_and_power_off(dom, tag)
    busy(4)
    ok = wait_for(lambda: by_name(name) is not None and by_name(name).domid != old, 60000)
    if not ok:
        cleanup()
        raise xtest.Fail("no new %s after poweroff; old console %r" % (name, text(dom)[-300:]))
    new = by_name(name)
    try:
        check(old not in domids(), "old incarnation %d still exists" % old)
        check(("LAST-" + tag) in history(dom), "the last line is not in the old incarnation's console: %r"
              % history(dom)[-300:])
        sep = "--- %s: domain %d poweroff; restarted as domain %d ---" % (name, old, new.domid)
        # the carried output has a "guest up" of its own: wait for the new one
        check(wait_for(lambda: "guest up" in history(new).partition(sep)[2], 120000),
              "new incarnation never came up after the separator: %r" % history(new)[-600:])
        h = history(new)
        i_last, i_sep = h.find("LAST-" + tag), h.find(sep)
        i_up = h.find("guest up", i_sep) if i_sep >= 0 else -1
        check(0 <= i_last < i_sep < i_up, "new console is not old output, separator, new output "
              "(last line at %d, separator at %d, new 'guest up' at %d): %r" % (i_last, i_sep, i_up, h[-600:]))
    finally:
        new.destroy()
    eq(domids(), [0], "domains left")


def test_c_panic_destroy_keeps_panic_text():
    dom = ready("lw-panic")
    domid = dom.domid
    # the tier's init arms Xen's watchdog (Arm Linux reports no crash by itself), then
    # echo c > /proc/sysrq-trigger; the watchdog's shutdown takes on_crash
    dom.console.write(b"crash\n")
    check(wait_text(dom, "guest crashing", 30000), "guest did not take the crash command: %r" % text(dom)[-300:])
    # the panic follows 2 s later, and the watchdog's shutdown within 3 s of it: dom0
    # is blocked through both, so the teardown starts with the panic text unread
    busy(9)
    check(gone(domid), "panicked guest %d still there" % domid)
    h = text(dom)
    check("Kernel panic" in h and "sysrq triggered crash" in h,
          "no panic text in dom0's copy of the console: %r" % h[-600:])
    log("panic text: %d bytes after 'guest crashing'" % len(h.split("guest crashing", 1)[1]))
    eq(domids(), [0], "domains left")


xtest.main(globals())
