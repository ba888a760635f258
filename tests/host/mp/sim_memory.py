# tests/host/test_sim_memory.py's firmware side: the sim's memory model
# (populate/decrease against max_mem, shared host memory behind dom0's and
# the guest's views, page references held by mappings, the dying zombie).
import struct
import time

import _xen
from simlib import sim, S, err, ids

# struct xen_memory_reservation: extent_start, nr_extents, extent_order,
# mem_flags, domid (and padding); the extent list goes at scratch offset 4096
RESERVATION = '<QQIIHxxxxxx'
EXTENTS = 4096
_held = []


def reservation(nr, op, dom, gfns, order=0):
    """A raw XENMEM reservation op through hypercall nr: its rc."""
    sim.scratch_write(EXTENTS, struct.pack('<%dQ' % len(gfns), *gfns))
    sim.scratch_write(0, struct.pack(RESERVATION, S + EXTENTS, len(gfns), order, 0, dom))
    return sim.hypercall(nr, op, S)


def populate_bounded():
    d = _xen.createdomain()
    out = [err(_xen.populate_physmap, d, [0x40000]), sim.domain(d)['tot_pages']]
    _xen.max_mem(d, 64)                       # KiB: 16 pages
    out += [err(_xen.populate_physmap, d, range(0x40000, 0x40014)), sim.domain(d)['tot_pages'],
            _xen.getdomaininfo(d)['max_pages'], sim.domain(d)['max_mem_kb']]
    _xen.max_mem(d, 8)                        # below tot_pages: allowed, blocks growth
    return out + [err(_xen.populate_physmap, d, [0x50000]), sim.domain(d)['tot_pages']]


def populate_extents_done(nr, populate):
    d = _xen.createdomain()
    _xen.max_mem(d, 64)
    return [reservation(nr, populate, d, [0x40000, 0x40004, 0x40008], 2), sim.domain(d)['tot_pages'],
            reservation(nr, populate, d, [0x41000], 13), reservation(nr, populate, 77, [0x41000]),
            reservation(nr, populate, d, [0x41000, 0x41001]), sim.domain(d)['tot_pages']]


def bad_extent_list(nr, populate, extents_at):
    d = _xen.createdomain()
    _xen.max_mem(d, 64)
    sim.scratch_write(0, struct.pack(RESERVATION, extents_at, 1, 0, 0, d))
    return [sim.hypercall(nr, populate, S), sim.domain(d)['tot_pages']]


def physinfo_and_paging_pool():
    d = _xen.createdomain()
    f0 = _xen.physinfo()['free_pages']
    out = [_xen.get_paging_mempool_size(d), err(_xen.set_paging_mempool_size, d, 4097)]
    _xen.set_paging_mempool_size(d, 1 << 20)
    return out + [_xen.get_paging_mempool_size(d), f0 - _xen.physinfo()['free_pages'],
                  sim.domain(d)['paging_mempool'], err(_xen.set_paging_mempool_size, d, 1 << 40)]


def address_size_before_memory():
    d = _xen.createdomain()
    _xen.max_mem(d, 64)
    out = [err(_xen.set_address_size, d, 48), err(_xen.set_address_size, d, 64)]
    _xen.populate_physmap(d, [0x40000])
    return out + [err(_xen.set_address_size, d, 32), sim.domain(d)['address_size']]


def views_alias():
    d = _xen.createdomain()
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
    return [fresh, seen_by_guest, seen_by_dom0, ro_read, err(write_ro), sim.mappings(),
            sim.domain(d)['mapped'], err(sim.guest_map, d, 0x50000), len(g)]


def map_errors(eio):
    d = _xen.createdomain()
    _xen.max_mem(d, 64)
    _xen.populate_physmap(d, [0x40000])
    out = [err(_xen.map, d, [0x40000, 0x40001]), sim.mappings(), sim.domain(d)['mapped'],
           err(_xen.map, 0, 0x40000), err(_xen.map, 99, 0x40000)]
    sim.fail('map', errno=eio)
    out += [err(_xen.map, d, 0x40000), sim.mappings()]
    m = _xen.map(d, 0x40000)
    m.close()
    m.close()
    return out + [sim.mappings(), sim.domain(d)['mapped']]


def decrease_and_references(nr, decrease):
    d = _xen.createdomain()
    _xen.max_mem(d, 64)
    _xen.populate_physmap(d, range(0x40000, 0x40004))
    m = _xen.map(d, 0x40001)
    memoryview(m)[0:3] = b'old'
    out = [reservation(nr, decrease, d, [0x40000, 0x40001]), sim.domain(d)['tot_pages'],
           err(_xen.map, d, 0x40001), bytes(memoryview(m)[0:3]),
           reservation(nr, decrease, d, [0x40002, 0x40009, 0x40003])]
    m.close()
    out += [sim.domain(d)['tot_pages']]
    # the page went back to the heap scrubbed: re-populating gives zeroes
    _xen.populate_physmap(d, [0x40001])
    return out + [bytes(sim.guest_map(d, 0x40001))[0:3]]


def repopulate_same_gfn():
    d = _xen.createdomain()
    _xen.max_mem(d, 64)
    _xen.populate_physmap(d, [0x40000])
    _xen.populate_physmap(d, [0x40000])
    return [sim.domain(d)['tot_pages'], _xen.getdomaininfo(d)['tot_pages']]


def dying_zombie():
    d = _xen.createdomain()
    v = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
    f0 = _xen.physinfo()['free_pages']
    _xen.max_mem(d, 64)
    _xen.populate_physmap(d, range(0x40000, 0x40008))
    m = _xen.map(d, [0x40003, 0x40004])
    _held.append(sim.guest_map(d, 0x40003))     # the guest's own view stays open throughout
    _xen.destroydomain(d)
    time.sleep_ms(1)
    i = _xen.getdomaininfo(d)
    out = [i['dying'], i['tot_pages'], sim.domain(d)['state'], sim.domain(d)['mapped'], v.consume(),
           f0 - _xen.physinfo()['free_pages'], ids()]
    memoryview(m)[0:2] = b'ok'
    m.close()
    time.sleep_ms(1)
    return out + [err(_xen.getdomaininfo, d), v.consume(), f0 - _xen.physinfo()['free_pages'],
                  sim.mappings()]


def stale_view_inert():
    d = _xen.createdomain()
    _xen.max_mem(d, 64)
    _xen.populate_physmap(d, [0x40000])
    m = _xen.map(d, 0x40000)
    mv = memoryview(m)
    m.close()
    mv[0:4] = b'junk'             # lands in inert memory, not in the guest
    return [bytes(sim.guest_map(d, 0x40000))[0:4], sim.domain(d)['mapped']]


def guest_page_indexing():
    d = _xen.createdomain()
    _xen.max_mem(d, 64)
    _xen.populate_physmap(d, [0x40000])
    g = sim.guest_map(d, 0x40000)
    g[0] = 7
    g[10:13] = b'abc'
    m = _xen.map(d, 0x40000)
    g.close()
    return [list(memoryview(m)[0:1]), bytes(memoryview(m)[10:13]), len(g), err(lambda: g[0])]
