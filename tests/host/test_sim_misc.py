"""The rest of the sim model: console_io, HVM params, I/O memory, IRQ and
device passthrough, cacheflush, fault injection, tracing and reset."""
from test_sim_domain import PRE

IO = PRE + """
d = _xen.createdomain(nr_spis=64, flags=_xen.XEN_DOMCTL_CDF_hvm | _xen.XEN_DOMCTL_CDF_hap | _xen.XEN_DOMCTL_CDF_iommu)
"""


def test_console(mp):
    r = mp.json(PRE + """
_xen.console_write(b'hello ')
_xen.console_write('dom0')
out = [sim.console_output(), sim.console_output(), sim.console_input(bytes(range(65, 91)) * 8),
       _xen.console_read(10), len(_xen.console_read(1000)), _xen.console_read()]
emit([x.decode() if isinstance(x, bytes) else x for x in out])
""")
    # Xen's serial input ring keeps 128 characters and drops the rest
    assert r == ["hello dom0", "", 128, "ABCDEFGHIJ", 118, ""]


def test_hvm_params(mp):
    r = mp.json(PRE + """
d = _xen.createdomain()
_xen.hvm_set_param(d, _xen.HVM_PARAM_STORE_PFN, 0x39001)
_xen.hvm_set_param(d, _xen.HVM_PARAM_CONSOLE_EVTCHN, 2)
out = [_xen.hvm_get_param(d, _xen.HVM_PARAM_STORE_PFN), _xen.hvm_get_param(d, _xen.HVM_PARAM_CONSOLE_PFN),
       sim.domain(d)['params'], err(_xen.hvm_set_param, d, 3, 1), err(_xen.hvm_get_param, d, 3),
       err(_xen.hvm_set_param, 0, _xen.HVM_PARAM_STORE_PFN, 1), err(_xen.hvm_get_param, 9, 1)]
emit(out)
""")
    # only the Arm whitelist of params exists; dom0 may not set its own
    assert r == [0x39001, 0, {"1": 0x39001, "18": 2}, "EINVAL", "EINVAL", "EPERM", "ESRCH"]


def test_iomem_permission_and_memory_mapping(mp):
    r = mp.json(IO + """
out = [err(_xen.memory_mapping, d, 0x10000, 0xff0e0, 1)]
_xen.iomem_permission(d, 0xff0e0, 16)
out += [sim.domain(d)['iomem']]
_xen.iomem_permission(d, 0xff0e4, 2, False)
out += [sim.domain(d)['iomem'], err(_xen.iomem_permission, d, 0x9000, 1), err(_xen.iomem_permission, d, 5, 0)]
_xen.memory_mapping(d, 0x10000, 0xff0e0, 4)
out += [sim.domain(d)['mmio'], err(_xen.memory_mapping, d, 0x10000, 0xff0e4, 1),
        err(_xen.memory_mapping, d, 0x10000, 0xff0e0, 65), err(_xen.memory_mapping, d, 0x1, 1 << 40, 1)]
_xen.memory_mapping(d, 0x10000, 0xff0e0, 4, False)
out += [sim.domain(d)['mmio']]
emit(out)
""")
    assert r == ["EPERM", [[0xff0e0, 0xff0ef]], [[0xff0e0, 0xff0e3], [0xff0e6, 0xff0ef]], "EPERM", "EINVAL",
                 [[0x10000, 0xff0e0, 4]], "EPERM", "E2BIG", "EINVAL", []]


def test_bind_pt_irq(mp):
    r = mp.json(IO + """
e = _xen.createdomain(nr_spis=64)
_xen.bind_pt_irq(d, 40)
out = [sim.domain(d)['irqs'], err(_xen.bind_pt_irq, d, 40), err(_xen.bind_pt_irq, e, 40),
       err(_xen.bind_pt_irq, d, 96), err(_xen.bind_pt_irq, d, 20)]
# raw: an SGI/PPI is not dom0's to give
SPI = 4      # PT_IRQ_TYPE_SPI
spi = lambda irq, spi: struct.pack('<IIH', irq, SPI, spi)
out += [ename(domctl(38, d, spi(20, 20))[0]), ename(domctl(38, d, spi(40, 41))[0]),
        ename(domctl(38, d, struct.pack('<II', 41, 1))[0])]
_xen.destroydomain(d)
_xen.bind_pt_irq(e, 40)                   # released with the domain
out += [sim.domain(e)['irqs']]
emit(out)
""")
    assert r == [[40], "EBUSY", "EBUSY", "EBUSY", "ValueError", "EPERM", "EINVAL", "EOPNOTSUPP", [40]]


def test_assign_device(mp):
    r = mp.json(IO + """
plain = _xen.createdomain()
other = _xen.createdomain(flags=_xen.XEN_DOMCTL_CDF_hvm | _xen.XEN_DOMCTL_CDF_hap | _xen.XEN_DOMCTL_CDF_iommu)
out = [err(_xen.assign_device, plain, '/soc/ethernet@ff0e0000'),
       err(_xen.assign_device, d, '/soc/nothing@0'),
       err(_xen.assign_device, d, '/soc/gpio@ff0a0000'),
       err(_xen.assign_device, d, '/soc/ethernet@ff0e0000', 1)]
_xen.assign_device(d, '/soc/ethernet@ff0e0000')
out += [sim.domain(d)['devices'], err(_xen.assign_device, other, '/soc/ethernet@ff0e0000'),
        sim.devices()['/soc/ethernet@ff0e0000']]
_xen.destroydomain(d)
out += [sim.devices()['/soc/ethernet@ff0e0000'], err(_xen.assign_device, other, '/soc/ethernet@ff0e0000')]
emit(out)
""")
    # unknown path: ESRCH, as dt_find_node_by_gpath() answers
    assert r == ["EOPNOTSUPP", "ESRCH", "EINVAL", "EINVAL", ["/soc/ethernet@ff0e0000"], "EBUSY",
                 [True, 1], [True, None], None]


def test_cacheflush(mp):
    r = mp.json(PRE + """
d = _xen.createdomain()
_xen.cacheflush(d, 0x40000, 16)
emit([sim.domain(d)['cacheflushes'], err(_xen.cacheflush, d, 0, (1 << 20) + 1),
      err(_xen.cacheflush, d, (1 << 64) - 4, 8), err(_xen.cacheflush, 9, 0, 1)])
""")
    assert r == [1, "EINVAL", "EINVAL", "ESRCH"]


def test_fault_injection(mp):
    r = mp.json(PRE + """
sim.fail('domctl.createdomain')
out = [err(_xen.createdomain), [i['domid'] for i in _xen.domain_list()], err(_xen.createdomain)]
d = 1
_xen.max_mem(d, 64)
sim.fail('memory.populate_physmap', nth=2, errno=28)
out += [err(_xen.populate_physmap, d, [0x40000]), err(_xen.populate_physmap, d, [0x40001]),
        sim.domain(d)['tot_pages']]
sim.fail('evtchn.*', errno=16)
out += [err(_xen.alloc_unbound, d), err(_xen.alloc_unbound, d)]
sim.fail('*', errno=13)
out += [err(_xen.physinfo), err(_xen.physinfo)]
sim.fail('hvm.set_param')
sim.fail_clear()
out += [err(_xen.hvm_set_param, d, 1, 1)]
out += [err(sim.fail, 'domctl.nonsense'), err(sim.fail, 'bogus.*'), err(sim.fail, 'map', 0),
        err(sim.fail, 'map', 1, 0)]
emit(out)
""")
    assert r == ["EIO", [0], None, None, "ENOSPC", 1, "EBUSY", None, "EACCES", None, None,
                 "ValueError", "ValueError", "ValueError", "ValueError"]


def test_trace_and_fail_each_call(mp):
    """Enumerate the hypercalls of a small build sequence, then fail each in
    turn: the sequence's cleanup must leave no domain and no mapping."""
    r = mp.json(PRE + """
import gc
def build():
    d = _xen.createdomain(max_vcpus=1)
    try:
        _xen.max_vcpus(d, 1)
        _xen.max_mem(d, 64)
        _xen.populate_physmap(d, [0x39000, 0x39001])
        with _xen.map(d, 0x39000) as m:
            memoryview(m)[0] = 1
        _xen.hvm_set_param(d, _xen.HVM_PARAM_STORE_PFN, 0x39000)
        p = _xen.evtchn_alloc_unbound(d, 0)
        _xen.hvm_set_param(d, _xen.HVM_PARAM_STORE_EVTCHN, p)
    except OSError:
        _xen.destroydomain(d)
        raise
    return d
_xen.abi()   # the binding asks Xen its release once, before its first operation
sim.trace(True)
d = build()
calls = sim.calls()
sim.trace(False)
_xen.destroydomain(d)
_xen.createdomain()
after = len(sim.calls())
sim.reset()
results = []
for i, name in enumerate(calls):
    nth = calls[:i + 1].count(name)
    sim.fail(name, nth=nth, errno=5)
    results.append([name, err(build), [x['domid'] for x in _xen.domain_list()], sim.mappings()])
    sim.fail_clear()
    for x in _xen.domain_list():
        if x['domid']:
            _xen.destroydomain(x['domid'])
    gc.collect()     # a mapping whose unmap failed is released by its finaliser
emit([calls, after, results])
""")
    calls, after, results = r
    assert calls == ["domctl.createdomain", "domctl.max_vcpus", "domctl.max_mem", "memory.populate_physmap",
                     "map", "unmap", "hvm.set_param", "evtchn.alloc_unbound", "hvm.set_param"]
    assert after == len(calls)          # tracing stopped
    assert len(results) == len(calls)
    for name, e, domains, maps in results:
        if name in ("unmap",):
            continue                     # a failed unmap leaves the mapping: checked below
        assert e in ("EIO", "ENOMEM"), name
        assert domains == [0], name
        assert maps == 0, name


def test_reset(mp):
    r = mp.json(PRE + """
d = _xen.createdomain()
sim.flask('enforcing')
sim.set_privileged(False)
sim.fail('*')
sim.reset()
emit([[x['domid'] for x in _xen.domain_list()], err(_xen.flask_getenforce), _xen.createdomain()])
""")
    # the domid rover restarts too
    assert r == [[0], "ENOSYS", 1]


def test_version_raw(mp):
    r = mp.json(PRE + """
emit([sim.hypercall(17, 0), sim.scratch_write(0, bytes(16)), sim.hypercall(17, 1, S),
      sim.scratch_read(0, 6).decode(), sim.hypercall(17, 7), ename(sim.hypercall(17, 99)),
      ename(sim.hypercall(200))])
""")
    assert r == [(4 << 16) | 17, None, 0, ".7-sim", 4096, "ENOSYS", "ENOSYS"]
