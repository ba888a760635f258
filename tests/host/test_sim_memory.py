"""The sim backend's memory model: populate/decrease accounting against
max_mem, real shared host memory behind dom0 and guest views, page
references held by dom0 mappings, and the dying-domain zombie."""
from test_sim_domain import PRE

MEM = PRE + """
def reservation(op, dom, gfns, order=0):
    sim.scratch_write(4096, struct.pack('<%dQ' % len(gfns), *gfns))
    r = struct.pack('<QQIIHxxxxxx', S + 4096, len(gfns), order, 0, dom)
    sim.scratch_write(0, r)
    return sim.hypercall(12, op, S)
d = _xen.createdomain()
"""


def test_populate_bounded_by_max_mem(mp):
    r = mp.json(MEM + """
out = [err(_xen.populate_physmap, d, [0x40000]), sim.domain(d)['tot_pages']]
_xen.max_mem(d, 64)                       # KiB: 16 pages
out += [err(_xen.populate_physmap, d, range(0x40000, 0x40014)), sim.domain(d)['tot_pages'],
        _xen.getdomaininfo(d)['max_pages'], sim.domain(d)['max_mem_kb']]
_xen.max_mem(d, 8)                        # below tot_pages: allowed, blocks growth
out += [err(_xen.populate_physmap, d, [0x50000]), sim.domain(d)['tot_pages']]
emit(out)
""")
    assert r == ["ENOMEM", 0, "ENOMEM", 16, 16, 64, "ENOMEM", 16]


def test_populate_returns_extents_done(mp):
    r = mp.json(MEM + """
_xen.max_mem(d, 64)
emit([reservation(6, d, [0x40000, 0x40004, 0x40008], 2), sim.domain(d)['tot_pages'],
      reservation(6, d, [0x41000], 13), reservation(6, 77, [0x41000]),
      reservation(6, d, [0x41000, 0x41001]), sim.domain(d)['tot_pages']])
""")
    # order 2: 4 pages per extent, the third does not fit under 16 pages...
    # 13 > dom0's maximum extent order; a missing domain: 0 extents, no errno
    assert r == [3, 12, 0, 0, 2, 14]


def test_memory_op_bad_extent_list(mp):
    r = mp.json(MEM + """
_xen.max_mem(d, 64)
r = struct.pack('<QQIIHxxxxxx', 0x1000, 1, 0, 0, d)
sim.scratch_write(0, r)
emit([sim.hypercall(12, 6, S), sim.domain(d)['tot_pages']])
""")
    assert r == [0, 0]


def test_physinfo_and_paging_pool(mp):
    r = mp.json(MEM + """
f0 = _xen.physinfo()['free_pages']
out = [_xen.get_paging_mempool_size(d), err(_xen.set_paging_mempool_size, d, 4097)]
_xen.set_paging_mempool_size(d, 1 << 20)
out += [_xen.get_paging_mempool_size(d), f0 - _xen.physinfo()['free_pages'],
        sim.domain(d)['paging_mempool'], err(_xen.set_paging_mempool_size, d, 1 << 40)]
emit(out)
""")
    assert r == [65536, "EINVAL", 1 << 20, 256 - 16, 1 << 20, "ENOMEM"]


def test_address_size_before_memory(mp):
    r = mp.json(MEM + """
_xen.max_mem(d, 64)
out = [err(_xen.set_address_size, d, 48), err(_xen.set_address_size, d, 64)]
_xen.populate_physmap(d, [0x40000])
out += [err(_xen.set_address_size, d, 32), sim.domain(d)['address_size']]
emit(out)
""")
    assert r == ["EINVAL", None, "EBUSY", 64]


def test_dom0_and_guest_views_alias(mp):
    r = mp.json(MEM + """
_xen.max_mem(d, 64)
_xen.populate_physmap(d, range(0x40000, 0x40003))
g = sim.guest_map(d, 0x40001)
fresh = bytes(g) == bytes(4096)
m = _xen.map(d, [0x40002, 0x40001])
mv = memoryview(m)
mv[4096:4101] = b'dom0!'
seen_by_guest = bytes(memoryview(g)[0:5])
memoryview(g)[100:105] = b'guest'
seen_by_dom0 = bytes(mv[4196:4201])
ro = _xen.map(d, 0x40001, False)
ro_read = bytes(memoryview(ro)[0:5])
def write_ro():
    memoryview(ro)[0] = 1
emit([fresh, seen_by_guest, seen_by_dom0, ro_read, err(write_ro), sim.mappings(), sim.domain(d)['mapped'],
      err(sim.guest_map, d, 0x50000), len(g)])
""")
    assert r == [True, "dom0!", "guest", "dom0!", "TypeError", 2, 3, "EFAULT", 4096]


def test_map_errors_leave_nothing_mapped(mp):
    r = mp.json(MEM + """
_xen.max_mem(d, 64)
_xen.populate_physmap(d, [0x40000])
out = [err(_xen.map, d, [0x40000, 0x40001]), sim.mappings(), sim.domain(d)['mapped'],
       err(_xen.map, 0, 0x40000), err(_xen.map, 99, 0x40000)]
sim.fail('map', errno=5)
out += [err(_xen.map, d, 0x40000), sim.mappings()]
m = _xen.map(d, 0x40000)
m.close()
m.close()
out += [sim.mappings(), sim.domain(d)['mapped']]
emit(out)
""")
    assert r == ["EINVAL", 0, 0, "EINVAL", "ESRCH", "EIO", 0, 0, 0]


def test_decrease_reservation_and_page_references(mp):
    r = mp.json(MEM + """
_xen.max_mem(d, 64)
_xen.populate_physmap(d, range(0x40000, 0x40004))
m = _xen.map(d, 0x40001)
memoryview(m)[0:3] = b'old'
out = [reservation(1, d, [0x40000, 0x40001]), sim.domain(d)['tot_pages'],
       err(_xen.map, d, 0x40001), bytes(memoryview(m)[0:3]),
       reservation(1, d, [0x40002, 0x40009, 0x40003])]
m.close()
out += [sim.domain(d)['tot_pages']]
# the page went back to the heap scrubbed: re-populating gives zeroes
_xen.populate_physmap(d, [0x40001])
out += [bytes(sim.guest_map(d, 0x40001))[0:3] == bytes(3)]
emit(out)
""")
    # the mapped page stays alive (and counted) until dom0 lets go
    assert r == [2, 3, "EINVAL", "old", 1, 1, True]


def test_repopulating_a_gfn_keeps_the_old_page(mp):
    r = mp.json(MEM + """
_xen.max_mem(d, 64)
_xen.populate_physmap(d, [0x40000])
_xen.populate_physmap(d, [0x40000])
emit([sim.domain(d)['tot_pages'], _xen.getdomaininfo(d)['tot_pages']])
""")
    # Arm's p2m drops no reference on a RAM entry it replaces
    assert r == [2, 2]


def test_dying_zombie_until_last_mapping(mp):
    r = mp.json(MEM + """
v = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
f0 = _xen.physinfo()['free_pages']
_xen.max_mem(d, 64)
_xen.populate_physmap(d, range(0x40000, 0x40008))
m = _xen.map(d, [0x40003, 0x40004])
g = sim.guest_map(d, 0x40003)
_xen.destroydomain(d)
time.sleep_ms(1)
i = _xen.getdomaininfo(d)
out = [i['dying'], i['tot_pages'], sim.domain(d)['state'], sim.domain(d)['mapped'], v.consume(),
       f0 - _xen.physinfo()['free_pages'], [x['domid'] for x in _xen.domain_list()]]
memoryview(m)[0:2] = b'ok'
m.close()
time.sleep_ms(1)
out += [err(_xen.getdomaininfo, d), v.consume(), f0 - _xen.physinfo()['free_pages'], sim.mappings()]
emit(out)
""")
    # free pages are relative to a moment the domain's 16-page p2m pool was
    # in use; the pool goes at once, the two mapped pages only with the mapping
    assert r == [True, 2, "dying", 2, 1, 2 - 16, [0, 1], "ESRCH", 1, -16, 0]


def test_stale_view_of_closed_mapping_is_inert(mp):
    r = mp.json(MEM + """
_xen.max_mem(d, 64)
_xen.populate_physmap(d, [0x40000])
m = _xen.map(d, 0x40000)
mv = memoryview(m)
m.close()
mv[0:4] = b'junk'             # lands in inert memory, not in the guest
emit([bytes(sim.guest_map(d, 0x40000))[0:4] == bytes(4), sim.domain(d)['mapped']])
""")
    assert r == [True, 0]


def test_guest_page_indexing(mp):
    r = mp.json(MEM + """
_xen.max_mem(d, 64)
_xen.populate_physmap(d, [0x40000])
g = sim.guest_map(d, 0x40000)
g[0] = 7
g[10:13] = b'abc'
m = _xen.map(d, 0x40000)
g.close()
emit([list(memoryview(m)[0:1]), bytes(memoryview(m)[10:13]).decode(), len(g), err(lambda: g[0])])
""")
    assert r == [[7], "abc", 0, "ValueError"]
