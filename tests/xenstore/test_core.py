"""Protocol details of the core and the in-process dom0 API. The firmware
side of the core scenarios is mp/core_cases.py."""
from xenheaders import XEN as X     # message types from Xen's xs_wire.h
from xslib import RawClient, mp

RESTRICT = X.XS_SET_TARGET + 1      # XS_RESTRICT, withdrawn from the protocol
PAST_NEWEST = 27                    # one past XS_SET_QUOTA (26), the newest type


def test_unknown_types_enosys_with_req_id_connection_continues(xsd):
    c = RawClient(xsd.path)
    for typ in (RESTRICT, PAST_NEWEST, 99, X.XS_INVALID, 0xFFFFFFFF, X.XS_WATCH_EVENT, X.XS_ERROR):
        t, r, x, body = c.call(typ, b"x\x00", req_id=1234)
        assert (t, r, body) == (X.XS_ERROR, 1234, b"ENOSYS\x00"), (typ, t, r, body)
    assert c.call(X.XS_WRITE, b"/still\x00alive")[3] == b"OK\x00"
    c.close()


def test_malformed_payloads_einval(xsd):
    c = RawClient(xsd.path)
    cases = [
        (X.XS_READ, b"/a"),                 # missing NUL
        (X.XS_READ, b"/a\x00b\x00"),        # two strings for one
        (X.XS_WRITE, b"/a"),                # write without separator: path only, no NUL
        (X.XS_WATCH, b"/a\x00"),           # watch without token
        (X.XS_TRANSACTION_END, b"X\x00"),
        (X.XS_SET_PERMS, b"/\x00"),        # set_perms without perms
        (X.XS_SET_PERMS, b"/\x00q0\x00"),
        (X.XS_SET_PERMS, b"/\x00r-1\x00"),
        (X.XS_GET_DOMAIN_PATH, b"abc\x00"),
        (X.XS_READ, b"relative//x\x00"),
        (X.XS_READ, b"/a b\x00"),
        (X.XS_READ, b"@introduceDomain\x00"),
    ]
    for typ, payload in cases:
        t, r, x, body = c.call(typ, payload)
        assert t == X.XS_ERROR, (typ, payload, body)
        want = b"ENOENT\x00" if typ == X.XS_TRANSACTION_END else b"EINVAL\x00"
        assert body == want, (typ, payload, body)
    c.close()


def test_reply_formats(xsd):
    c = RawClient(xsd.path)
    assert c.call(X.XS_WRITE, b"/f/v\x00a\x00b")[3] == b"OK\x00"
    assert c.call(X.XS_READ, b"/f/v\x00")[3] == b"a\x00b"           # raw value, NULs kept
    assert c.call(X.XS_DIRECTORY, b"/f\x00")[3] == b"v\x00"
    assert c.call(X.XS_MKDIR, b"/f/empty\x00")[3] == b"OK\x00"
    assert c.call(X.XS_DIRECTORY, b"/f/empty\x00")[3] == b""
    assert c.call(X.XS_GET_PERMS, b"/f/v\x00")[3] == b"n0\x00"
    assert c.call(X.XS_GET_DOMAIN_PATH, b"7\x00")[3] == b"/local/domain/7\x00"
    t, r, x, body = c.call(X.XS_TRANSACTION_START, b"\x00", req_id=5)
    tx = int(body[:-1])
    assert tx > 0 and x == 0
    t, r, x, body = c.call(X.XS_READ, b"/f/v\x00", tx=tx, req_id=6)
    assert (t, r, x) == (X.XS_READ, 6, tx)
    assert c.call(X.XS_TRANSACTION_END, b"T\x00", tx=tx)[3] == b"OK\x00"
    assert c.call(X.XS_TRANSACTION_END, b"T\x00", tx=tx)[3] == b"ENOENT\x00"
    assert c.call(X.XS_READ, b"/f/v\x00", tx=999)[3] == b"ENOENT\x00"
    # watch: OK then the initial event; duplicate EEXIST; unknown unwatch ENOENT
    c.send(X.XS_WATCH, b"/f\x00tk\x00", req_id=9)
    assert c.recv() == (X.XS_WATCH, 9, 0, b"OK\x00")
    assert c.recv() == (X.XS_WATCH_EVENT, 0, 0, b"/f\x00tk\x00")
    assert c.call(X.XS_WATCH, b"/f\x00tk\x00")[3] == b"EEXIST\x00"
    assert c.call(X.XS_UNWATCH, b"/f\x00nope\x00")[3] == b"ENOENT\x00"
    assert c.call(X.XS_UNWATCH, b"/f\x00tk\x00")[3] == b"OK\x00"
    # rm of a missing node: OK if its parent exists, ENOENT otherwise
    assert c.call(X.XS_RM, b"/f/nothere\x00")[3] == b"OK\x00"
    assert c.call(X.XS_RM, b"/nothere/x\x00")[3] == b"ENOENT\x00"
    c.close()


def test_transaction_semantics():
    mp("core_cases.transaction_semantics")


def test_watch_matching_is_by_component():
    mp("core_cases.watch_matching_is_by_component")


def test_in_process_api():
    mp("core_cases.in_process_api")


def test_directory_part_chunks_cover_everything():
    mp("core_cases.directory_part_chunks_cover_everything")
