# tests/host/test_sim_evtchn.py's firmware side: the sim's event channels
# (pairing rules, port limits, upcalls with masking, guest-side delivery)
# through _xen and raw EVTCHNOP calls.
import struct
import time

import _thread
import _xen
from simlib import sim, S, err

# struct evtchn_status: dom, port, then status, vcpu and the union from byte 8
STATUS_OUT = 8


class Raw:
    """Raw event-channel ops through hypercall nr (__HYPERVISOR_event_channel_op)."""

    def __init__(self, nr, status_op, close_op):
        self.nr, self.status_op, self.close_op = nr, status_op, close_op

    def status(self, dom, port):
        """[rc] or [rc, status, the union's dom (or virq), its port]."""
        sim.scratch_write(0, struct.pack('<HxxI', dom, port) + bytes(16))
        rc = sim.hypercall(self.nr, self.status_op, S)
        st = struct.unpack_from('<IIHxxI', sim.scratch_read(0, 24), STATUS_OUT)
        return [rc, st[0], st[2], st[3]] if rc == 0 else [rc]

    def close(self, port):
        sim.scratch_write(0, struct.pack('<I', port))
        return sim.hypercall(self.nr, self.close_op, S)


def alloc_and_bind(raw):
    raw = Raw(*raw)
    d = _xen.createdomain()
    p = _xen.evtchn_alloc_unbound(d, 0)
    out = [p, sim.domain(d)['ports'][p]]
    ch = _xen.bind_interdomain(d, p)
    time.sleep_ms(1)
    return out + [sim.domain(d)['ports'][p], sim.domain(0)['ports'][ch.port],
                  ch.consume(),      # Xen marks a freshly bound local port pending
                  raw.status(d, p), raw.status(0, ch.port)]


def bind_rules():
    d = _xen.createdomain()
    other = _xen.evtchn_alloc_unbound(d, 5)          # reserved for dom5, not dom0
    out = [err(_xen.bind_interdomain, d, other), err(_xen.bind_interdomain, d, 0),
           err(_xen.bind_interdomain, d, 500), err(_xen.bind_interdomain, 42, 1),
           err(_xen.evtchn_alloc_unbound, 42, 0)]
    p = _xen.evtchn_alloc_unbound(d, 0)
    ch = _xen.bind_interdomain(d, p)
    return out + [err(_xen.bind_interdomain, d, p), ch.port > 0]        # already connected


def max_evtchn_port():
    d = _xen.createdomain(max_evtchn_port=2)
    z = _xen.createdomain(max_evtchn_port=0)
    return [_xen.evtchn_alloc_unbound(d, 0), _xen.evtchn_alloc_unbound(d, 0),
            err(_xen.evtchn_alloc_unbound, d, 0), err(_xen.evtchn_alloc_unbound, z, 0),
            sim.domain(d)['max_evtchn_port']]


def close_leaves_other_end(raw):
    raw = Raw(*raw)
    d = _xen.createdomain()
    p = _xen.evtchn_alloc_unbound(d, 0)
    ch = _xen.bind_interdomain(d, p)
    lp = ch.port
    ch.close()
    ch.close()                                       # idempotent in the binding
    out = [sim.domain(d)['ports'][p], lp in sim.domain(0)['ports'], raw.close(lp), raw.close(0)]
    ch2 = _xen.bind_interdomain(d, p)                # the guest end can be bound again
    sim.guest_close(d, p)
    return out + [sim.domain(0)['ports'][ch2.port], err(ch2.notify), err(sim.guest_close, d, p)]


def guest_side_pairing():
    d = _xen.createdomain()
    ch = _xen.alloc_unbound(d)
    gp = sim.guest_bind_interdomain(d, 0, ch.port)
    out = [sim.guest_pending(d, gp)]                 # the bind's own pending mark
    ch.notify()
    ch.notify()
    out += [sim.guest_pending(d, gp), sim.guest_pending(d, gp)]
    up = sim.guest_alloc_unbound(d, 0)
    ch2 = _xen.bind_interdomain(d, up)
    out += [sim.domain(d)['ports'][up][0], err(sim.guest_alloc_unbound, d, 0), ch2.port > 0]
    return out + [err(sim.guest_bind_interdomain, d, 0, 999), err(sim.guest_pending, d, 5000),
                  err(sim.guest_notify, d, 0)]


def guest_to_guest():
    a = _xen.createdomain()
    b = _xen.createdomain()
    up = sim.guest_alloc_unbound(a, b)
    bp = sim.guest_bind_interdomain(b, a, up)
    sim.guest_notify(b, bp)
    return [sim.domain(a)['ports'][up], sim.guest_pending(a, up)]


def _settle():
    # let every re-delivery (an unmask finding the port pending) run
    for _ in range(5):
        time.sleep_ms(1)


def upcall_and_masking():
    d = _xen.createdomain()
    ch = _xen.alloc_unbound(d)
    gp = sim.guest_bind_interdomain(d, 0, ch.port)
    _settle()
    out = [ch.consume()]
    # three in a row, no loop: a loop's backward jump would run the upcall in between
    sim.guest_notify(d, gp)
    sim.guest_notify(d, gp)
    sim.guest_notify(d, gp)
    _settle()
    out += [ch.consume()]         # the first is delivered, the rest coalesce while masked
    sim.guest_notify(d, gp)
    _settle()
    out += [ch.consume()]
    seen = []
    ch.callback = lambda c: seen.append(c.port)
    sim.guest_notify(d, gp)
    _settle()
    return out + [seen == [ch.port]]


def rearmed_after_callback():
    """A callback that replies (notifies the guest) and, on its second run,
    closes its channel. Returns [the dom0's evtchn calls, callbacks run]: the
    second run is for an event that came while the first ran."""
    d = _xen.createdomain()
    ch = _xen.alloc_unbound(d)
    gp = sim.guest_bind_interdomain(d, 0, ch.port)
    _settle()
    ch.consume()
    runs = []

    def cb(c):
        runs.append(1)
        c.notify()
        if len(runs) == 1:
            sim.guest_notify(d, gp)     # comes while the port is masked
        else:
            c.close()
    ch.callback = cb
    sim.trace(True)
    sim.guest_notify(d, gp)
    _settle()
    calls = [n for n in sim.calls() if n.startswith("evtchn.")]
    sim.trace(False)
    return [calls, len(runs)]


def unbound_send():
    d = _xen.createdomain()
    ch = _xen.alloc_unbound(d)
    ch.notify()
    return [err(ch.notify), sim.domain(0)['ports'][ch.port]]


def virq_binding(raw, unknown_virq):
    raw = Raw(*raw)
    _xen.createdomain()
    v = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
    out = [err(_xen.bind_virq, _xen.VIRQ_DOM_EXC), err(_xen.bind_virq, unknown_virq),
           sim.domain(0)['ports'][v.port]]
    v.close()
    v2 = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
    c = _xen.bind_virq(_xen.VIRQ_CONSOLE)
    sim.console_input(b'ab')
    time.sleep_ms(1)
    return out + [c.consume(), v2.consume(), raw.status(0, c.port)]


def destroy_closes_guest_ports():
    d = _xen.createdomain()
    p = _xen.evtchn_alloc_unbound(d, 0)
    ch = _xen.bind_interdomain(d, p)
    _xen.destroydomain(d)
    return [sim.domain(0)['ports'][ch.port], err(ch.notify), err(_xen.bind_interdomain, d, p)]


def upcall_during_sleep():
    """A guest thread notifies 50 ms into a 1 s sleep: [upcalls seen, ms
    from the sleep's start to the upcall]."""
    d = _xen.createdomain()
    ch = _xen.alloc_unbound(d)
    gp = sim.guest_bind_interdomain(d, 0, ch.port)
    time.sleep_ms(1)
    ch.consume()
    got = []
    ch.callback = lambda c: got.append(time.ticks_ms())

    def guest():
        time.sleep_ms(50)
        sim.guest_notify(d, gp)
    t0 = time.ticks_ms()
    _thread.start_new_thread(guest, ())
    time.sleep(1)
    return [len(got), time.ticks_diff(got[0], t0) if got else None]
