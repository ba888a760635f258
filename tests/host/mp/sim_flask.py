# tests/host/test_sim_flask.py's firmware side: the sim's XSM (FLASK
# disabled, permissive, enforcing) through _xen's xsm_op calls.
import struct
import _xen
from simlib import sim, S, err, rc_errno


def disabled(domu):
    return [err(_xen.flask_getenforce), err(_xen.flask_context_to_sid, domu),
            err(_xen.flask_setenforce, 1), err(_xen.flask_relabel_domain, 0, 12),
            _xen.getdomaininfo(_xen.createdomain(ssidref=12))['ssidref']]


def labels_and_sids(domu):
    sim.flask('permissive')
    return [_xen.flask_getenforce(), _xen.flask_context_to_sid(domu),
            _xen.flask_context_to_sid('system_u:system_r:dom0_t'), _xen.flask_sid_to_context(12),
            err(_xen.flask_context_to_sid, 'system_u:system_r:bogus_t'),
            _xen.flask_sid_to_context(999), _xen.getdomaininfo(0)['ssidref']]


def setenforce():
    sim.flask('permissive')
    _xen.flask_setenforce(1)
    a = _xen.flask_getenforce()
    _xen.flask_setenforce(0)
    return [a, _xen.flask_getenforce()]


def enforcing_creation():
    sim.flask('enforcing')
    out = [err(_xen.createdomain), err(_xen.createdomain, ssidref=3),
           err(_xen.createdomain, ssidref=10), err(_xen.createdomain, ssidref=4242)]
    d = _xen.createdomain(ssidref=12)
    out += [_xen.getdomaininfo(d)['ssidref'], [i['domid'] for i in _xen.domain_list()]]
    sim.flask('permissive')
    out += [err(_xen.createdomain, ssidref=3), _xen.getdomaininfo(_xen.createdomain())['ssidref']]
    return out


def relabel():
    sim.flask('enforcing')
    d = _xen.createdomain(ssidref=12)
    out = [err(_xen.flask_relabel_domain, d, 10), err(_xen.flask_relabel_domain, 77, 12)]
    _xen.flask_relabel_domain(d, _xen.flask_context_to_sid('system_u:system_r:isolated_domU_t'))
    return out + [_xen.getdomaininfo(d)['ssidref'], sim.domain(d)['ssidref']]


def custom_labels(domu):
    sim.flask('enforcing', {'system_u:system_r:dom0_t': 3, 'sys_u:system_r:web_t': 100,
                            'sys_u:object_r:disk_t': 101})
    return [_xen.flask_context_to_sid('sys_u:system_r:web_t'), err(_xen.flask_context_to_sid, domu),
            _xen.getdomaininfo(_xen.createdomain(ssidref=100))['ssidref'],
            err(_xen.createdomain, ssidref=101),
            err(sim.flask, 'strict'), err(sim.flask, 'enforcing', {'x': 0}),
            err(sim.flask, 'enforcing', [1])]


def policy_load(blob):
    sim.flask('permissive')
    out = [sim.flask_policy(), err(_xen.flask_load, b'not a policy at all, no magic')]
    _xen.flask_load(blob)
    return out + [sim.flask_policy() == blob]


def interface_version(xsm_op, getenforce, versions):
    """The raw xsm_op GETENFORCE at each interface version: its result."""
    sim.flask('permissive')
    out = []
    for v in versions:
        sim.scratch_write(0, struct.pack('<II', getenforce, v) + bytes(32))
        out.append(rc_errno(sim.hypercall(xsm_op, S)))
    return out


def unprivileged_dom0(domu):
    sim.flask('enforcing')
    sim.set_privileged(False)
    out = [err(_xen.flask_context_to_sid, domu), err(_xen.createdomain, ssidref=12),
           err(_xen.physinfo)]
    sim.flask('permissive')
    return out + [_xen.flask_context_to_sid(domu), err(_xen.physinfo)]
