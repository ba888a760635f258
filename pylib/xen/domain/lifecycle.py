# xen.domain.lifecycle: what a domain is to dom0 - the Domain object, the
# states Xen reports, and the actions a guest's shutdown can ask for.
#
# Owns: Domain (a guest or dom0 as dom0 sees it) and state_of(info).
# Must not know: how a domain is built (builder), or the registry of domains
# and their services: a Domain is handed its owner (xen.dom0.Dom0), which
# tears it down; nothing here keeps state of its own.
import time
import _xen

# {SHUTDOWN_x code: name}, from Xen's header constants (never changed)
SHUTDOWN_REASONS = {getattr(_xen, "SHUTDOWN_" + n): n
                    for n in ("poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset")}
# on_poweroff / on_reboot / on_crash
ACTIONS = ("destroy", "restart", "preserve", "rename-restart")


def reasons():
    """{SHUTDOWN_x code: name}."""
    return SHUTDOWN_REASONS


def state_of(info):
    if info["dying"]:
        return "dying"
    if info["shutdown"]:
        r = reasons().get(info["shutdown_reason"])
        return "crashed" if r in ("crash", "watchdog") else "shutdown"
    if info["paused"]:
        return "paused"
    if info["running"]:
        return "running"
    if info["blocked"]:
        return "blocked"
    return "idle"


def home(domid):
    return "/local/domain/%d" % domid


class Domain:
    """A guest (or dom0). Methods raise OSError from the hypervisor. A domain
    built here has an owner (the Dom0 that built it), its config and the
    facts of its build; one that is torn down keeps its console (`dead`)."""

    def __init__(self, domid, name, cfg=None, facts=None, owner=None):
        self.domid = domid
        self.name = name
        self.cfg = cfg
        self.facts = facts
        self.owner = owner
        self.console = None
        self.detach = None      # undoes the owner's attach (xenstore, console)
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
            "shutdown_reason": reasons().get(i["shutdown_reason"]) if i["shutdown"] else None,
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
        self._owner().xs.write(home(self.domid) + "/control/shutdown", reason)

    def destroy(self):
        """Destroy the domain and everything dom0 holds for it."""
        self._owner().teardown(self)

    def _owner(self):
        if self.owner is None:
            raise ValueError("domain %d was not built by this dom0" % self.domid)
        return self.owner

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
            if self.dead:
                return "gone"
            if timeout is not None and time.ticks_diff(time.ticks_ms(), t0) >= timeout * 1000:
                return None
            # sleeps until an event (the domain's exit raises VIRQ_DOM_EXC)
            # or 5 ms, whichever is first; callbacks run meanwhile
            _xen.wait(5)
