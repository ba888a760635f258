# tests/host/test_sim_domain.py's firmware side: the sim's domain model (ids,
# configuration checks, the state machine, vcpus, getdomaininfo, privilege,
# shutdown and destruction) through _xen and raw domctls.
import struct
import time

import _xen
from simlib import sim, S, err, ids, domctl, domid_of

# struct xen_domctl_createdomain (Xen 4.17, Arm64): where its fields sit
CREATE_SIZE = 68
CREATE_FLAGS = 20           # flags, iommu_opts, max_vcpus
CREATE_LIMITS = 32          # max_evtchn_port, max_grant_frames, max_maptrack_frames
CREATE_GRANT_OPTS = 44
CREATE_GIC = 56             # arch.gic_version, the first byte of the arch config
# struct xen_sysctl: cmd, interface_version, then the union; 136 bytes
SYSCTL_SIZE = 136
_held = []


def domid_allocation():
    a = _xen.createdomain()
    b = _xen.createdomain()
    _xen.destroydomain(a)
    c = _xen.createdomain()
    d = _xen.createdomain(10)
    dup = err(_xen.createdomain, 10)
    try:
        e = _xen.createdomain(0x7ff0)       # DOMID_FIRST_RESERVED
    except OSError as x:
        e = x.errno
    return [a, b, c, d, dup, e, ids()]


def config_checks(oos_off, undefined_flag):
    hvm_hap = _xen.XEN_DOMCTL_CDF_hvm | _xen.XEN_DOMCTL_CDF_hap
    cases = [
        dict(flags=_xen.XEN_DOMCTL_CDF_hvm),
        dict(flags=_xen.XEN_DOMCTL_CDF_hap),
        dict(flags=hvm_hap | oos_off),
        dict(flags=hvm_hap | undefined_flag),
        dict(max_vcpus=0),
        dict(max_vcpus=129),
        dict(gic_version=_xen.XEN_DOMCTL_CONFIG_GIC_V2),
        dict(gic_version=7),
        dict(tee_type=_xen.XEN_DOMCTL_CONFIG_TEE_OPTEE),
        dict(nr_spis=961),
        dict(grant_version=0),
        dict(grant_version=2),
        dict(max_grant_frames=0),
        dict(max_grant_frames=65),
        dict(max_maptrack_frames=1025),
        dict(cpupool_id=1),
    ]
    out = [err(_xen.createdomain, **c) for c in cases]
    ok = _xen.createdomain(max_vcpus=128, nr_spis=960, max_grant_frames=-1, max_maptrack_frames=-1,
                           flags=hvm_hap | _xen.XEN_DOMCTL_CDF_iommu)
    return [out, ids(), sim.domain(ok)['nr_spis'], sim.domain(ok)['max_grant_frames']]


def nr_spis(n):
    return sim.domain(_xen.createdomain(nr_spis=n))['nr_spis']


def native_gic(nr, createdomain, ver, flags, grant_version):
    p = bytearray(CREATE_SIZE)
    struct.pack_into('<III', p, CREATE_FLAGS, flags, 0, 1)
    struct.pack_into('<Iii', p, CREATE_LIMITS, 10, 1, 1)
    struct.pack_into('<I', p, CREATE_GRANT_OPTS, grant_version)
    rc, out = domctl(nr, createdomain, 0, p, ver)
    dom = domid_of(out)
    return [rc, dom, out[16 + CREATE_GIC], sim.domain(dom)['gic_version']]


def interface_version(domctl_nr, getdomaininfo, domctl_vers, sysctl_nr, physinfo, sysctl_ver):
    """Raw domctls at each of domctl_vers, a sysctl at sysctl_ver: their rcs."""
    out = [domctl(domctl_nr, getdomaininfo, 0, b'', v)[0] for v in domctl_vers]
    b = bytearray(SYSCTL_SIZE)
    struct.pack_into('<II', b, 0, physinfo, sysctl_ver)
    sim.scratch_write(0, b)
    return out + [sim.hypercall(sysctl_nr, S), ids()]


def bad_guest_address(nr):
    return [sim.hypercall(nr, 4096), sim.hypercall(nr, S + (1 << 24))]


def handle_kept(h):
    d = _xen.createdomain(handle=h)
    return [_xen.getdomaininfo(d)['handle'], sim.domain(d)['handle']]


def pause_state_machine():
    d = _xen.createdomain()
    s = [sim.domain(d)['state'], sim.domain(d)['pause_count'], _xen.getdomaininfo(d)['paused']]
    _xen.unpausedomain(d)
    s += [sim.domain(d)['state'], _xen.getdomaininfo(d)['paused'], err(_xen.unpausedomain, d)]
    _xen.pausedomain(d)
    _xen.pausedomain(d)
    s += [sim.domain(d)['pause_count']]
    _xen.unpausedomain(d)
    s += [sim.domain(d)['state']]
    for i in range(254):
        _xen.pausedomain(d)
    return s + [sim.domain(d)['pause_count'], err(_xen.pausedomain, d), err(_xen.pausedomain, 0)]


def vcpus(pc, x0, cpsr_aarch32_svc, cpsr_el2h):
    d = _xen.createdomain(max_vcpus=2)
    out = [err(_xen.max_vcpus, d, 1), err(_xen.max_vcpus, d, 3)]
    i = _xen.getdomaininfo(d)
    out += [i['max_vcpu_id'], err(_xen.setvcpucontext, d, 0, {'pc': pc})]
    _xen.max_vcpus(d, 2)
    _xen.max_vcpus(d, 2)
    i = _xen.getdomaininfo(d)
    out += [i['max_vcpu_id'], i['nr_online_vcpus'], sim.domain(d)['vcpus'], sim.domain(d)['address_size']]
    # a fresh Arm64 domain is AArch32 until set_address_size(64): the default
    # (AArch64 EL1h) cpsr is refused, an AArch32 one taken; EL2h never is
    out += [err(_xen.setvcpucontext, d, 0, {'pc': pc})]
    out += [err(_xen.setvcpucontext, d, 0, {'pc': pc, 'cpsr': cpsr_aarch32_svc})]
    _xen.set_address_size(d, 64)
    out += [err(_xen.setvcpucontext, d, 0, {'pc': pc, 'cpsr': cpsr_el2h})]
    _xen.setvcpucontext(d, 0, {'pc': pc, 'x0': x0})
    v = sim.domain(d)['vcpu0']
    out += [v['pc'], v['x0'], v['cpsr'], v['online'], _xen.getdomaininfo(d)['nr_online_vcpus']]
    out += [err(_xen.setvcpucontext, d, 2, {}), err(_xen.getvcpucontext, d, 1)]
    ctx = _xen.getvcpucontext(d, 0)
    out += [ctx['pc'], ctx['online']]
    _xen.setvcpucontext(d, 1, {'online': False})
    out += [sim.domain(d)['vcpus_online'], _xen.getdomaininfo(d)['running']]
    _xen.unpausedomain(d)
    return out + [_xen.getdomaininfo(d)['running']]


def getdomaininfo_next(nr, getdomaininfo, ver, asked):
    """Raw getdomaininfo for each domid asked: [rc, the struct's domain, the
    domain it answered for]."""
    _xen.createdomain()
    _xen.createdomain(7)

    def info(dom):
        rc, out = domctl(nr, getdomaininfo, dom, b'', ver)
        return [rc, domid_of(out), struct.unpack_from('<H', out, 16)[0]]
    return [info(d) for d in asked] + [err(_xen.getdomaininfo, 3), err(_xen.getdomaininfo, 0x7ff0)]


def missing_domain(dom):
    return [err(f, *a) for f, a in [
        (_xen.pausedomain, (dom,)), (_xen.unpausedomain, (dom,)), (_xen.destroydomain, (dom,)),
        (_xen.max_mem, (dom, 1024)), (_xen.max_vcpus, (dom, 1)), (_xen.setvcpucontext, (dom, 0, {})),
        (_xen.set_address_size, (dom, 64)), (_xen.get_paging_mempool_size, (dom,)),
        (_xen.hvm_get_param, (dom, 1)), (_xen.map, (dom, 0x40000)), (sim.domain, (dom,)),
        (sim.guest_notify, (dom, 1)), (sim.guest_shutdown, (dom, 'poweroff')),
    ]]


def unprivileged_dom0():
    d = _xen.createdomain()
    _xen.max_mem(d, 1024)
    _xen.populate_physmap(d, [0x40000])
    sim.set_privileged(False)
    out = [err(_xen.createdomain), err(_xen.getdomaininfo, d), err(_xen.physinfo),
           err(_xen.pausedomain, 99), err(_xen.pausedomain, d), err(_xen.map, d, 0x40000),
           err(_xen.populate_physmap, d, [0x40001]), err(_xen.hvm_set_param, d, 1, 5),
           err(_xen.console_write, b'x'), err(_xen.evtchn_alloc_unbound, d, 0)]
    ch = _xen.alloc_unbound(d)       # its own ports: still allowed
    out += [ch.port > 0, sim.mappings()]
    sim.set_privileged(True)
    return out + [_xen.getdomaininfo(d)['tot_pages']]


def shutdown_reasons(reasons):
    out = []
    v = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
    for reason in reasons:
        d = _xen.createdomain()
        _xen.unpausedomain(d)
        sim.guest_shutdown(d, reason)
        time.sleep_ms(1)
        i = _xen.getdomaininfo(d)
        out.append([reason, i['shutdown'], i['shutdown_reason'], sim.domain(d)['state'],
                    sim.domain(d)['shutdown_reason'], v.consume()])
    return out


def first_reason_sticks():
    v = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
    d = _xen.createdomain()
    i = _xen.getdomaininfo(d)
    before = [i['shutdown'], (i['flags'] >> 16) & 0xff]
    sim.guest_shutdown(d, 'crash')
    time.sleep_ms(1)
    n1 = v.consume()
    sim.guest_shutdown(d, 'poweroff')
    time.sleep_ms(1)
    return [before, n1, v.consume(), _xen.getdomaininfo(d)['shutdown_reason'],
            err(sim.guest_shutdown, d, 'halt')]


def remote_shutdown(nr, remote_shutdown_op, asked):
    """SCHEDOP_remote_shutdown for each [domid or None for the new domain,
    reason]: the rcs, then the new domain's shutdown reason."""
    d = _xen.createdomain()

    def remote(dom, reason):
        sim.scratch_write(0, struct.pack('<HxxI', d if dom is None else dom, reason))
        return sim.hypercall(nr, remote_shutdown_op, S)
    return [remote(dom, reason) for dom, reason in asked] + [_xen.getdomaininfo(d)['shutdown_reason']]


def destroy_lifecycle():
    v = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
    d = _xen.createdomain()
    _xen.max_mem(d, 1024)
    _xen.populate_physmap(d, range(0x40000, 0x40004))
    p = _xen.evtchn_alloc_unbound(d, 0)
    ch = _xen.bind_interdomain(d, p)
    _xen.destroydomain(d)
    time.sleep_ms(1)
    # no dom0 mapping: the domain is gone at once (Xen fires VIRQ_DOM_EXC twice)
    return [err(sim.domain, d), err(_xen.getdomaininfo, d), v.consume() >= 1,
            sim.domain(0)['ports'][ch.port], err(_xen.destroydomain, 0)]


def dying_refuses_work(dev):
    d = _xen.createdomain()
    _xen.max_mem(d, 1024)
    _xen.populate_physmap(d, [0x40000])
    _held.append(_xen.map(d, 0x40000))      # while dom0 maps a page, the domain stays dying
    _xen.destroydomain(d)
    return [sim.domain(d)['state'], _xen.destroydomain(d), err(_xen.evtchn_alloc_unbound, d, 0),
            err(_xen.populate_physmap, d, [0x40001]), err(_xen.map, d, 0x40000),
            err(sim.guest_notify, d, 1), err(_xen.assign_device, d, dev)]
