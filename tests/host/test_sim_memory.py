"""The sim backend's memory model: populate/decrease accounting against
max_mem, real shared host memory behind dom0 and guest views, page
references held by dom0 mappings, and the dying-domain zombie. The firmware
side is mp/sim_memory.py."""
from errno import EBUSY, EFAULT, EINVAL, EIO, ENOMEM, ESRCH

from mpfirmware import mp
from xenheaders import XEN

MEMORY_OP = XEN.__HYPERVISOR_memory_op


def test_populate_bounded_by_max_mem():
    assert mp("sim_memory.populate_bounded") == [ENOMEM, 0, ENOMEM, 16, 16, 64, ENOMEM, 16]


def test_populate_returns_extents_done():
    # order 2: 4 pages per extent, the third does not fit under 16 pages...
    # 13 > dom0's maximum extent order; a missing domain: 0 extents, no errno
    assert mp("sim_memory.populate_extents_done", MEMORY_OP, XEN.XENMEM_populate_physmap) == [
        3, 12, 0, 0, 2, 14]


def test_memory_op_bad_extent_list():
    # an extent list at an address outside the guest's memory: nothing done
    assert mp("sim_memory.bad_extent_list", MEMORY_OP, XEN.XENMEM_populate_physmap, 0x1000) == [0, 0]


def test_physinfo_and_paging_pool():
    assert mp("sim_memory.physinfo_and_paging_pool") == [65536, EINVAL, 1 << 20, 256 - 16, 1 << 20, ENOMEM]


def test_address_size_before_memory():
    assert mp("sim_memory.address_size_before_memory") == [EINVAL, None, EBUSY, 64]


def test_dom0_and_guest_views_alias():
    assert mp("sim_memory.views_alias") == [True, b"dom0!", b"guest", b"dom0!", "TypeError", 2, 3, EFAULT,
                                            4096]


def test_map_errors_leave_nothing_mapped():
    assert mp("sim_memory.map_errors", EIO) == [EINVAL, 0, 0, EINVAL, ESRCH, EIO, 0, 0, 0]


def test_decrease_reservation_and_page_references():
    r = mp("sim_memory.decrease_and_references", MEMORY_OP, XEN.XENMEM_decrease_reservation)
    # the mapped page stays alive (and counted) until dom0 lets go; a page
    # re-populated after it reads as zeroes (it went back to the heap scrubbed)
    assert r == [2, 3, EINVAL, b"old", 1, 1, bytes(3)]


def test_repopulating_a_gfn_keeps_the_old_page():
    # Arm's p2m drops no reference on a RAM entry it replaces
    assert mp("sim_memory.repopulate_same_gfn") == [2, 2]


def test_dying_zombie_until_last_mapping():
    r = mp("sim_memory.dying_zombie")
    # free pages are relative to a moment the domain's 16-page p2m pool was
    # in use; the pool goes at once, the two mapped pages only with the mapping
    assert r == [True, 2, "dying", 2, 1, 2 - 16, [0, 1], ESRCH, 1, -16, 0]


def test_stale_view_of_closed_mapping_is_inert():
    assert mp("sim_memory.stale_view_inert") == [bytes(4), 0]


def test_guest_page_indexing():
    assert mp("sim_memory.guest_page_indexing") == [[7], b"abc", 0, "ValueError"]
