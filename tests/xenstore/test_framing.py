"""The xenstore hot path's byte work: _xsframe, the C helpers (modxen/xsframe.c)
against their pure-Python twins in wire.py, the socket transport's framing
of split and batched messages, and wide directories (chunked child lists).
The firmware side is mp/framing_cases.py."""
import struct

from xenheaders import XEN as X     # message types from Xen's xs_wire.h
from xslib import RawClient, mp

HEADER = "<IIII"        # xsd_sockmsg: type, req_id, tx_id, len


def test_c_helpers_agree_with_python_twins():
    assert mp("framing_cases.c_helpers_agree_with_python_twins") > 100


def test_lazy_hash_bytes_behave_as_bytes():
    mp("framing_cases.lazy_hash_bytes_behave_as_bytes")


def _hdr(typ, payload, req_id=1, tx=0):
    return struct.pack(HEADER, typ, req_id, tx, len(payload)) + payload


def test_socket_messages_split_and_batched(xsd):
    c = RawClient(xsd.path)
    # one message a byte at a time
    msg = _hdr(X.XS_WRITE, b"/split/a\x00value")
    for i in range(len(msg)):
        c.s.sendall(msg[i:i + 1])
    assert c.reply() == (X.XS_WRITE, 1, 0, b"OK\x00")
    # many messages in one send, the last one cut in the middle
    batch = b"".join(_hdr(X.XS_READ, b"/split/a\x00", req_id=i) for i in range(50))
    nxt = _hdr(X.XS_DIRECTORY, b"/split\x00", req_id=99)
    c.s.sendall(batch + nxt[:7])
    for i in range(50):
        assert c.reply() == (X.XS_READ, i, 0, b"value")
    c.s.sendall(nxt[7:])
    assert c.reply() == (X.XS_DIRECTORY, 99, 0, b"a\x00")
    # a payload of the maximum size arriving in pieces, then a length over it drops us
    big = _hdr(X.XS_WRITE, b"/split/b\x00" + b"z" * (X.XENSTORE_PAYLOAD_MAX - 9))
    c.s.sendall(big[:3000])
    c.s.sendall(big[3000:])
    assert c.reply() == (X.XS_WRITE, 1, 0, b"OK\x00")
    assert c.call(X.XS_READ, b"/split/b\x00")[3] == b"z" * (X.XENSTORE_PAYLOAD_MAX - 9)
    c.s.sendall(struct.pack(HEADER, X.XS_READ, 1, 0, X.XENSTORE_PAYLOAD_MAX + 1))
    try:
        c.s.settimeout(5)
        data = c.s.recv(100)
    except ConnectionResetError:
        data = b""
    assert data == b""
    c.close()
    # the server keeps serving others
    d = RawClient(xsd.path)
    assert d.call(X.XS_READ, b"/split/a\x00") == (X.XS_READ, 1, 0, b"value")
    d.close()


def test_wide_directory_chunks():
    assert mp("framing_cases.wide_directory_chunks") == "<class 'bytes'>"
