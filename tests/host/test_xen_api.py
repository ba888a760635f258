"""Every `_xen` primitive against the sim backend, error paths included.

Each test runs a fresh firmware process (a fresh simulated hypervisor)."""
import pytest

# Common prelude: a domain ready for building.
NEW = """
import _xen, errno
import _xensim as sim
def err(f, *a, **k):
    try:
        f(*a, **k)
    except OSError as e:
        return _xen.errorcode.get(e.errno, e.errno)
    except (ValueError, TypeError) as e:
        return type(e).__name__
    return None
d = _xen.createdomain(max_vcpus=2, nr_spis=64)
"""


def test_version_and_backend(mp):
    r = mp.json("import _xen\nemit([list(_xen.version()[:2]), _xen.BACKEND])")
    assert r == [[4, 17], "sim"]


def test_physinfo(mp):
    r = mp.json("import _xen\nemit(_xen.physinfo())")
    assert r["nr_cpus"] >= 1
    assert 0 < r["free_pages"] <= r["total_pages"]


def test_physinfo_reflects_populated_memory(mp):
    r = mp.json(NEW + """
before = _xen.physinfo()['free_pages']
_xen.max_mem(d, 4096)
_xen.populate_physmap(d, range(0x40000, 0x40000 + 256))
emit([before, _xen.physinfo()['free_pages']])
""")
    assert r[0] - r[1] == 256


def test_domain_list_and_create_destroy(mp):
    r = mp.json(NEW + """
ids = [i['domid'] for i in _xen.domain_list()]
d2 = _xen.createdomain(7)
after = [i['domid'] for i in _xen.domain_list()]
tail = [i['domid'] for i in _xen.domain_list(2)]
one = [i['domid'] for i in _xen.domain_list(0, 1)]
_xen.destroydomain(d2)
final = [i['domid'] for i in _xen.domain_list()]
emit([d, ids, after, tail, one, final, err(_xen.createdomain, d)])
""")
    d, ids, after, tail, one, final, dup = r
    assert d >= 1 and ids == [0, d]
    assert after == [0, d, 7] and tail == [7] and one == [0]
    assert final == [0, d]
    assert dup == "EEXIST"


def test_new_domain_is_paused_and_pause_count(mp):
    r = mp.json(NEW + """
s = [_xen.getdomaininfo(d)['paused']]
_xen.unpausedomain(d); s.append(_xen.getdomaininfo(d)['paused'])
_xen.pausedomain(d); _xen.pausedomain(d)
_xen.unpausedomain(d); s.append(_xen.getdomaininfo(d)['paused'])
_xen.unpausedomain(d); s.append(_xen.getdomaininfo(d)['paused'])
emit(s)
""")
    assert r == [True, False, True, False]


def test_getdomaininfo_exact_domain_only(mp):
    # Xen 4.17 answers getdomaininfo(2) with domain 3: the binding must not.
    r = mp.json(NEW + """
_xen.createdomain(3)
emit([err(_xen.getdomaininfo, 2), _xen.getdomaininfo(3)['domid'], err(_xen.getdomaininfo, 4000)])
""")
    assert r == ["ESRCH", 3, "ESRCH"]


def test_bad_domid_errors(mp):
    r = mp.json(NEW + """
emit([err(f, 999) for f in (_xen.destroydomain, _xen.pausedomain, _xen.unpausedomain,
                            _xen.getdomaininfo, _xen.get_paging_mempool_size)]
     + [err(_xen.getdomaininfo, 70000), err(_xen.getdomaininfo, -1), err(_xen.max_mem, 999, 1024)])
""")
    assert r == ["ESRCH"] * 5 + ["ValueError", "ValueError", "ESRCH"]


def test_createdomain_validation(mp):
    r = mp.json(NEW + """
out = {}
_xen.createdomain(out=out)   # GIC_NATIVE resolved by Xen
emit([err(_xen.createdomain, 0, flags=0),
      err(lambda: _xen.createdomain(handle=b'short')),
      err(lambda: _xen.createdomain(max_vcpus=0)),
      err(lambda: _xen.createdomain(out=[])),
      out['gic_version'] in (_xen.XEN_DOMCTL_CONFIG_GIC_V2, _xen.XEN_DOMCTL_CONFIG_GIC_V3)])
""")
    assert r == ["EINVAL", "ValueError", "EINVAL", "TypeError", True]


def test_createdomain_handle_roundtrip(mp):
    r = mp.json(NEW + """
h = bytes(range(16))
x = _xen.createdomain(handle=h)
emit(list(_xen.getdomaininfo(x)['handle']))
""")
    assert r == list(range(16))


def test_max_vcpus_and_vcpu_context(mp):
    r = mp.json(NEW + """
e1 = err(_xen.max_vcpus, d, 3)
_xen.max_vcpus(d, 2)
e32 = err(_xen.setvcpucontext, d, 0, {'pc': 0x40000000})  # Arm domains start 32-bit
_xen.set_address_size(d, 64)
_xen.setvcpucontext(d, 0, {'pc': 0x40000000, 'x0': 0x48000000})
ctx = _xen.getvcpucontext(d, 0)
emit([e1, e32, hex(ctx['pc']), hex(ctx['x0']), ctx['cpsr'] == _xen.PSR_GUEST64_INIT,
      ctx['online'], _xen.getdomaininfo(d)['nr_online_vcpus'],
      err(_xen.setvcpucontext, d, 0, {'x31': 1}), err(_xen.setvcpucontext, d, 9, {}),
      err(_xen.setvcpucontext, d, 0, {'pc': -1})])
""")
    assert r == ["EINVAL", "EINVAL", "0x40000000", "0x48000000", True, True, 1,
                 "ValueError", "EINVAL", "ValueError"]


def test_max_mem_limits_population(mp):
    r = mp.json(NEW + """
_xen.max_mem(d, 64)   # 16 pages
n = _xen.populate_physmap(d, range(0x40000, 0x40010))
e = err(_xen.populate_physmap, d, [0x40100])
info = _xen.getdomaininfo(d)
emit([n, e, info['tot_pages'], info['max_pages']])
""")
    assert r == [16, "ENOMEM", 16, 16]


def test_populate_physmap_large_and_extents(mp):
    # 2 MiB extents (order 9), and a list longer than one hypercall buffer.
    r = mp.json(NEW + """
_xen.max_mem(d, 256 * 1024)
n1 = _xen.populate_physmap(d, [0x40000 + 512 * i for i in range(4)], 9)
n2 = _xen.populate_physmap(d, range(0x50000, 0x50000 + 40000))
emit([n1, n2, _xen.getdomaininfo(d)['tot_pages'], err(_xen.populate_physmap, d, [1], 40)])
""")
    assert r == [4, 40000, 4 * 512 + 40000, "ValueError"]


def test_address_size_and_paging_pool(mp):
    r = mp.json(NEW + """
_xen.set_address_size(d, 64)
_xen.set_paging_mempool_size(d, 8 << 20)
emit([_xen.get_paging_mempool_size(d), err(_xen.set_paging_mempool_size, d, 4097),
      err(_xen.set_address_size, d, 12345)])
""")
    assert r == [8 << 20, "EINVAL", "EINVAL"]


def test_passthrough_calls(mp):
    r = mp.json(NEW + """
_xen.iomem_permission(d, 0xa003, 1)
_xen.memory_mapping(d, 0xa003, 0xa003, 1)
_xen.bind_pt_irq(d, 40)
_xen.cacheflush(d, 0x40000, 0)
m = sim.domain(d)
emit([err(_xen.bind_pt_irq, d, 20), err(_xen.bind_pt_irq, d, 1000), err(_xen.assign_device, d, ''),
      40 in m['irqs'], len(m['iomem']) > 0,
      err(_xen.memory_mapping, d, 0xa003, 0xa003, 1, False), err(_xen.iomem_permission, d, 0xa003, 1, False),
      err(_xen.iomem_permission, d, 0x9000, 1)])   # Xen's own UART
""")
    # irq 1000 is an SPI number beyond the domain's nr_spis: vgic_reserve_virq fails.
    assert r == ["ValueError", "EBUSY", "ValueError", True, True, None, None, "EPERM"]


def test_map_guest_frames_aliases_guest_memory(mp):
    r = mp.json(NEW + """
_xen.max_mem(d, 1024)
_xen.populate_physmap(d, [0x39000, 0x39001, 0x40000])
m = _xen.map(d, [0x39001, 0x40000])
mv = memoryview(m)
mv[0:5] = b'hello'
mv[4096:4099] = b'abc'
g1 = bytes(memoryview(sim.guest_map(d, 0x39001))[0:5]); g2 = bytes(memoryview(sim.guest_map(d, 0x40000))[0:3])
memoryview(sim.guest_map(d, 0x39001))[10:12] = b'zz'
back = bytes(mv[10:12])
emit([len(m), g1.decode(), g2.decode(), back.decode(), sim.mappings()])
""")
    assert r == [8192, "hello", "abc", "zz", 1]


def test_map_errors_and_close(mp):
    r = mp.json(NEW + """
import gc
_xen.max_mem(d, 1024)
_xen.populate_physmap(d, [0x40000])
e1 = err(_xen.map, d, [0x40000, 0x40001])     # second frame not populated
e2 = err(_xen.map, 999, 0x40000)
e3 = err(_xen.map, d, [])
n0 = sim.mappings()
with _xen.map(d, 0x40000) as m:
    inside = (len(m), sim.mappings())
mv_err = None
try:
    memoryview(m)
except TypeError:
    mv_err = 'TypeError'
m.close()   # idempotent
m2 = _xen.map(d, 0x40000)
m2 = None
gc.collect()
emit([e1, e2, e3, n0, list(inside), len(m), mv_err, sim.mappings()])
""")
    assert r == ["EINVAL", "ESRCH", "ValueError", 0, [4096, 1], 0, "TypeError", 0]


def test_stale_view_of_closed_mapping_is_harmless(mp):
    r = mp.json(NEW + """
_xen.max_mem(d, 1024)
_xen.populate_physmap(d, [0x40000])
memoryview(sim.guest_map(d, 0x40000))[0:6] = b'secret'
m = _xen.map(d, 0x40000)
mv = memoryview(m)
m.close()
stale = bytes(mv[0:6])
mv[0:4] = b'junk'   # must not reach the guest
emit([stale != b'secret', bytes(memoryview(sim.guest_map(d, 0x40000))[0:6]).decode()])
""")
    assert r == [True, "secret"]


def test_destroy_waits_for_mappings(mp):
    r = mp.json(NEW + """
_xen.max_mem(d, 1024)
_xen.populate_physmap(d, [0x40000])
m = _xen.map(d, 0x40000)
_xen.destroydomain(d)
dying = _xen.getdomaininfo(d)['dying']
m.close()
emit([dying, err(_xen.getdomaininfo, d)])
""")
    assert r == [True, "ESRCH"]


def test_hvm_params(mp):
    r = mp.json(NEW + """
_xen.hvm_set_param(d, _xen.HVM_PARAM_STORE_PFN, 0x39001)
emit([_xen.hvm_get_param(d, _xen.HVM_PARAM_STORE_PFN), _xen.hvm_get_param(d, _xen.HVM_PARAM_CONSOLE_PFN),
      err(_xen.hvm_get_param, d, _xen.HVM_NR_PARAMS), err(_xen.hvm_get_param, 999, 1),
      err(_xen.hvm_set_param, d, 1, -5)])
""")
    assert r == [0x39001, 0, "ValueError", "ESRCH", "ValueError"]


def test_console_io(mp):
    r = mp.json("""
import _xen, _xensim
_xen.console_write(b'dom0 says hi\\n')
out = _xensim.console_output()
empty = _xen.console_read()
_xensim.console_input(b'typed')
emit([out.decode(), empty.decode(), _xen.console_read(3).decode(), _xen.console_read().decode()])
""")
    assert r == ["dom0 says hi\n", "", "typ", "ed"]


def test_errors_are_oserrors_with_host_errno(mp):
    r = mp.json("""
import _xen, errno
try:
    _xen.destroydomain(4242)
except OSError as e:
    emit([_xen.errorcode[e.errno], e.errno == e.args[0], str(e)])
""")
    assert r[:2] == ["ESRCH", True] and "ESRCH" in r[2]


def test_eperm_when_unprivileged(mp):
    r = mp.json(NEW + """
sim.set_privileged(False)
a = [err(_xen.createdomain), err(_xen.getdomaininfo, d), err(_xen.physinfo), err(_xen.map, d, 0x40000)]
sim.set_privileged(True)
emit(a + [_xen.getdomaininfo(d)['domid'] == d])
""")
    assert r == ["EPERM"] * 4 + [True]


def test_fault_injection_nth_call(mp):
    r = mp.json(NEW + """
sim.fail('domctl.max_mem', 2, errno.ENOMEM)
a = err(_xen.max_mem, d, 1024)
b = err(_xen.max_mem, d, 1024)
c = err(_xen.max_mem, d, 1024)
sim.fail('*', 1, errno.EIO)
e = err(_xen.getdomaininfo, d)
emit([a, b, c, e])
""")
    assert r == [None, "ENOMEM", None, "EIO"]


def test_flask(mp):
    r = mp.json(NEW + """
off = err(_xen.flask_context_to_sid, 'system_u:system_r:domU_t')
sim.flask('enforcing')
sid = _xen.flask_context_to_sid('system_u:system_r:domU_t')
ctx = _xen.flask_sid_to_context(sid)
_xen.flask_relabel_domain(d, sid)
emit([off, sid > 0, ctx, _xen.flask_getenforce(), _xen.getdomaininfo(d)['ssidref'] == sid,
      err(_xen.flask_context_to_sid, 'bogus_u:bogus_r:nope_t'), err(_xen.flask_context_to_sid, '')])
""")
    assert r[0] == "ENOSYS"
    assert r[1:5] == [True, "system_u:system_r:domU_t", 1, True]
    assert r[5] in ("EINVAL", "EACCES", "ENOENT")
    assert r[6] == "ValueError"


def test_mapping_subscript_and_read_only(mp):
    r = mp.json(NEW + """
_xen.max_mem(d, 64)
_xen.populate_physmap(d, [0x39000])
g = memoryview(sim.guest_map(d, 0x39000))
g[0:3] = b'abc'
m = _xen.map(d, 0x39000)
m[3:5] = b'de'
ro = _xen.map(d, [0x39000], False)
emit([m[0], m[0:5].decode(), ro[1:5].decode(), err(ro.__setitem__, 0, 1) if hasattr(ro, '__setitem__') else 'n/a',
      bytes(g[3:5]).decode()])
""")
    assert r[:3] == [97, "abcde", "bcde"] and r[4] == "de"


def test_read_only_mapping_refuses_writes(mp):
    out = mp.run(NEW + """
_xen.max_mem(d, 64)
_xen.populate_physmap(d, [0x39000])
ro = _xen.map(d, 0x39000, False)
try:
    ro[0] = 1
except TypeError as e:
    print('refused:', e)
try:
    memoryview(ro)[0] = 1
except TypeError as e:
    print('view refused')
print('guest byte', memoryview(sim.guest_map(d, 0x39000))[0])
""")
    assert "refused: mapping is read-only" in out and "guest byte 0" in out


def test_interrupt_main_and_catch_signal(mp):
    out = mp.run("""
import _xenboard, _thread, time
def later():
    time.sleep_ms(50)
    _xenboard.interrupt_main()
_thread.start_new_thread(later, ())
try:
    while True:
        time.sleep_ms(5)
except KeyboardInterrupt:
    print('interrupted')
import os
_xenboard.catch_signal(15)
try:
    os.system('kill -TERM %d' % int(open('/proc/self/stat').read().split()[0]))
    for i in range(200):     # a daemon's loop: the interrupt lands in it
        time.sleep_ms(10)
    print('not delivered')
except KeyboardInterrupt:
    print('SIGTERM as KeyboardInterrupt')
""")
    assert out.split() == ["interrupted", "SIGTERM", "as", "KeyboardInterrupt"]


def test_view_outliving_its_mapping_object_never_faults(mp):
    # MicroPython's memoryview does not keep its owner alive: the Mapping is
    # collected (and its frames released) while the view lives on. The view
    # must read inert memory, never fault and never see another mapping.
    r = mp.json(NEW + """
import gc
_xen.max_mem(d, 64 * 1024)
_xen.populate_physmap(d, range(0x40000, 0x40000 + 1024, 512), 9)
memoryview(sim.guest_map(d, 0x40000))[0:6] = b'secret'
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
emit([after_gc, bytes(v[6:9]) != b'new', bytes(memoryview(sim.guest_map(d, 0x40000))[0:6]).decode()])
""")
    assert r == [0, True, "secret"]
