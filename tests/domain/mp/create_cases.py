# tests/domain/test_domain_create.py's firmware side: xen.domain_create on
# the sim, its xenstore entries, the guest's view through its own ring,
# lifecycle actions, and every hypercall of a build failing in turn.
import time
import xen
from xen.xenstore import wire as W
import _xen
from xen import xenstore
import _xensim as sim
from domlib import sha
from simdom import domids, err, guest_bytes, settle


def created_from_dict(cfg):
    d = xen.domain_create(cfg)
    i = d.info()
    ctx = _xen.getvcpucontext(d.domid, 0)
    return [d.domid, d.name, i['state'], i['vcpus'], i['max_vcpus'], i['max_mem_kb'] >= 64 * 1024,
            hex(ctx['pc']), ctx['x0'], ctx['cpsr'] == _xen.PSR_GUEST64_INIT,
            [x.name for x in xen.domains()],
            _xen.hvm_get_param(d.domid, _xen.HVM_PARAM_STORE_PFN) == (_xen.GUEST_MAGIC_BASE >> 12) + 1,
            _xen.hvm_get_param(d.domid, _xen.HVM_PARAM_CONSOLE_PFN) == _xen.GUEST_MAGIC_BASE >> 12]


def guest_memory(cfg, kernel_len, dtb_out):
    """The kernel's digest in guest memory and the DTB's magic at x0 (the
    DTB itself written to dtb_out)."""
    d = xen.domain_create(cfg)
    x0 = _xen.getvcpucontext(d.domid, 0)['x0']
    kernel = guest_bytes(d.domid, 0x40000000, kernel_len)
    dtb_hdr = guest_bytes(d.domid, x0, 8)
    size = int.from_bytes(dtb_hdr[4:8], 'big')
    with open(dtb_out, 'wb') as f:
        f.write(guest_bytes(d.domid, x0, size))
    return [sha(kernel), dtb_hdr[:4].hex()]


def created_paused_from_file(path):
    d = xen.domain_create(path, paused=True)
    return [d.name, d.info()['state'], xenstore.read('/local/domain/%d/name' % d.domid).decode()]


def xenstore_entries(cfg):
    d = xen.domain_create(cfg)
    h = '/local/domain/%d' % d.domid
    vm = xenstore.read(h + '/vm').decode()
    return {
        'name': xenstore.read(h + '/name').decode(),
        'domid': xenstore.read(h + '/domid').decode(),
        'vm_name': xenstore.read(vm + '/name').decode(),
        'uuid': xenstore.read(vm + '/uuid').decode(),
        'static_max': xenstore.read(h + '/memory/static-max').decode(),
        'target': xenstore.read(h + '/memory/target').decode(),
        'cpu1': xenstore.read(h + '/cpu/1/availability').decode(),
        'store_port': xenstore.read(h + '/store/port').decode(),
        'perm_name': xenstore.get_perms(h + '/name'),
        'perm_shutdown': xenstore.get_perms(h + '/control/shutdown'),
        'perm_libxl': xenstore.get_perms('/libxl/%d' % d.domid),
        'handle': _xen.getdomaininfo(d.domid)['handle'].hex(),
        'domid_n': d.domid,
    }


def guest_ring(cfg):
    """The guest reads its name, writes a key, reads a dom0-only path:
    [name, WRITE reply type, the key as dom0 reads it, reply type and body]."""
    from simguest import SimGuest
    d = xen.domain_create(cfg)
    g = SimGuest(d.domid)
    name = g.read(b'name')
    w = g.write(b'data/probe', b'ok')
    other = g.read(b'/libxl/%d/type' % d.domid)
    return [name[1].decode(), w[0], xenstore.read('/local/domain/%d/data/probe' % d.domid).decode(),
            other[0], other[1].decode()]


def guests_isolated(cfg_a, cfg_b):
    """Guest b reads and writes under guest a's home: [reply type, body
    start] of each."""
    from simguest import SimGuest
    a = xen.domain_create(cfg_a)
    b = xen.domain_create(cfg_b)
    ga = SimGuest(a.domid)
    gb = SimGuest(b.domid)
    ga.write(b'data/secret', b'alpha')
    t, body = gb.read(b'/local/domain/%d/data/secret' % a.domid)
    t2, body2 = gb.write(b'/local/domain/%d/data/x' % a.domid, b'y')
    return [t, body[:6].decode(), t2, body2[:6].decode()]


def burst_then_other_guest(cfg_a, cfg_b, n):
    """Guest a queues n requests (more than one pass's budget) and kicks
    once; then guest b asks one thing and kicks. Returns [a's replies,
    b's reply type]: every request of each is answered on its one event."""
    from simguest import SimGuest
    a = xen.domain_create(cfg_a)
    b = xen.domain_create(cfg_b)
    ga = SimGuest(a.domid)
    gb = SimGuest(b.domid)
    for i in range(n):
        ga.send(W.WRITE, b'data/k%d\x00v' % i)
    ga.kick()
    ga.pull()
    gb.send(W.READ, b'name\x00')
    gb.kick()
    gb.pull()
    return [len(ga.replies), [r[0] for r in gb.replies]]


def duplicate_name(cfg):
    xen.domain_create(cfg)
    sim.trace(True)
    e = err(xen.domain_create, cfg)
    return [e, [c for c in sim.calls() if c.startswith('domctl.create')], len(_xen.domain_list())]


def config_error(cfg):
    """The refusal and the hypercalls made for it, besides those of
    xen.start() itself (VIRQ_DOM_EXC, Xen's release and version, the domain
    list for boot-time domains)."""
    sim.trace(True)
    e = err(xen.domain_create, cfg)
    return [e, [c for c in sim.calls()
                if not c.startswith(('evtchn.bind_virq', 'version.', 'sysctl.getdomaininfolist'))],
            len(_xen.domain_list())]


def image_error(cfg):
    sim.trace(True)
    e = err(xen.domain_create, cfg)
    return [e, [c for c in sim.calls() if c.startswith('domctl')], len(_xen.domain_list())]


def refused(cfg):
    """[the refusal, how many domains there are after it]."""
    e = err(xen.domain_create, cfg)
    return [e, len(_xen.domain_list())]


def labels_with_flask(cfg, bogus):
    sim.flask('enforcing')
    import xen.xsm
    d = xen.domain_create(cfg)
    e = err(xen.domain_create, bogus)
    return [d.info()['ssidref'] == xen.xsm.context_to_sid('system_u:system_r:domU_t'), e,
            len(_xen.domain_list())]


def numeric_ssidref(cfg, label):
    sim.flask('permissive')
    sid = _xen.flask_context_to_sid(label)
    d = xen.domain_create(dict(cfg, seclabel=sid))
    return d.info()['ssidref'] == sid


def every_call_failing(cfg, eio):
    """The build traced, then each of its hypercalls failed in turn with
    eio: [steps, [[k, call, BuildError step, what is left]...]]."""
    import gc
    xen.start()
    base_ports = sorted(sim.domain(0)['ports'])
    sim.trace(True)
    d = xen.domain_create(cfg)
    calls = sim.calls()
    sim.trace(False)
    d.destroy()
    results = []
    for k in range(1, len(calls) + 1):
        if calls[k - 1] == 'evtchn.unmask':
            continue    # the upcall path re-arming a port, not a step of the build
        sim.fail('*', k, eio)
        try:
            x = xen.domain_create(cfg)
            results.append([k, 'created'])
            x.destroy()
            continue
        except xen.BuildError as e:
            step = e.step
        sim.fail_clear()
        gc.collect()
        left = {
            'domains': domids(),
            'mappings': sim.mappings(),
            'ports': sorted(sim.domain(0)['ports']) == base_ports,
            'xs_local': xenstore.ls('/local/domain'),
            'xs_vm': xenstore.ls('/vm') if xenstore.exists('/vm') else [],
            'xs_libxl': xenstore.ls('/libxl') if xenstore.exists('/libxl') else [],
            'rings': list(xen.get_dom0().rings),
        }
        results.append([k, calls[k - 1], step, left])
    return [len([c for c in calls if c != 'evtchn.unmask']), results]


def destroyed(cfg):
    d = xen.domain_create(cfg)
    domid = d.domid
    d.destroy()
    return [domids(), sim.mappings(), xenstore.exists('/local/domain/%d' % domid),
            xenstore.ls('/vm'), list(xen.get_dom0().rings)]


def shutdown_request(cfg):
    d = xen.domain_create(cfg)
    d.shutdown('reboot')
    v = xenstore.read('/local/domain/%d/control/shutdown' % d.domid).decode()
    return [v, err(d.shutdown, 'explode')]


def guest_shuts_down(cfg, reason):
    """The guest shuts down for reason: [(name, domid) of the domains, the
    old domain still there, its domid, its xenstore home, mappings]."""
    d = xen.domain_create(cfg)
    old = d.domid
    sim.guest_shutdown(old, reason)
    settle(10)
    names = sorted((x.name, x.domid) for x in xen.domains())
    return [names, old in domids(), old, xenstore.exists('/local/domain/%d' % old), sim.mappings()]


def wait_for_shutdown(cfg, other):
    import _thread
    d = xen.domain_create(cfg)

    def later():
        time.sleep_ms(50)
        sim.guest_shutdown(d.domid, 'poweroff')
    _thread.start_new_thread(later, ())
    return [d.wait(5), xen.domain_create(other).wait(0.05)]


def pv_devices(drv_cfg, app_cfg):
    drv = xen.domain_create(drv_cfg)
    g = xen.domain_create(app_cfg)
    f = '/local/domain/%d/device/vif/0' % g.domid
    b = '/local/domain/%d/backend/vif/%d/0' % (drv.domid, g.domid)
    vbd = '/local/domain/%d/backend/vbd/%d/51712' % (drv.domid, g.domid)
    out = [xenstore.read(f + '/backend').decode() == b, xenstore.read(f + '/backend-id').decode(),
           xenstore.read(b + '/frontend-id').decode(), xenstore.read(b + '/mac').decode(),
           xenstore.read(b + '/state').decode(), xenstore.get_perms(b), xenstore.get_perms(f),
           xenstore.read(vbd + '/params').decode(), xenstore.read(vbd + '/mode').decode(),
           drv.domid, g.domid]
    g.destroy()
    out.append(xenstore.exists('/local/domain/%d/backend/vif/%d' % (drv.domid, g.domid)))
    return out


def xl_session(cfg):
    """xl commands in a row, printing what xl prints (run with printout)."""
    from xen import xl
    d = xl.create(cfg)
    xl.list()
    xl.pause('guest1')
    print('state', d.info()['state'])
    xl.unpause(d.domid)
    for who in ('nosuch', 0):
        try:
            xl.destroy(who)
        except ValueError as e:
            print('error:', e)
    xl.info()
    xl.destroy('guest1')
    print('left', [x.name for x in xen.domains()])


def waits_for_paused_backend(drv_cfg, app_cfg):
    import _thread
    drv = xen.domain_create(drv_cfg, paused=True)

    def later():
        time.sleep_ms(200)
        drv.unpause()
    _thread.start_new_thread(later, ())
    t0 = time.ticks_ms()
    g = xen.domain_create(app_cfg)
    return [time.ticks_diff(time.ticks_ms(), t0) >= 150, g.info()['state']]
