# Test runner for the dom0 side of the real-Xen tier (runs on the aarch64 firmware).
# A test module defines test_* functions and ends with `xtest.main(globals())`. Each
# test prints one line, "PASS <name>" or "FAIL <name>: <why>"; scripts/xen-qemu/run.sh
# collects them from the 9p share. Lines starting with "CONSOLE " ask the host to
# find that text in the Xen console log (proof that console_io reached Xen).
import sys
import json
import _xen

# Facts of this boot (QEMU and Xen command line, package versions), from run.sh.
with open("/tests/EXPECT.json") as _f:
    EXPECT = json.load(_f)


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def errname(code):
    return _xen.errorcode.get(code, code)


def err(f, *a, **k):
    """Call f; return None, Xen's errno name of an OSError, or the exception type name."""
    try:
        f(*a, **k)
    except OSError as e:
        return errname(e.errno)
    except (ValueError, TypeError, OverflowError) as e:
        return type(e).__name__
    return None


def domids():
    return [i["domid"] for i in _xen.domain_list()]


def log(msg):
    print("INFO", msg)


def text(dom):
    """What the guest's current incarnation has printed on the console we
    serve: a restarted domain's console starts with the old incarnation's
    output and a separator line (xen.console), which this leaves out."""
    c = dom.console
    if c is None:
        return ""
    t = c.history().decode("utf-8", "replace")
    i = t.rfind("\n--- %s: domain " % dom.name)
    return t[t.index("\n", i + 1) + 1:] if i >= 0 else t


def wait_for(cond, ms, step_ms=20):
    """Let upcalls run (a loop with sleeps) until cond() or `ms` have passed;
    -> whether cond() came true."""
    import time
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > ms:
            return False
        time.sleep_ms(step_ms)
    return True


def wait_text(dom, needle, ms):
    return wait_for(lambda: needle in text(dom), ms)


def by_name(name):
    """The domain of that name in xen.domains(), or None."""
    import xen
    for d in xen.domains():
        if d.name == name:
            return d
    return None


def cleanup():
    """After a failure: leave no guest behind for the tests that follow."""
    import xen
    for d in xen.domains():
        if d.domid != 0:
            try:
                d.destroy()
            except Exception as e:
                log("cleanup of %r: %s" % (d, e))


def main(g):
    names = sorted(k for k in g if k.startswith("test_"))
    for n in names:
        try:
            g[n]()
            print("PASS", n)
        except Exception as e:
            msg = "%s: %s" % (type(e).__name__, e)
            print("FAIL %s: %s" % (n, msg.replace("\n", " ")))
            sys.print_exception(e)
