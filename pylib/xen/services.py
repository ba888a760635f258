# xen.services: the dom0 services, driven by event-channel upcalls.
#   - the xenstore server for every introduced guest (ring + event channel),
#   - the console server (xen.console),
#   - domain exceptions (VIRQ_DOM_EXC): shutdown, crash and death of guests.
# The upcalls run in Python context whenever the interpreter is idle, busy,
# sleeping or waiting at the REPL.
import _xen
from xen import xenstore
from xen.xenstore import ring as _ring

_current = None
# struct xenstore_domain_interface: evtchn_port (Xen 4.21+) after the rings,
# their indices, server_features, connection and error.
_XS_EVTCHN_PORT = 2076


class Services:
    def __init__(self, **options):
        # Refuse a Xen release this firmware does not speak before anything
        # is bound: OSError(EOPNOTSUPP, "Xen 4.23 (domctl 0x19) is newer ...").
        self.abi = _xen.abi()
        self.options = options
        self.store = xenstore.server(options.get("quotas"))
        self.rings = {}        # domid -> (Ring, Mapping, EventChannel)
        self.exc_handlers = []  # fn(): called on every VIRQ_DOM_EXC
        self.consoles = options.get("consoles", True)
        self.exc = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
        self.exc.callback = self._dom_exc
        self.running = True

    # ---- xenstore rings
    def introduce(self, domid, gfn, port):
        xenstore.introduce(domid, gfn, port)
        self.pump()

    def release(self, domid):
        if self.store.domains.get(domid) is not None:
            try:
                xenstore.release(domid)
            except OSError as e:
                if e.errno != 2:
                    raise
        self.pump()
        self._drop_ring(domid)

    def pump(self):
        """Carry out what the xenstore core asked for (map and serve a ring
        on INTRODUCE, let it go on RELEASE)."""
        acts = self.store.actions
        while acts:
            a = acts.pop(0)
            if a[0] == "introduce":
                self._serve_ring(a[1], a[2], a[3])
            elif a[0] == "release":
                self._drop_ring(a[1])

    def _serve_ring(self, domid, gfn, port):
        if domid in self.rings:
            return
        m = _xen.map(domid, gfn)
        try:
            if "xs_evtchn_port" in self.abi["features"]:
                # Xen 4.21+ writes the port into the page of a domain it
                # built (dom0less); a non-zero one wins, as in cxenstored.
                p = int.from_bytes(m[_XS_EVTCHN_PORT:_XS_EVTCHN_PORT + 4], "little")
                port = p or port
            ch = _xen.bind_interdomain(domid, port)
        except Exception:
            m.close()
            raise
        try:
            r = _ring.attach(self.store, domid, memoryview(m), ch.notify)
        except Exception:
            ch.close()
            m.close()
            raise
        self.rings[domid] = (r, m, ch)
        ch.callback = lambda c: self._ring_event(domid)
        self._ring_event(domid)

    def _ring_event(self, domid):
        ent = self.rings.get(domid)
        if ent is None:
            return
        ent[2].consume()
        ent[0].service()
        # Round-robin over rings that still have work, so one flooding guest
        # cannot starve the others (each pass serves a bounded budget).
        busy = [e[0] for e in self.rings.values() if e[0].busy]
        while busy:
            for r in busy:
                r.busy = False
                r.service()
            busy = [e[0] for e in self.rings.values() if e[0].busy]
        self.pump()

    def _drop_ring(self, domid):
        ent = self.rings.pop(domid, None)
        if ent is None:
            return
        r, m, ch = ent
        ch.close()
        m.close()

    # ---- consoles
    def console_attach(self, domid, gfn, port):
        if not self.consoles:
            return None
        from xen import console
        return console.serve(domid, gfn, port, **self.options.get("console", {}))

    def console_detach(self, domid):
        from xen import console
        try:
            c = console.get(domid)
        except KeyError:
            return
        c.close()

    # ---- domain exceptions
    def _dom_exc(self, ch):
        ch.consume()
        for fn in list(self.exc_handlers):
            fn()

    def stop(self):
        if not self.running:
            return
        self.running = False
        for domid in list(self.rings):
            self._drop_ring(domid)
        self.exc.close()
        global _current
        if _current is self:
            _current = None


def start(**options):
    """Bring the dom0 services up (idempotent); returns the running
    Services, whose .stop() takes them down."""
    global _current
    if _current is None:
        _current = Services(**options)
        from xen.domain import lifecycle
        lifecycle.attach(_current)
    return _current


def current():
    return _current
