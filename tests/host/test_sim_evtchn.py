"""The sim backend's event channels: Xen's pairing rules (unbound,
interdomain, virq, close on either end), per-domain port limits, delivery to
dom0 through upcalls (masked until the binding unmasks) and to guests."""
from test_sim_domain import PRE

EVT = PRE + """
d = _xen.createdomain()
def status(dom, port):
    sim.scratch_write(0, struct.pack('<HxxI', dom, port) + bytes(16))
    rc = sim.hypercall(32, 5, S)
    st = struct.unpack_from('<IIHxxI', sim.scratch_read(0, 24), 8)
    return [ename(rc)] + list(st[:1]) + list(st[2:]) if rc == 0 else [ename(rc)]
def raw_close(port):
    sim.scratch_write(0, struct.pack('<I', port))
    return ename(sim.hypercall(32, 3, S))
"""


def test_dom0_allocates_guest_port_and_binds(mp):
    r = mp.json(EVT + """
p = _xen.evtchn_alloc_unbound(d, 0)
out = [p, sim.domain(d)['ports'][p]]
ch = _xen.bind_interdomain(d, p)
time.sleep_ms(1)
out += [sim.domain(d)['ports'][p], sim.domain(0)['ports'][ch.port],
        ch.consume(),      # Xen marks a freshly bound local port pending
        status(d, p), status(0, ch.port)]
emit(out)
""")
    p, unbound, guest, dom0, first, st_g, st_0 = r
    assert p == 1 and unbound == ["unbound", 0]
    assert guest == ["interdomain", 0, dom0[2]] and dom0[:2] == ["interdomain", 1]
    assert first == 1
    # EVTCHNSTAT_interdomain == 2: (status, remote dom, remote port)
    assert st_g == [0, 2, 0, dom0[2]] and st_0 == [0, 2, 1, p]


def test_bind_interdomain_rules(mp):
    r = mp.json(EVT + """
other = _xen.evtchn_alloc_unbound(d, 5)          # reserved for dom5, not dom0
out = [err(_xen.bind_interdomain, d, other), err(_xen.bind_interdomain, d, 0),
       err(_xen.bind_interdomain, d, 500), err(_xen.bind_interdomain, 42, 1),
       err(_xen.evtchn_alloc_unbound, 42, 0)]
p = _xen.evtchn_alloc_unbound(d, 0)
ch = _xen.bind_interdomain(d, p)
out += [err(_xen.bind_interdomain, d, p)]        # already connected
emit(out)
""")
    assert r == ["EINVAL", "EINVAL", "EINVAL", "ESRCH", "ESRCH", "EINVAL"]


def test_max_evtchn_port_honoured(mp):
    r = mp.json(PRE + """
d = _xen.createdomain(max_evtchn_port=2)
z = _xen.createdomain(max_evtchn_port=0)
out = [_xen.evtchn_alloc_unbound(d, 0), _xen.evtchn_alloc_unbound(d, 0),
       err(_xen.evtchn_alloc_unbound, d, 0), err(_xen.evtchn_alloc_unbound, z, 0),
       sim.domain(d)['max_evtchn_port']]
emit(out)
""")
    assert r == [1, 2, "ENOSPC", "ENOSPC", 2]


def test_close_leaves_other_end_unbound(mp):
    r = mp.json(EVT + """
p = _xen.evtchn_alloc_unbound(d, 0)
ch = _xen.bind_interdomain(d, p)
lp = ch.port
ch.close()
ch.close()                                       # idempotent in the binding
out = [sim.domain(d)['ports'][p], lp in sim.domain(0)['ports'], raw_close(lp), raw_close(0)]
ch2 = _xen.bind_interdomain(d, p)                # the guest end can be bound again
sim.guest_close(d, p)
out += [sim.domain(0)['ports'][ch2.port], err(ch2.notify), err(sim.guest_close, d, p)]
emit(out)
""")
    assert r == [["unbound", 0], False, "EINVAL", "EINVAL", ["unbound", 1], None, "EINVAL"]


def test_guest_side_pairing(mp):
    r = mp.json(EVT + """
ch = _xen.alloc_unbound(d)
gp = sim.guest_bind_interdomain(d, 0, ch.port)
out = [sim.guest_pending(d, gp)]                 # the bind's own pending mark
ch.notify(); ch.notify()
out += [sim.guest_pending(d, gp), sim.guest_pending(d, gp)]
up = sim.guest_alloc_unbound(d, 0)
ch2 = _xen.bind_interdomain(d, up)
out += [sim.domain(d)['ports'][up][0], err(sim.guest_alloc_unbound, d, 0) is None]
out += [err(sim.guest_bind_interdomain, d, 0, 999), err(sim.guest_pending, d, 5000),
        err(sim.guest_notify, d, 0)]
emit(out)
""")
    assert r == [1, 2, 0, "interdomain", True, "EINVAL", "EINVAL", "EINVAL"]


def test_guest_cannot_allocate_in_other_domains(mp):
    r = mp.json(PRE + """
a = _xen.createdomain()
b = _xen.createdomain()
up = sim.guest_alloc_unbound(a, b)
bp = sim.guest_bind_interdomain(b, a, up)
sim.guest_notify(b, bp)
emit([sim.domain(a)['ports'][up], sim.guest_pending(a, up)])
""")
    assert r == [["interdomain", 2, 1], 1]


def test_upcall_and_masking(mp):
    r = mp.json(EVT + """
def settle():
    # let every re-delivery (an unmask finding the port pending) run
    for _ in range(5):
        time.sleep_ms(1)
ch = _xen.alloc_unbound(d)
gp = sim.guest_bind_interdomain(d, 0, ch.port)
settle()
out = [ch.consume()]
sim.guest_notify(d, gp); sim.guest_notify(d, gp); sim.guest_notify(d, gp)
settle()
n = ch.consume()
out += [1 <= n <= 2]          # the first is delivered, the rest coalesce while masked
sim.guest_notify(d, gp)
settle()
out += [ch.consume()]
seen = []
ch.callback = lambda c: seen.append(c.port)
sim.guest_notify(d, gp)
settle()
out += [seen == [ch.port]]
emit(out)
""")
    assert r == [0, True, 1, True]


def test_unbound_send_is_dropped(mp):
    r = mp.json(EVT + """
ch = _xen.alloc_unbound(d)
ch.notify()
emit([err(ch.notify), sim.domain(0)['ports'][ch.port]])
""")
    assert r == [None, ["unbound", 1]]


def test_virq_binding(mp):
    r = mp.json(EVT + """
v = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
out = [err(_xen.bind_virq, _xen.VIRQ_DOM_EXC), err(_xen.bind_virq, 99),
       sim.domain(0)['ports'][v.port]]
v.close()
v2 = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
c = _xen.bind_virq(_xen.VIRQ_CONSOLE)
sim.console_input(b'ab')
time.sleep_ms(1)
out += [c.consume(), v2.consume(), status(0, c.port)]
emit(out)
""")
    # EVTCHNSTAT_virq == 4, u.virq == VIRQ_CONSOLE (2)
    assert r == ["EEXIST", "EINVAL", ["virq", 3], 1, 0, [0, 4, 2, 0]]


def test_destroy_closes_guest_ports(mp):
    r = mp.json(EVT + """
p = _xen.evtchn_alloc_unbound(d, 0)
ch = _xen.bind_interdomain(d, p)
_xen.destroydomain(d)
emit([sim.domain(0)['ports'][ch.port], err(ch.notify), err(_xen.bind_interdomain, d, p)])
""")
    assert r == [["unbound", 1], None, "ESRCH"]


def test_upcall_from_another_thread_during_sleep(mp):
    r = mp.json(EVT + """
import _thread
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
emit([len(got), time.ticks_diff(got[0], t0) < 900 if got else None])
""")
    # the event is handled while the interpreter sleeps, not after
    assert r == [1, True]
