# xen.domain.lifecycle: Domain objects, the registry of the domains this dom0
# built, teardown, and what happens when a guest shuts down, reboots,
# crashes or dies (on_poweroff / on_reboot / on_crash).
import time
import _xen
from xen.domain import builder

# domid -> Domain, for the domains built here
_registry = {}
_services = [None]
# The newest torn-down domains, oldest first: their consoles stay readable
# (Domain.console.read()/history(), xl.console(name)). At most DEAD_KEEP
# (xen.start(dead_consoles=N) sets it).
_dead = []
DEAD_KEEP = 8

SHUTDOWN_REASONS = {}


def _reasons():
    if not SHUTDOWN_REASONS:
        for n in ("poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"):
            SHUTDOWN_REASONS[getattr(_xen, "SHUTDOWN_" + n)] = n
    return SHUTDOWN_REASONS


def state_of(info):
    if info["dying"]:
        return "dying"
    if info["shutdown"]:
        r = _reasons().get(info["shutdown_reason"])
        return "crashed" if r in ("crash", "watchdog") else "shutdown"
    if info["paused"]:
        return "paused"
    if info["running"]:
        return "running"
    if info["blocked"]:
        return "blocked"
    return "idle"


class Domain:
    """A guest (or dom0). Methods raise OSError from the hypervisor."""

    def __init__(self, domid, name, cfg=None, facts=None):
        self.domid = domid
        self.name = name
        self.cfg = cfg
        self.facts = facts
        self.console = None
        self.preserved = False
        self.source = None      # what domain_create was given (for restarts)
        self.closing = False
        self.dead = False       # torn down; .console keeps its last output

    def __repr__(self):
        return "<Domain %d %s>" % (self.domid, self.name)

    def info(self):
        i = _xen.getdomaininfo(self.domid)
        return {
            "domid": self.domid,
            "name": self.name,
            "state": state_of(i),
            "shutdown_reason": _reasons().get(i["shutdown_reason"]) if i["shutdown"] else None,
            "vcpus": i["nr_online_vcpus"],
            "max_vcpus": i["max_vcpu_id"] + 1,
            "mem_kb": i["tot_pages"] * 4,
            "max_mem_kb": i["max_pages"] * 4,
            "ssidref": i["ssidref"],
            "cpu_time_ns": i["cpu_time"],
            "paused": i["paused"],
            "dying": i["dying"],
        }

    def pause(self):
        _xen.pausedomain(self.domid)

    def unpause(self):
        _xen.unpausedomain(self.domid)

    def shutdown(self, reason="poweroff"):
        """Ask the guest to shut down through control/shutdown."""
        if reason not in ("poweroff", "reboot", "halt", "suspend"):
            raise ValueError("shutdown reason must be 'poweroff' or 'reboot', not %r" % (reason,))
        from xen import xenstore
        xenstore.write(builder.home(self.domid) + "/control/shutdown", reason)

    def destroy(self):
        """Destroy the domain and everything dom0 holds for it."""
        teardown(self)

    def alive(self):
        try:
            _xen.getdomaininfo(self.domid)
            return True
        except OSError:
            return False

    def wait(self, timeout=None):
        """Wait until the domain has shut down or is gone. Returns its state
        then ('shutdown', 'crashed' or 'gone'); None on timeout."""
        t0 = time.ticks_ms()
        while True:
            try:
                st = state_of(_xen.getdomaininfo(self.domid))
            except OSError:
                return "gone"
            if st in ("shutdown", "crashed") or (st == "dying"):
                return st
            if self.domid not in _registry and self.cfg is not None:
                return "gone"
            if timeout is not None and time.ticks_diff(time.ticks_ms(), t0) >= timeout * 1000:
                return None
            time.sleep_ms(5)


def register(dom):
    _registry[dom.domid] = dom


def get(domid):
    return _registry.get(domid)


def by_name(name):
    for d in _registry.values():
        if d.name == name:
            return d
    return None


def name_in_use(name):
    """domid of a domain with that name (built here or known to xenstore)."""
    d = by_name(name)
    if d is not None:
        return d.domid
    if name == "Domain-0":
        return 0
    from xen import xenstore
    try:
        ids = xenstore.ls("/local/domain")
    except OSError:
        return None
    for i in ids:
        try:
            if xenstore.read("/local/domain/%s/name" % i).decode() == name:
                return int(i)
        except OSError:
            pass
    return None


def _running_id(name):
    d = by_name(name)
    return d.domid if d is not None and d.alive() else None


def all_domains():
    out = []
    for i in _xen.domain_list():
        d = _registry.get(i["domid"])
        if d is None:
            d = Domain(i["domid"], "Domain-0" if i["domid"] == 0 else _xs_name(i["domid"]))
        out.append(d)
    return out


def _xs_name(domid):
    from xen import xenstore
    try:
        return xenstore.read(builder.home(domid) + "/name").decode()
    except OSError:
        return "(domain %d)" % domid


def create(cfg, paused=False):
    from xen import services
    srv = services.start()
    c = builder.load_config(cfg)
    _wait_backends(c)
    domid, facts = builder.build(c, srv, paused=paused, name_in_use=name_in_use,
                                 backend_id=_running_id)
    dom = Domain(domid, c["name"], c, facts)
    dom.source = cfg
    if srv.consoles:
        from xen import console
        dom.console = console.get(domid)
    register(dom)
    return dom


def _wait_backends(c, timeout_ms=30000):
    # A guest starts only after the domains it depends on are running.
    t0 = time.ticks_ms()
    for name in c["depends_on"]:
        if name_in_use(name) is None:
            raise builder.DomainError("domain %s: backend domain %r does not exist"
                                      % (c["name"], name))
        while True:
            d = by_name(name)
            if d is not None and d.alive() and state_of(_xen.getdomaininfo(d.domid)) in ("running", "blocked", "idle"):
                break
            if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
                raise builder.DomainError("domain %s: backend domain %r is not running"
                                          % (c["name"], name))
            time.sleep_ms(10)


def teardown(dom):
    """Everything dom0 holds for the domain goes: console, xenstore ring and
    entries, event channels, mappings; then the domain itself."""
    if dom.closing:
        return
    dom.closing = True
    _registry.pop(dom.domid, None)
    srv = _services[0]
    errors = []
    steps = []
    if srv is not None:
        steps.append((srv.console_detach, dom.domid))
        steps.append((srv.release, dom.domid))
    if dom.facts is not None:
        steps.append((builder._remove_entries, dom.domid, dom.facts["uuid"], dom.facts["backend_dirs"]))
    steps.append((_destroy_quiet, dom.domid))
    for s in steps:
        try:
            s[0](*s[1:])
        except Exception as e:
            errors.append(e)
    _registry.pop(dom.domid, None)
    _bury(dom)
    if errors:
        raise errors[0]


def _bury(dom):
    """Keep a torn-down domain (for its console), within the bound."""
    dom.dead = True
    if dom.console is None:
        return
    svc = _services[0]
    keep = svc.options.get("dead_consoles", DEAD_KEEP) if svc is not None else DEAD_KEEP
    if dom in _dead:
        _dead.remove(dom)
    _dead.append(dom)
    while len(_dead) > keep:
        _dead.pop(0)


def dead(name_or_domid):
    """The newest torn-down domain of that name or id, or None."""
    for d in reversed(_dead):
        if d.name == name_or_domid or d.domid == name_or_domid:
            return d
    return None


def _destroy_quiet(domid):
    try:
        _xen.destroydomain(domid)
    except OSError as e:
        if e.errno != 3:    # ESRCH: already gone
            raise
    builder._wait_gone(domid)


# ---- domain exceptions

ACTIONS = ("destroy", "restart", "preserve", "rename-restart")


def attach(services):
    _services[0] = services
    services.exc_handlers.append(on_exception)


def _changed():
    """The ids of the domains whose state changed since the last VIRQ_DOM_EXC,
    from Xen 4.21's get_domain_state; None where Xen cannot tell (before 4.21,
    or dom0 does not hold VIRQ_DOM_EXC): then every domain is looked at."""
    svc = _services[0]
    if svc is None or "domain_state" not in svc.abi["features"]:
        return None
    ids = set()
    try:
        while True:
            s = _xen.get_domain_state()
            if s is None:
                return ids
            ids.add(s["domid"])
    except OSError:
        return None     # marks taken so far are covered by looking at all


def on_exception():
    """VIRQ_DOM_EXC: look at the domains built here that changed state."""
    changed = _changed()
    for dom in list(_registry.values()):
        if dom.preserved or dom.closing:
            continue
        if changed is not None and dom.domid not in changed:
            continue
        try:
            i = _xen.getdomaininfo(dom.domid)
        except OSError:
            # gone behind our back: release what dom0 still holds
            try:
                teardown(dom)
            except Exception as e:
                print("xen: teardown of %s failed: %s" % (dom.name, builder.describe(e)))
            continue
        if not i["shutdown"] or i["dying"]:
            continue
        reason = _reasons().get(i["shutdown_reason"], "crash")
        if reason == "suspend":
            continue
        if dom.console is not None:
            dom.console.service()       # what it printed last, before anything goes
            if reason in ("crash", "watchdog"):
                _crash_log(dom)
        key = {"poweroff": "on_poweroff", "reboot": "on_reboot"}.get(reason, "on_crash")
        action = dom.cfg[key] if dom.cfg else "destroy"
        try:
            _apply(dom, action, reason)
        except Exception as e:
            print("xen: %s of %s after %s failed: %s" % (action, dom.name, reason, builder.describe(e)))


def _crash_log(dom):
    # The crash output in the domain's log file, before the domain goes: the
    # console's own log has it already when logdir is set; otherwise the
    # backlog is written to crash_logdir (default /flash on a board).
    c = dom.console
    if c._log is not None:
        return
    svc = _services[0]
    d = svc.options.get("crash_logdir") if svc is not None else None
    if d is None and _xen.BACKEND == "zephyr":
        d = "/flash"
    if d is None:
        return
    try:
        c.save("%s/console-%d.log" % (d, dom.domid))
    except OSError as e:
        print("xen: crash log of %s not written: %s" % (dom.name, builder.describe(e)))


def _apply(dom, action, reason=None):
    if action == "preserve":
        dom.preserved = True
        return
    if action == "rename-restart":
        # the dead incarnation stays, under a new name; a new one starts
        old = dom.name
        dom.name = "%s-%d" % (old, dom.domid)
        dom.preserved = True
        from xen import xenstore
        xenstore.write(builder.home(dom.domid) + "/name", dom.name)
        new = create(dom.source)
        print("xen: %s renamed %s, restarted as domain %d" % (old, dom.name, new.domid))
        return
    teardown(dom)
    if action == "restart":
        # paused until the old output is carried over, so it comes first
        new = create(dom.source, paused=True)
        if new.console is not None and dom.console is not None:
            new.console.carry(dom.console.history() + b"\n--- %s: domain %d %s; restarted as domain %d ---\n"
                              % (new.name.encode(), dom.domid, (reason or "shutdown").encode(), new.domid))
        new.unpause()
        print("xen: %s restarted as domain %d" % (new.name, new.domid))
