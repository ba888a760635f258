# tests/host/test_xen_api.py's firmware side: every `_xen` primitive against
# the sim backend, error paths included.
import gc
import time

import _thread
import _xen
from simlib import sim, err, ids


def new():
    """A domain ready for building."""
    return _xen.createdomain(max_vcpus=2, nr_spis=64)


def version_and_backend():
    return [_xen.version()[:2], _xen.BACKEND]


def physinfo():
    return _xen.physinfo()


def physinfo_after_populate(pages):
    d = new()
    before = _xen.physinfo()['free_pages']
    _xen.max_mem(d, 4096)
    _xen.populate_physmap(d, range(0x40000, 0x40000 + pages))
    return [before, _xen.physinfo()['free_pages']]


def list_create_destroy():
    d = new()
    before = ids()
    d2 = _xen.createdomain(7)
    after = ids()
    tail = [i['domid'] for i in _xen.domain_list(2)]
    one = [i['domid'] for i in _xen.domain_list(0, 1)]
    _xen.destroydomain(d2)
    return [d, before, after, tail, one, ids(), err(_xen.createdomain, d)]


def paused_and_pause_count():
    d = new()
    s = [_xen.getdomaininfo(d)['paused']]
    _xen.unpausedomain(d)
    s.append(_xen.getdomaininfo(d)['paused'])
    _xen.pausedomain(d)
    _xen.pausedomain(d)
    _xen.unpausedomain(d)
    s.append(_xen.getdomaininfo(d)['paused'])
    _xen.unpausedomain(d)
    s.append(_xen.getdomaininfo(d)['paused'])
    return s


def getdomaininfo_exact():
    new()
    _xen.createdomain(3)
    return [err(_xen.getdomaininfo, 2), _xen.getdomaininfo(3)['domid'], err(_xen.getdomaininfo, 4000)]


def bad_domids(missing):
    new()
    return ([err(f, missing) for f in (_xen.destroydomain, _xen.pausedomain, _xen.unpausedomain,
                                       _xen.getdomaininfo, _xen.get_paging_mempool_size)]
            + [err(_xen.getdomaininfo, 70000), err(_xen.getdomaininfo, -1), err(_xen.max_mem, missing, 1024)])


def createdomain_validation():
    new()
    out = {}
    _xen.createdomain(out=out)   # GIC_NATIVE resolved by Xen
    return [err(_xen.createdomain, 0, flags=0),
            err(lambda: _xen.createdomain(handle=b'short')),
            err(lambda: _xen.createdomain(max_vcpus=0)),
            err(lambda: _xen.createdomain(out=[])),
            out['gic_version']]


def handle_roundtrip(h):
    new()
    return _xen.getdomaininfo(_xen.createdomain(handle=h))['handle']


def vcpu_context(pc, x0):
    d = new()
    e1 = err(_xen.max_vcpus, d, 3)
    _xen.max_vcpus(d, 2)
    e32 = err(_xen.setvcpucontext, d, 0, {'pc': pc})  # Arm domains start 32-bit
    _xen.set_address_size(d, 64)
    _xen.setvcpucontext(d, 0, {'pc': pc, 'x0': x0})
    ctx = _xen.getvcpucontext(d, 0)
    return [e1, e32, ctx['pc'], ctx['x0'], ctx['cpsr'] == _xen.PSR_GUEST64_INIT,
            ctx['online'], _xen.getdomaininfo(d)['nr_online_vcpus'],
            err(_xen.setvcpucontext, d, 0, {'x31': 1}), err(_xen.setvcpucontext, d, 9, {}),
            err(_xen.setvcpucontext, d, 0, {'pc': -1})]


def max_mem_limits():
    d = new()
    _xen.max_mem(d, 64)   # 16 pages
    n = _xen.populate_physmap(d, range(0x40000, 0x40010))
    e = err(_xen.populate_physmap, d, [0x40100])
    info = _xen.getdomaininfo(d)
    return [n, e, info['tot_pages'], info['max_pages']]


def populate_large(order, n):
    """n order-sized extents, then a single-page list of 40000 (longer than
    one hypercall buffer), then an order too large."""
    d = new()
    _xen.max_mem(d, 256 * 1024)
    n1 = _xen.populate_physmap(d, [0x40000 + (1 << order) * i for i in range(n)], order)
    n2 = _xen.populate_physmap(d, range(0x50000, 0x50000 + 40000))
    return [n1, n2, _xen.getdomaininfo(d)['tot_pages'], err(_xen.populate_physmap, d, [1], 40)]


def address_size_and_paging_pool(pool):
    d = new()
    _xen.set_address_size(d, 64)
    _xen.set_paging_mempool_size(d, pool)
    return [_xen.get_paging_mempool_size(d), err(_xen.set_paging_mempool_size, d, 4097),
            err(_xen.set_address_size, d, 12345)]


def passthrough(uart):
    d = new()
    _xen.iomem_permission(d, 0xa003, 1)
    _xen.memory_mapping(d, 0xa003, 0xa003, 1)
    _xen.bind_pt_irq(d, 40)
    _xen.cacheflush(d, 0x40000, 0)
    m = sim.domain(d)
    return [err(_xen.bind_pt_irq, d, 20), err(_xen.bind_pt_irq, d, 1000), err(_xen.assign_device, d, ''),
            40 in m['irqs'], len(m['iomem']) > 0,
            err(_xen.memory_mapping, d, 0xa003, 0xa003, 1, False),
            err(_xen.iomem_permission, d, 0xa003, 1, False),
            err(_xen.iomem_permission, d, uart, 1)]


def map_aliases_guest_memory():
    d = new()
    _xen.max_mem(d, 1024)
    _xen.populate_physmap(d, [0x39000, 0x39001, 0x40000])
    m = _xen.map(d, [0x39001, 0x40000])
    mv = memoryview(m)
    mv[0:5] = b'hello'
    mv[4096:4099] = b'abc'
    g1 = bytes(memoryview(sim.guest_map(d, 0x39001))[0:5])
    g2 = bytes(memoryview(sim.guest_map(d, 0x40000))[0:3])
    memoryview(sim.guest_map(d, 0x39001))[10:12] = b'zz'
    return [len(m), g1, g2, bytes(mv[10:12]), sim.mappings()]


def map_errors_and_close():
    d = new()
    _xen.max_mem(d, 1024)
    _xen.populate_physmap(d, [0x40000])
    e1 = err(_xen.map, d, [0x40000, 0x40001])     # second frame not populated
    e2 = err(_xen.map, 999, 0x40000)
    e3 = err(_xen.map, d, [])
    n0 = sim.mappings()
    with _xen.map(d, 0x40000) as m:
        inside = [len(m), sim.mappings()]
    mv_err = err(memoryview, m)
    m.close()   # idempotent
    _xen.map(d, 0x40000)        # dropped at once: its finaliser unmaps it
    gc.collect()
    return [e1, e2, e3, n0, inside, len(m), mv_err, sim.mappings()]


def stale_view_harmless(secret):
    d = new()
    _xen.max_mem(d, 1024)
    _xen.populate_physmap(d, [0x40000])
    memoryview(sim.guest_map(d, 0x40000))[0:len(secret)] = secret
    m = _xen.map(d, 0x40000)
    mv = memoryview(m)
    m.close()
    stale = bytes(mv[0:len(secret)])
    mv[0:4] = b'junk'   # must not reach the guest
    return [stale, bytes(memoryview(sim.guest_map(d, 0x40000))[0:len(secret)])]


def destroy_waits_for_mappings():
    d = new()
    _xen.max_mem(d, 1024)
    _xen.populate_physmap(d, [0x40000])
    m = _xen.map(d, 0x40000)
    _xen.destroydomain(d)
    dying = _xen.getdomaininfo(d)['dying']
    m.close()
    return [dying, err(_xen.getdomaininfo, d)]


def hvm_params():
    d = new()
    _xen.hvm_set_param(d, _xen.HVM_PARAM_STORE_PFN, 0x39001)
    return [_xen.hvm_get_param(d, _xen.HVM_PARAM_STORE_PFN), _xen.hvm_get_param(d, _xen.HVM_PARAM_CONSOLE_PFN),
            err(_xen.hvm_get_param, d, _xen.HVM_NR_PARAMS), err(_xen.hvm_get_param, 999, 1),
            err(_xen.hvm_set_param, d, 1, -5)]


def console_io(line, typed):
    _xen.console_write(line)
    out = sim.console_output()
    empty = _xen.console_read()
    sim.console_input(typed)
    return [out, empty, _xen.console_read(3), _xen.console_read()]


def oserror_of_destroy(missing):
    """The OSError destroying a missing domain raises: [its name in _xen's
    errorcode table, errno, args[0], str()]."""
    try:
        _xen.destroydomain(missing)
    except OSError as e:
        return [_xen.errorcode[e.errno], e.errno, e.args[0], str(e)]
    return None


def eperm_when_unprivileged():
    d = new()
    sim.set_privileged(False)
    a = [err(_xen.createdomain), err(_xen.getdomaininfo, d), err(_xen.physinfo), err(_xen.map, d, 0x40000)]
    sim.set_privileged(True)
    return a + [_xen.getdomaininfo(d)['domid'] == d]


def fault_injection_nth(enomem, eio):
    d = new()
    sim.fail('domctl.max_mem', 2, enomem)
    out = [err(_xen.max_mem, d, 1024) for _ in range(3)]
    sim.fail('*', 1, eio)
    return out + [err(_xen.getdomaininfo, d)]


def flask(label, bogus):
    d = new()
    off = err(_xen.flask_context_to_sid, label)
    sim.flask('enforcing')
    sid = _xen.flask_context_to_sid(label)
    ctx = _xen.flask_sid_to_context(sid)
    _xen.flask_relabel_domain(d, sid)
    return [off, sid > 0, ctx, _xen.flask_getenforce(), _xen.getdomaininfo(d)['ssidref'] == sid,
            err(_xen.flask_context_to_sid, bogus), err(_xen.flask_context_to_sid, '')]


def subscript_and_read_only():
    d = new()
    _xen.max_mem(d, 64)
    _xen.populate_physmap(d, [0x39000])
    g = memoryview(sim.guest_map(d, 0x39000))
    g[0:3] = b'abc'
    m = _xen.map(d, 0x39000)
    m[3:5] = b'de'
    ro = _xen.map(d, [0x39000], False)
    return [m[0], m[0:5], ro[1:5], bytes(g[3:5])]


def read_only_refuses_writes():
    """[the refusal of an item write, of a write through a memoryview, the
    guest's byte after both]."""
    d = new()
    _xen.max_mem(d, 64)
    _xen.populate_physmap(d, [0x39000])
    ro = _xen.map(d, 0x39000, False)
    out = []
    try:
        ro[0] = 1
        out.append(None)
    except TypeError as e:
        out.append(str(e))
    try:
        memoryview(ro)[0] = 1
        out.append(None)
    except TypeError as e:
        out.append(type(e).__name__)
    return out + [memoryview(sim.guest_map(d, 0x39000))[0]]


def interrupt_main_and_catch_signal(signum, kill_command):
    """interrupt_main() from a thread, then signum caught as a
    KeyboardInterrupt in a daemon-like loop (kill_command, given this
    process's pid, sends it): what each loop saw."""
    import os
    import _xenboard
    out = []

    def later():
        time.sleep_ms(50)
        _xenboard.interrupt_main()
    _thread.start_new_thread(later, ())
    try:
        while True:
            time.sleep_ms(5)
    except KeyboardInterrupt:
        out.append('interrupted')
    _xenboard.catch_signal(signum)
    try:
        os.system(kill_command % int(open('/proc/self/stat').read().split()[0]))
        for i in range(200):     # a daemon's loop: the interrupt lands in it
            time.sleep_ms(10)
        out.append('not delivered')
    except KeyboardInterrupt:
        out.append('KeyboardInterrupt')
    return out


def view_outliving_its_mapping(secret):
    # MicroPython's memoryview does not keep its owner alive: the Mapping is
    # collected (and its frames released) while the view lives on.
    d = new()
    _xen.max_mem(d, 64 * 1024)
    _xen.populate_physmap(d, range(0x40000, 0x40000 + 1024, 512), 9)
    memoryview(sim.guest_map(d, 0x40000))[0:len(secret)] = secret
    v = memoryview(_xen.map(d, 0x40000))
    for _ in range(3):
        gc.collect()
    after_gc = sim.mappings()
    v[0:4] = b'junk'
    others = []
    for i in range(200):       # later mappings never land under the stale view
        m = _xen.map(d, 0x40000 + (i % 2) * 512)
        others.append(m)
    memoryview(sim.guest_map(d, 0x40000))[6:9] = b'new'
    return [after_gc, bytes(v[6:9]), bytes(memoryview(sim.guest_map(d, 0x40000))[0:len(secret)])]
