"""One test per Xen security advisory a xenstore server must not repeat
(docs/xenstore-security.md maps each XSA to its test here)."""


import struct
from errno import ENOENT

from xenheaders import XEN
from xslib import RawClient, mp

HEADER = "<IIII"        # xsd_sockmsg: type, req_id, tx_id, len


def test_xsa72_length_checks(xsd):
    # Over-long message on the socket: that client is dropped, others live.
    c = RawClient(xsd.path)
    c.s.sendall(struct.pack(HEADER, XEN.XS_READ, 1, 0, 5000) + b"x" * 100)
    try:
        c.recv()
        raise AssertionError("connection should have been dropped")
    except (EOFError, ConnectionResetError):
        pass
    d = RawClient(xsd.path)
    assert d.call(XEN.XS_WRITE, b"/ok\x00v")[3] == b"OK\x00"
    # Directory over 4096 bytes: E2BIG, DIRECTORY_PART still lists it all.
    for i in range(300):
        d.call(XEN.XS_MKDIR, b"/big/child-with-a-longish-name-%04d\x00" % i)
    assert d.call(XEN.XS_DIRECTORY, b"/big\x00")[3] == b"E2BIG\x00"
    names, off = [], 0
    while True:
        t, r, x, body = d.call(XEN.XS_DIRECTORY_PART, b"/big\x00%d\x00" % off)
        assert t == XEN.XS_DIRECTORY_PART, body
        gen, rest = body.split(b"\x00", 1)
        chunk = rest[:-1].split(b"\x00") if rest != b"\x00" else []
        if rest.endswith(b"\x00\x00") or rest == b"\x00":
            names += [n for n in chunk if n]
            break
        names += chunk[:-1] if chunk and chunk[-1] == b"" else chunk
        off += sum(len(n) + 1 for n in (chunk[:-1] if chunk and chunk[-1] == b"" else chunk))
    assert len(names) == 300 and names[0] == b"child-with-a-longish-name-0000"
    d.close()


def test_xsa115_events_only_to_readers_special_watches_privileged():
    mp("xsa_cases.xsa115_events_only_to_readers_special_watches_privileged")


def test_xsa206_write_storm_does_not_starve_others():
    mp("xsa_cases.xsa206_write_storm_does_not_starve_others")


def test_xsa233_425_release_twice_no_double_free():
    mp("xsa_cases.xsa233_425_release_twice_no_double_free")


def test_xsa272_quota_accounting_updated():
    mp("xsa_cases.xsa272_quota_accounting_updated")


def test_xsa322_dead_domid_rights_revoked():
    mp("xsa_cases.xsa322_dead_domid_rights_revoked")


def test_xsa322_owner_must_exist_so_a_later_domid_owns_nothing():
    # cxenstored answers ENOENT when SET_PERMS names an owner that does not
    # exist (checked before the path, special nodes too); other entries may
    # name any domain. Without that, a domain created later with that id
    # would own the node.
    mp("xsa_cases.xsa322_owner_must_exist_so_a_later_domid_owns_nothing")


def test_xsa322_entries_naming_absent_domains_grant_nothing_later():
    # Entries after the owner may name any domain; one that does not exist
    # when it is set is kept (GET_PERMS shows it) but never grants anything
    # (cxenstored's XS_PERM_IGNORE), so a domain created later with that id
    # gains no right from it. Set again once the domain exists, it counts.
    mp("xsa_cases.xsa322_entries_naming_absent_domains_grant_nothing_later")


def test_xsa322_owner_existence_asked_of_the_hypervisor():
    # The in-process server asks Xen (here the sim) about domains it was
    # not introduced to, as cxenstored does: the builder gives a new
    # domain its nodes before INTRODUCE.
    assert mp("xsa_cases.xsa322_owner_existence_asked_of_the_hypervisor", 77) == [
        ["OSError", ENOENT], ["n0"], 77, ["n0"], ["n77", "r5"]]


def test_xsa322_domain_exists_hook_answers_or_fails_the_request():
    # The I/O layer's answer decides; when it cannot answer, the request
    # fails (EIO) instead of the core guessing (an ACL silently inert, or a
    # node given away).
    mp("xsa_cases.xsa322_domain_exists_hook_answers_or_fails_the_request")


def test_xsa323_relative_path_length_checked_after_expansion():
    mp("xsa_cases.xsa323_relative_path_length_checked_after_expansion")


def test_xsa324_oversized_events_dropped():
    mp("xsa_cases.xsa324_oversized_events_dropped")


def test_xsa325_no_early_release_event_on_bad_connection():
    mp("xsa_cases.xsa325_no_early_release_event_on_bad_connection")


def test_xsa326_per_domain_memory_accounting():
    mp("xsa_cases.xsa326_per_domain_memory_accounting")


def test_xsa330_reset_watches_frees():
    mp("xsa_cases.xsa330_reset_watches_frees")


def test_xsa352_only_privileged_change_owner():
    mp("xsa_cases.xsa352_only_privileged_change_owner")


def test_xsa353_root_node_checked_too():
    mp("xsa_cases.xsa353_root_node_checked_too")


def test_xsa414_415_failed_creation_undone():
    mp("xsa_cases.xsa414_415_failed_creation_undone")


def test_xsa416_no_memory_kept_after_replies_read():
    mp("xsa_cases.xsa416_no_memory_kept_after_replies_read")


def test_xsa417_reused_domid_starts_clean():
    mp("xsa_cases.xsa417_reused_domid_starts_clean")


def test_xsa418_deep_and_wide_trees_no_recursion():
    mp("xsa_cases.xsa418_deep_and_wide_trees_no_recursion")


def test_xsa419_nodes_of_destroyed_domain_deleted():
    mp("xsa_cases.xsa419_nodes_of_destroyed_domain_deleted")


def test_xsa420_length_never_signed(xsd):
    c = RawClient(xsd.path)
    c.s.sendall(struct.pack(HEADER, XEN.XS_READ, 1, 0, 0xFFFFFFFF))
    try:
        c.recv()
        raise AssertionError("should be dropped")
    except (EOFError, ConnectionResetError):
        pass
    d = RawClient(xsd.path)
    # zero-length payloads still get an answer
    for name in ("DIRECTORY", "READ", "GET_PERMS", "WATCH", "UNWATCH", "TRANSACTION_END",
                 "INTRODUCE", "RELEASE", "GET_DOMAIN_PATH", "WRITE", "MKDIR", "RM", "SET_PERMS",
                 "IS_DOMAIN_INTRODUCED", "RESUME", "SET_TARGET", "DIRECTORY_PART"):
        t, r, x, body = d.call(getattr(XEN, "XS_" + name), b"", req_id=77)
        # END without a transaction
        want = b"ENOENT\x00" if name == "TRANSACTION_END" else b"EINVAL\x00"
        assert r == 77 and t == XEN.XS_ERROR and body == want, (name, t, body)
    d.close()


def test_xsa421_transactions_cannot_create_unbounded_nodes():
    mp("xsa_cases.xsa421_transactions_cannot_create_unbounded_nodes")


def test_xsa440_conflicting_transactions_accounting_not_negative():
    mp("xsa_cases.xsa440_conflicting_transactions_accounting_not_negative")


def test_xsa481_domain_prefix_canonicalised_safely():
    mp("xsa_cases.xsa481_domain_prefix_canonicalised_safely")


def test_xsa483_quota_usage_reset_at_teardown():
    mp("xsa_cases.xsa483_quota_usage_reset_at_teardown")


def test_xsa484_reset_watches_in_transaction_and_idempotent_cleanup():
    mp("xsa_cases.xsa484_reset_watches_in_transaction_and_idempotent_cleanup")

