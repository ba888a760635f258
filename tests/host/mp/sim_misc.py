# tests/host/test_sim_misc.py's firmware side: the rest of the sim model
# (console_io, HVM params, I/O memory, IRQ and device passthrough, cacheflush,
# fault injection, tracing, reset and xen_version).
import gc
import struct

import _xen
from simlib import sim, S, err, ids, domctl

# struct xen_domctl_bind_pt_irq: machine_irq, irq_type, then u.spi.spi
PT_IRQ = '<IIH'


def passthrough_domain():
    return _xen.createdomain(nr_spis=64, flags=_xen.XEN_DOMCTL_CDF_hvm | _xen.XEN_DOMCTL_CDF_hap
                             | _xen.XEN_DOMCTL_CDF_iommu)


def console(typed):
    _xen.console_write(b'hello ')
    _xen.console_write('dom0')
    return [sim.console_output(), sim.console_output(), sim.console_input(typed),
            _xen.console_read(10), len(_xen.console_read(1000)), _xen.console_read()]


def hvm_params(not_on_arm):
    d = _xen.createdomain()
    _xen.hvm_set_param(d, _xen.HVM_PARAM_STORE_PFN, 0x39001)
    _xen.hvm_set_param(d, _xen.HVM_PARAM_CONSOLE_EVTCHN, 2)
    return [_xen.hvm_get_param(d, _xen.HVM_PARAM_STORE_PFN),
            _xen.hvm_get_param(d, _xen.HVM_PARAM_CONSOLE_PFN),
            sim.domain(d)['params'], err(_xen.hvm_set_param, d, not_on_arm, 1),
            err(_xen.hvm_get_param, d, not_on_arm),
            err(_xen.hvm_set_param, 0, _xen.HVM_PARAM_STORE_PFN, 1), err(_xen.hvm_get_param, 9, 1)]


def iomem_and_mapping():
    d = passthrough_domain()
    out = [err(_xen.memory_mapping, d, 0x10000, 0xff0e0, 1)]
    _xen.iomem_permission(d, 0xff0e0, 16)
    out += [sim.domain(d)['iomem']]
    _xen.iomem_permission(d, 0xff0e4, 2, False)
    out += [sim.domain(d)['iomem'], err(_xen.iomem_permission, d, 0x9000, 1),
            err(_xen.iomem_permission, d, 5, 0)]
    _xen.memory_mapping(d, 0x10000, 0xff0e0, 4)
    out += [sim.domain(d)['mmio'], err(_xen.memory_mapping, d, 0x10000, 0xff0e4, 1),
            err(_xen.memory_mapping, d, 0x10000, 0xff0e0, 65),
            err(_xen.memory_mapping, d, 0x1, 1 << 40, 1)]
    _xen.memory_mapping(d, 0x10000, 0xff0e0, 4, False)
    return out + [sim.domain(d)['mmio']]


def bind_pt_irq(nr, bind_op, ver, spi_type, isa_type):
    d = passthrough_domain()
    e = _xen.createdomain(nr_spis=64)
    _xen.bind_pt_irq(d, 40)
    out = [sim.domain(d)['irqs'], err(_xen.bind_pt_irq, d, 40), err(_xen.bind_pt_irq, e, 40),
           err(_xen.bind_pt_irq, d, 96), err(_xen.bind_pt_irq, d, 20)]

    def raw(irq, kind, spi):
        return domctl(nr, bind_op, d, struct.pack(PT_IRQ, irq, kind, spi), ver)[0]
    # raw: an SGI/PPI is not dom0's to give, the SPI must be the machine IRQ,
    # and only SPIs exist on Arm
    out += [raw(20, spi_type, 20), raw(40, spi_type, 41), raw(41, isa_type, 0)]
    _xen.destroydomain(d)
    _xen.bind_pt_irq(e, 40)                   # released with the domain
    return out + [sim.domain(e)['irqs']]


def assign_device(dev, missing, not_passthrough):
    d = passthrough_domain()
    plain = _xen.createdomain()
    other = passthrough_domain()
    out = [err(_xen.assign_device, plain, dev), err(_xen.assign_device, d, missing),
           err(_xen.assign_device, d, not_passthrough), err(_xen.assign_device, d, dev, 1)]
    _xen.assign_device(d, dev)
    out += [sim.domain(d)['devices'], err(_xen.assign_device, other, dev), sim.devices()[dev]]
    _xen.destroydomain(d)
    return out + [sim.devices()[dev], err(_xen.assign_device, other, dev)]


def cacheflush():
    d = _xen.createdomain()
    _xen.cacheflush(d, 0x40000, 16)
    return [sim.domain(d)['cacheflushes'], err(_xen.cacheflush, d, 0, (1 << 20) + 1),
            err(_xen.cacheflush, d, (1 << 64) - 4, 8), err(_xen.cacheflush, 9, 0, 1)]


def fault_injection(enospc, ebusy, eacces):
    sim.fail('domctl.createdomain')
    out = [err(_xen.createdomain), ids(), err(_xen.createdomain)]
    d = 1
    _xen.max_mem(d, 64)
    sim.fail('memory.populate_physmap', nth=2, errno=enospc)
    out += [err(_xen.populate_physmap, d, [0x40000]), err(_xen.populate_physmap, d, [0x40001]),
            sim.domain(d)['tot_pages']]
    sim.fail('evtchn.*', errno=ebusy)
    out += [err(_xen.alloc_unbound, d), err(_xen.alloc_unbound, d)]
    sim.fail('*', errno=eacces)
    out += [err(_xen.physinfo), err(_xen.physinfo)]
    sim.fail('hvm.set_param')
    sim.fail_clear()
    out += [err(_xen.hvm_set_param, d, 1, 1)]
    return out + [err(sim.fail, 'domctl.nonsense'), err(sim.fail, 'bogus.*'), err(sim.fail, 'map', 0),
                  err(sim.fail, 'map', 1, 0)]


def _build():
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


def trace_and_fail_each(eio):
    """The hypercalls of a small build, traced; then each failed in turn
    (errno eio): [calls, calls traced after tracing stopped, per call
    [name, the build's errno, the domains left, the mappings left]]."""
    _xen.abi()   # the binding asks Xen its release once, before its first operation
    sim.trace(True)
    d = _build()
    calls = sim.calls()
    sim.trace(False)
    _xen.destroydomain(d)
    _xen.createdomain()
    after = len(sim.calls())
    sim.reset()
    results = []
    for i, name in enumerate(calls):
        nth = calls[:i + 1].count(name)
        sim.fail(name, nth=nth, errno=eio)
        results.append([name, err(_build), ids(), sim.mappings()])
        sim.fail_clear()
        for x in _xen.domain_list():
            if x['domid']:
                _xen.destroydomain(x['domid'])
        gc.collect()     # a mapping whose unmap failed is released by its finaliser
    return [calls, after, results]


def reset():
    _xen.createdomain()
    sim.flask('enforcing')
    sim.set_privileged(False)
    sim.fail('*')
    sim.reset()
    return [ids(), err(_xen.flask_getenforce), _xen.createdomain()]


def version_raw(nr, version, extraversion, pagesize, unknown_sub_op, unknown_hypercall):
    return [sim.hypercall(nr, version), sim.scratch_write(0, bytes(16)),
            sim.hypercall(nr, extraversion, S), sim.scratch_read(0, 6), sim.hypercall(nr, pagesize),
            sim.hypercall(nr, unknown_sub_op), sim.hypercall(unknown_hypercall)]
