# xen.xl: xl-like commands for the REPL (the interactive surface of xl and
# zephyr-xenlib's `xu`). Each takes a domain name or id where xl does.
#   >>> from xen import xl
#   >>> xl.create('/flash/guest.cfg'); xl.list(); xl.console('guest')
import _xen
import xen



def _find(name_or_domid):
    """The Domain for a name or id; ValueError naming it when there is none
    (never dom0 by accident)."""
    for d in xen.domains():
        if d.domid == name_or_domid or d.name == name_or_domid or \
                (isinstance(name_or_domid, str) and name_or_domid.isdigit() and d.domid == int(name_or_domid)):
            return d
    raise ValueError("no domain %r" % (name_or_domid,))


def _guest(name_or_domid):
    d = _find(name_or_domid)
    if d.domid == 0:
        raise ValueError("domain 0 is the control domain itself")
    return d


def create(cfg, paused=False):
    d = xen.domain_create(cfg, paused=paused)
    print("created %s (domain %d)" % (d.name, d.domid))
    return d


def _letters(i):
    # xl's state column: r b p s c d
    s = ""
    s += "r" if i["running"] else "-"
    s += "b" if i["blocked"] else "-"
    s += "p" if i["paused"] else "-"
    crashed = i["shutdown"] and i["shutdown_reason"] in (_xen.SHUTDOWN_crash, _xen.SHUTDOWN_watchdog)
    s += "s" if i["shutdown"] and not crashed else "-"
    s += "c" if crashed else "-"
    s += "d" if i["dying"] else "-"
    return s


def rows():
    """[(name, id, mem MiB, vcpus, state, time s)] as `list` prints them."""
    out = []
    names = {}
    for d in xen.domains():
        names[d.domid] = d.name
    for i in _xen.domain_list():
        out.append((names.get(i["domid"], "?"), i["domid"], i["tot_pages"] * 4 // 1024,
                    i["nr_online_vcpus"], _letters(i), i["cpu_time"] / 1e9))
    return out


def list():
    print("%-32s %5s %5s %5s %6s %9s" % ("Name", "ID", "Mem", "VCPUs", "State", "Time(s)"))
    for r in rows():
        print("%-32s %5d %5d %5d %6s %9.1f" % r)


def destroy(name_or_domid):
    _guest(name_or_domid).destroy()


def pause(name_or_domid):
    _guest(name_or_domid).pause()


def unpause(name_or_domid):
    _guest(name_or_domid).unpause()


def shutdown(name_or_domid, reason="poweroff", wait=False):
    d = _guest(name_or_domid)
    d.shutdown(reason)
    if wait:
        return d.wait()


def reboot(name_or_domid):
    shutdown(name_or_domid, "reboot")


def console(name_or_domid):
    """Attach to a guest's console: its backlog, then live; Ctrl-] detaches.
    A domain that is gone has its last output replayed, with a note."""
    try:
        d = _find(name_or_domid)
    except ValueError:
        d = xen.get_dom0().dead_domain(name_or_domid)
        if d is None or d.console is None:
            raise
        import sys
        sys.stdout.write("[domain %s (%d) is dead; its last output:]\n" % (d.name, d.domid))
        sys.stdout.buffer.write(d.console.history())
        sys.stdout.write("\n[end of domain %s's console]\n" % d.name)
        return
    from xen import console as _console
    try:
        c = _console.get(d.domid)
    except KeyError:
        raise ValueError("domain %s has no console served by this dom0" % d.name)
    c.attach()


def info():
    v = _xen.version()
    a = _xen.abi()
    p = _xen.physinfo()
    lines = (
        ("xen_version", "%d.%d%s" % v),
        ("backend", _xen.BACKEND),
        ("nr_cpus", p["nr_cpus"]),
        ("cpu_mhz", p["cpu_khz"] // 1000),
        ("total_memory", p["total_pages"] * 4 // 1024),
        ("free_memory", p["free_pages"] * 4 // 1024),
        ("xen_release", "%s (verified on %s)" % (a["release"], "real Xen" if a["verified"] == "real" else "the sim")),
        ("xen_domctl_interface", hex(a["domctl"])),
        ("xen_sysctl_interface", hex(a["sysctl"])),
        ("domains", len(_xen.domain_list())),
        ("built_here", len(xen.get_dom0().domains)),
    )
    for k, val in lines:
        print("%-22s: %s" % (k, val))
    return dict(lines)
