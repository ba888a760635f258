"""Every `_xen` primitive against the sim backend, error paths included.

Each test runs a fresh firmware process (a fresh simulated hypervisor). The
firmware side is mp/xen_api.py."""
import signal
from errno import EACCES, EBUSY, EEXIST, EINVAL, EIO, ENOENT, ENOMEM, ENOSYS, EPERM, ESRCH

from mpfirmware import mp
from xenheaders import XEN

UART = 0x9000       # the frame of Xen's own UART on the sim's board
SECRET = b"secret"


def test_version_and_backend():
    assert mp("xen_api.version_and_backend") == [[4, 17], "sim"]


def test_physinfo():
    r = mp("xen_api.physinfo")
    assert r["nr_cpus"] >= 1
    assert 0 < r["free_pages"] <= r["total_pages"]


def test_physinfo_reflects_populated_memory():
    before, after = mp("xen_api.physinfo_after_populate", 256)
    assert before - after == 256


def test_domain_list_and_create_destroy():
    d, ids, after, tail, one, final, dup = mp("xen_api.list_create_destroy")
    assert d >= 1 and ids == [0, d]
    assert after == [0, d, 7] and tail == [7] and one == [0]
    assert final == [0, d]
    assert dup == EEXIST


def test_new_domain_is_paused_and_pause_count():
    assert mp("xen_api.paused_and_pause_count") == [True, False, True, False]


def test_getdomaininfo_exact_domain_only():
    # Xen 4.17 answers getdomaininfo(2) with domain 3: the binding must not.
    assert mp("xen_api.getdomaininfo_exact") == [ESRCH, 3, ESRCH]


def test_bad_domid_errors():
    assert mp("xen_api.bad_domids", 999) == [ESRCH] * 5 + ["ValueError", "ValueError", ESRCH]


def test_createdomain_validation():
    r = mp("xen_api.createdomain_validation")
    assert r[:4] == [EINVAL, "ValueError", EINVAL, "TypeError"]
    assert r[4] in (XEN.XEN_DOMCTL_CONFIG_GIC_V2, XEN.XEN_DOMCTL_CONFIG_GIC_V3)


def test_createdomain_handle_roundtrip():
    assert mp("xen_api.handle_roundtrip", bytes(range(16))) == bytes(range(16))


def test_max_vcpus_and_vcpu_context():
    r = mp("xen_api.vcpu_context", 0x40000000, 0x48000000)
    assert r == [EINVAL, EINVAL, 0x40000000, 0x48000000, True, True, 1,
                 "ValueError", EINVAL, "ValueError"]


def test_max_mem_limits_population():
    assert mp("xen_api.max_mem_limits") == [16, ENOMEM, 16, 16]


def test_populate_physmap_large_and_extents():
    # 2 MiB extents (order 9), and a list longer than one hypercall buffer.
    assert mp("xen_api.populate_large", 9, 4) == [4, 40000, 4 * 512 + 40000, "ValueError"]


def test_address_size_and_paging_pool():
    assert mp("xen_api.address_size_and_paging_pool", 8 << 20) == [8 << 20, EINVAL, EINVAL]


def test_passthrough_calls():
    r = mp("xen_api.passthrough", UART)
    # irq 1000 is an SPI number beyond the domain's nr_spis: vgic_reserve_virq fails.
    assert r == ["ValueError", EBUSY, "ValueError", True, True, None, None, EPERM]


def test_map_guest_frames_aliases_guest_memory():
    assert mp("xen_api.map_aliases_guest_memory") == [8192, b"hello", b"abc", b"zz", 1]


def test_map_errors_and_close():
    assert mp("xen_api.map_errors_and_close") == [EINVAL, ESRCH, "ValueError", 0, [4096, 1], 0, "TypeError", 0]


def test_stale_view_of_closed_mapping_is_harmless():
    stale, guest = mp("xen_api.stale_view_harmless", SECRET)
    assert stale != SECRET and guest == SECRET


def test_destroy_waits_for_mappings():
    assert mp("xen_api.destroy_waits_for_mappings") == [True, ESRCH]


def test_hvm_params():
    assert mp("xen_api.hvm_params") == [0x39001, 0, "ValueError", ESRCH, "ValueError"]


def test_console_io():
    assert mp("xen_api.console_io", b"dom0 says hi\n", b"typed") == [b"dom0 says hi\n", b"", b"typ", b"ed"]


def test_errors_are_oserrors_with_host_errno():
    name, errno, arg0, text = mp("xen_api.oserror_of_destroy", 4242)
    assert name == "ESRCH" and errno == arg0 == ESRCH and "ESRCH" in text


def test_eperm_when_unprivileged():
    assert mp("xen_api.eperm_when_unprivileged") == [EPERM] * 4 + [True]


def test_fault_injection_nth_call():
    assert mp("xen_api.fault_injection_nth", ENOMEM, EIO) == [None, ENOMEM, None, EIO]


def test_flask():
    r = mp("xen_api.flask", "system_u:system_r:domU_t", "bogus_u:bogus_r:nope_t")
    assert r[0] == ENOSYS
    assert r[1:5] == [True, "system_u:system_r:domU_t", 1, True]
    assert r[5] in (EINVAL, EACCES, ENOENT)
    assert r[6] == "ValueError"


def test_mapping_subscript_and_read_only():
    assert mp("xen_api.subscript_and_read_only") == [ord("a"), b"abcde", b"bcde", b"de"]


def test_read_only_mapping_refuses_writes():
    item, view, guest_byte = mp("xen_api.read_only_refuses_writes")
    assert item == "mapping is read-only" and view == "TypeError" and guest_byte == 0


def test_interrupt_main_and_catch_signal():
    r = mp("xen_api.interrupt_main_and_catch_signal", signal.SIGTERM, "kill -TERM %d")
    assert r == ["interrupted", "KeyboardInterrupt"]


def test_view_outliving_its_mapping_object_never_faults():
    # MicroPython's memoryview does not keep its owner alive: the Mapping is
    # collected (and its frames released) while the view lives on. The view
    # must read inert memory, never fault and never see another mapping.
    after_gc, stale, guest = mp("xen_api.view_outliving_its_mapping", SECRET)
    assert after_gc == 0 and stale != b"new" and guest == SECRET
