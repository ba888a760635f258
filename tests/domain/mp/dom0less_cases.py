# tests/domain/test_domain_dom0less.py's firmware side: the sim holds a
# domain as Xen leaves a dom0less domU after boot (built with the operations
# Xen's own builder uses); xen.start() adopts it, names it, controls it, or
# leaves it exactly as it was.
import struct
import xen
import _xen
from xen import xenstore, xl
import _xensim as sim
from simdom import domids, settle as _settle

MAGIC = _xen.GUEST_MAGIC_BASE >> 12
RAM_PFN = 0x40000
NO_PAGE = 0xFFFFFFFFFFFFFFFF     # HVM_PARAM_STORE_PFN: the legacy "dom0 allocates it"
# struct xenstore_domain_interface (io/xs_wire.h): after the two 1 KiB rings
# and their four indices, server_features, connection, error, evtchn_port
XS_CONNECTION = 2068
XS_EVTCHN_PORT = 2076


def settle(n=5):
    _settle(n, 2)


def boot_domain(reconnect, enhanced="enabled", mem_kb=65536):
    """What Xen leaves at boot for a dom0less domU (xen/arch/arm/dom0less-build.c);
    reconnect is xs_wire's XENSTORE_RECONNECT, written into the store page
    Xen allocates itself from 4.21."""
    d = _xen.createdomain(max_vcpus=1)
    _xen.max_vcpus(d, 1)
    _xen.set_address_size(d, 64)
    _xen.max_mem(d, mem_kb)
    _xen.populate_physmap(d, range(RAM_PFN, RAM_PFN + 64))
    if enhanced:
        port = _xen.evtchn_alloc_unbound(d, 0)
        _xen.hvm_set_param(d, _xen.HVM_PARAM_STORE_EVTCHN, port)
        from_421 = 'xs_evtchn_port' in _xen.abi()['features']
        if from_421 and enhanced == "enabled":
            _xen.max_mem(d, mem_kb + 4)
            _xen.populate_physmap(d, [MAGIC + 1])
            with sim.guest_map(d, MAGIC + 1) as g:
                g[XS_CONNECTION:XS_CONNECTION + 4] = struct.pack('<I', reconnect)
                g[XS_EVTCHN_PORT:XS_EVTCHN_PORT + 4] = struct.pack('<I', port)
            _xen.hvm_set_param(d, _xen.HVM_PARAM_STORE_PFN, MAGIC + 1)
        elif from_421:
            _xen.hvm_set_param(d, _xen.HVM_PARAM_STORE_PFN, NO_PAGE)
    _xen.unpausedomain(d)
    return d


def state(d):
    """[paused, pages, max pages, store page parameter, xenstore home exists]."""
    i = _xen.getdomaininfo(d)
    return [i['paused'], i['tot_pages'], i['max_pages'], _xen.hvm_get_param(d, _xen.HVM_PARAM_STORE_PFN),
            xenstore.exists('/local/domain/%d' % d)]


def adopted(reconnect):
    from simguest import SimGuest
    d = boot_domain(reconnect)
    before = state(d)
    dom0 = xen.start()
    dom = dom0.domains[d]
    port = _xen.hvm_get_param(d, _xen.HVM_PARAM_STORE_EVTCHN)
    notified = sim.guest_pending(d, port)
    home = '/local/domain/%d' % d
    tree = {p: xenstore.read(home + '/' + p).decode() for p in
            ('name', 'domid', 'memory/static-max', 'memory/target', 'store/port', 'store/ring-ref',
             'control/shutdown')}
    g = SimGuest(d)
    t, own = g.read(b'name')
    g.write(b'data/probe', b'hello from the guest')
    after = state(d)
    return [before, after, notified, dom.name, tree, xenstore.exists(home + '/console'),
            xenstore.get_perms(home + '/control/shutdown'), [t, own.decode()],
            xenstore.read(home + '/data/probe').decode(), [r[0] for r in xl.rows()], dom.console is None]


def named_by_policy(reconnect):
    d = boot_domain(reconnect)
    dom0 = xen.start(boot_domains={d: {'name': 'brakes', 'on_poweroff': 'restart'}})
    dom = dom0.domains[d]
    xenstore_name = xenstore.read('/local/domain/%d/name' % d).decode()
    dom.pause()
    paused = _xen.getdomaininfo(d)['paused']
    dom.unpause()
    sim.guest_shutdown(d, 'poweroff')
    for _ in range(100):
        settle(1)
        if not dom.alive():
            break
    return [dom.name, xenstore_name, paused, dom.alive(), domids(), xenstore.exists('/local/domain/%d' % d)]


def without_xenstore(reconnect):
    d = boot_domain(reconnect, enhanced=None)
    before = state(d)
    dom0 = xen.start()
    return [before, state(d), d in dom0.domains, [r[0] for r in xl.rows()], sim.mappings()]


def shutdown_watch(reconnect, xs_watch):
    """The guest watches control/shutdown (xs_watch: XS_WATCH), dom0 asks it
    to shut down: [the reply type, the events the guest got after its first]."""
    from simguest import SimGuest
    d = boot_domain(reconnect)
    dom0 = xen.start()
    g = SimGuest(d)
    t, _ = g.call(xs_watch, b'control/shutdown\x00tok\x00')     # its first event comes with it
    g.pull()
    g.events.clear()
    dom0.domains[d].shutdown()
    settle()
    g.pull()
    return [t, [e.decode() for e in g.events]]


def failed_adoption(reconnect, call, eio):
    """The adoption with hypercall `call` failing (eio): [state before, after,
    the errors, adopted, mappings, dom0's ports as before, rings]."""
    d = boot_domain(reconnect)
    before = state(d)
    dom0 = xen.start(adopt=False)
    base_ports = sorted(sim.domain(0)['ports'])
    sim.fail(call, 1, eio)
    _, errors = dom0.adopt()
    sim.fail_clear()
    import gc
    gc.collect()
    return [before, state(d), [str(e) for e in errors], d in dom0.domains, sim.mappings(),
            sorted(sim.domain(0)['ports']) == base_ports, list(dom0.rings)]
