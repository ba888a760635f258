# tests/host/test_releases.py's firmware side: the binding on each Xen
# release the sim acts as (interface versions, createdomain layouts, the
# features a release adds).
import struct
import time

import _xen
from simlib import sim, domctl, domid_of

# struct xen_domctl_createdomain: where flags, max_vcpus (then max_evtchn_port,
# max_grant_frames, max_maptrack_frames) and grant_opts sit
CREATE_FLAGS = 20
CREATE_MAX_VCPUS = 28
CREATE_GRANT_OPTS = 44
CREATE_SIZE = 68
# Xen 4.21's additions to shared pages (newer than the host build's headers):
# struct xenstore_domain_interface's evtchn_port, struct xencons_interface's connection
XS_EVTCHN_PORT = 2076
CONS_CONNECTION = 3088
_held = []


def failure(f, *a, **k):
    """None, or what f raised: an OSError as ['OSError', errno, its other
    args as text], anything else as [type name, message]."""
    try:
        f(*a, **k)
    except OSError as e:
        return ['OSError', e.args[0]] + [str(x) for x in e.args[1:]]
    except Exception as e:
        return [type(e).__name__, str(e)]
    return None


def abi():
    return _xen.abi()


def createdomain_fields(handle):
    out = {}
    d = _xen.createdomain(max_vcpus=3, max_evtchn_port=511, max_grant_frames=12, max_maptrack_frames=80,
                          gic_version=_xen.XEN_DOMCTL_CONFIG_GIC_V3, nr_spis=96, handle=handle, out=out)
    s = sim.domain(d)
    return [out, s['gic_version'], s['nr_spis'], s['max_vcpus'], s['max_evtchn_port'], s['max_grant_frames'],
            s['max_maptrack_frames'], s['handle'],
            failure(_xen.createdomain, cpupool_id=1), failure(_xen.createdomain, nr_spis=2000),
            failure(_xen.createdomain, gic_version=_xen.XEN_DOMCTL_CONFIG_GIC_V2)]


def fields_a_release_lacks():
    return [failure(_xen.createdomain, sve_vl=2), failure(_xen.createdomain, altp2m=1),
            failure(_xen.createdomain, tee_type=_xen.XEN_DOMCTL_CONFIG_TEE_FFA), len(_xen.domain_list())]


def automatic_and_exact_domids(nr, createdomain, ver, flags, grant_version):
    """Automatic and exact domids through the binding, then the createdomain
    domctl with a raw domid 0 (as a 4.17-only toolstack sends it) at
    interface version ver: its rc if negative, else the domid Xen chose."""
    a = _xen.createdomain()
    b = _xen.createdomain(7)
    dup = failure(_xen.createdomain, 7)
    p = bytearray(CREATE_SIZE)
    struct.pack_into('<I', p, CREATE_FLAGS, flags)
    struct.pack_into('<IIii', p, CREATE_MAX_VCPUS, 1, 1023, 1, 1)
    struct.pack_into('<I', p, CREATE_GRANT_OPTS, grant_version)
    rc, out = domctl(nr, createdomain, 0, p, ver)
    raw0 = rc if rc < 0 else domid_of(out)
    return [a, b, dup, raw0, sorted(i['domid'] for i in _xen.domain_list())]


def getdomaininfo_of_a_missing_domain():
    _xen.createdomain(5)
    return [failure(_xen.getdomaininfo, 3), _xen.getdomaininfo(5)['domid'], failure(_xen.getdomaininfo, 6)]


def get_domain_state():
    """The refusal where the release lacks the op; else [domids seen at
    start, the new domain's first state, its 'exist', the next answer,
    dom0's control and hardware flags, the state after destroy, its 'exist',
    the refusal for a missing domain]."""
    if 'domain_state' not in _xen.abi()['features']:
        return failure(_xen.get_domain_state)
    seen = []
    while True:
        s = _xen.get_domain_state()
        if s is None:
            break
        seen.append(s['domid'])
    d = _xen.createdomain()
    first = _xen.get_domain_state()
    again = _xen.get_domain_state()
    one = _xen.get_domain_state(0)
    _xen.destroydomain(d)
    gone = _xen.get_domain_state()
    return [seen, first['domid'], first['exist'], again, one['control'], one['hardware'],
            gone['domid'], gone['exist'], failure(_xen.get_domain_state, 9)]


def dom_exc_after_poweroff(config):
    """A built guest powers off: [still alive, get_domain_state asked,
    the domains left]."""
    import xen
    dom = xen.domain_create(config)
    sim.trace(True)
    sim.guest_shutdown(dom.domid, 'poweroff')
    for _ in range(50):
        time.sleep_ms(2)
        if not dom.alive():
            break
    return [dom.alive(), 'domctl.get_domain_state' in sim.calls(), [d['domid'] for d in _xen.domain_list()]]


def xenstore_port_in_page():
    """The toolstack introduces one port, Xen's page names another: the
    ports dom0's xenstored bound to the domain."""
    import xen
    svc = xen.start()
    d = _xen.createdomain()
    _xen.max_mem(d, 1024)
    _xen.populate_physmap(d, [0x39000])
    given = _xen.evtchn_alloc_unbound(d, 0)       # what the toolstack would introduce
    in_page = _xen.evtchn_alloc_unbound(d, 0)     # what Xen wrote into the page
    g = sim.guest_map(d, 0x39000)
    g[XS_EVTCHN_PORT:XS_EVTCHN_PORT + 4] = struct.pack('<I', in_page)
    svc.introduce(d, 0x39000, given)
    ports = sim.domain(0)['ports']
    return [p[2] for p in ports.values() if p[0] == 'interdomain' and p[1] == d]


def console_connection_flag(disconnected):
    """Xen marks the console page disconnected: the flag after dom0 serves it."""
    from xen import console
    d = _xen.createdomain()
    _xen.max_mem(d, 1024)
    _xen.populate_physmap(d, [0x39001])
    p = _xen.evtchn_alloc_unbound(d, 0)
    g = sim.guest_map(d, 0x39001)
    g[CONS_CONNECTION] = disconnected
    _held.append(console.serve(d, 0x39001, p))
    return g[CONS_CONNECTION]
