"""The sim backend's XSM: FLASK disabled (ENOSYS), permissive or enforcing,
with a label table, as seen through xsm_op and domain creation."""
from test_sim_domain import PRE

DOMU = "system_u:system_r:domU_t"
POLICY = "b'\\x8c\\xff\\x7c\\xf9\\x08\\x00\\x00\\x00XenFlask' + bytes(64)"


def test_disabled_is_enosys(mp):
    r = mp.json(PRE + """
emit([err(_xen.flask_getenforce), err(_xen.flask_context_to_sid, '%s'),
      err(_xen.flask_setenforce, 1), err(_xen.flask_relabel_domain, 0, 12),
      _xen.getdomaininfo(_xen.createdomain(ssidref=12))['ssidref']])
""" % DOMU)
    assert r == ["ENOSYS", "ENOSYS", "ENOSYS", "ENOSYS", 0]


def test_labels_and_sids(mp):
    r = mp.json(PRE + """
sim.flask('permissive')
emit([_xen.flask_getenforce(), _xen.flask_context_to_sid('%s'),
      _xen.flask_context_to_sid('system_u:system_r:dom0_t'), _xen.flask_sid_to_context(12),
      err(_xen.flask_context_to_sid, 'system_u:system_r:bogus_t'),
      _xen.flask_sid_to_context(999), _xen.getdomaininfo(0)['ssidref']])
""" % DOMU)
    # an unknown SID reads back as unlabeled_t (Xen remaps invalid SIDs)
    assert r == [0, 12, 3, DOMU, "EINVAL", "system_u:system_r:unlabeled_t", 3]


def test_setenforce(mp):
    r = mp.json(PRE + """
sim.flask('permissive')
_xen.flask_setenforce(1)
a = _xen.flask_getenforce()
_xen.flask_setenforce(0)
emit([a, _xen.flask_getenforce()])
""")
    assert r == [1, 0]


def test_enforcing_domain_creation(mp):
    r = mp.json(PRE + """
sim.flask('enforcing')
out = [err(_xen.createdomain), err(_xen.createdomain, ssidref=3), err(_xen.createdomain, ssidref=10),
       err(_xen.createdomain, ssidref=4242)]
d = _xen.createdomain(ssidref=12)
out += [_xen.getdomaininfo(d)['ssidref'], [i['domid'] for i in _xen.domain_list()]]
sim.flask('permissive')
out += [err(_xen.createdomain, ssidref=3), _xen.getdomaininfo(_xen.createdomain())['ssidref']]
emit(out)
""")
    # unlabeled (ssidref 0), dom0_t, irq_t and unknown SIDs are refused;
    # permissive only keeps dom0_t a singleton
    assert r == ["EACCES", "EACCES", "EACCES", "EACCES", 12, [0, 5], "EINVAL", 6]


def test_relabel_domain(mp):
    r = mp.json(PRE + """
sim.flask('enforcing')
d = _xen.createdomain(ssidref=12)
out = [err(_xen.flask_relabel_domain, d, 10), err(_xen.flask_relabel_domain, 77, 12)]
_xen.flask_relabel_domain(d, _xen.flask_context_to_sid('system_u:system_r:isolated_domU_t'))
out += [_xen.getdomaininfo(d)['ssidref'], sim.domain(d)['ssidref']]
emit(out)
""")
    assert r == ["EACCES", "ESRCH", 14, 14]


def test_custom_label_table(mp):
    r = mp.json(PRE + """
sim.flask('enforcing', {'system_u:system_r:dom0_t': 3, 'sys_u:system_r:web_t': 100,
                        'sys_u:object_r:disk_t': 101})
out = [_xen.flask_context_to_sid('sys_u:system_r:web_t'), err(_xen.flask_context_to_sid, '%s'),
       _xen.getdomaininfo(_xen.createdomain(ssidref=100))['ssidref'],
       err(_xen.createdomain, ssidref=101),
       err(sim.flask, 'strict'), err(sim.flask, 'enforcing', {'x': 0}), err(sim.flask, 'enforcing', [1])]
emit(out)
""" % DOMU)
    assert r == [100, "EINVAL", 100, "EACCES", "ValueError", "ValueError", "TypeError"]


def test_policy_load(mp):
    r = mp.json(PRE + """
sim.flask('permissive')
blob = %s
out = [sim.flask_policy(), err(_xen.flask_load, b'not a policy at all, no magic')]
_xen.flask_load(blob)
out += [sim.flask_policy() == blob]
emit(out)
""" % POLICY)
    assert r == [None, "EINVAL", True]


def test_flask_interface_version(mp):
    r = mp.json(PRE + """
sim.flask('permissive')
sim.scratch_write(0, struct.pack('<II', 2, 2) + bytes(32))      # GETENFORCE, version 2
a = ename(sim.hypercall(27, S))
sim.scratch_write(0, struct.pack('<II', 2, 1) + bytes(32))
emit([a, sim.hypercall(27, S)])
""")
    assert r == ["ENOSYS", 0]


def test_unprivileged_dom0_under_flask(mp):
    r = mp.json(PRE + """
sim.flask('enforcing')
sim.set_privileged(False)
out = [err(_xen.flask_context_to_sid, '%s'), err(_xen.createdomain, ssidref=12), err(_xen.physinfo)]
sim.flask('permissive')
out += [_xen.flask_context_to_sid('%s'), err(_xen.physinfo)]
emit(out)
""" % (DOMU, DOMU))
    assert r == ["EACCES", "EACCES", "EACCES", 12, None]
