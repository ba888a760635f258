# tests/xenstore/test_framing.py's firmware side: the C byte helpers
# (_xsframe) against their pure-Python twins in xen.xenstore.wire, and the
# chunked child lists of wide directories, asserted as each goes.
import random
import struct
import _xsframe
from xen.xenstore import store as S
from xstest import World, W


def c_helpers_agree_with_python_twins():
    """4000 random inputs through each C helper and its Python twin; returns
    how many were complete messages."""
    assert W.parse is _xsframe.parse and W.packet is _xsframe.packet
    assert W.path_ok is _xsframe.path_ok and W.tail is _xsframe.tail
    assert W.child_add is _xsframe.child_add and W.child_del is _xsframe.child_del
    random.seed(7)
    CH = b"abcXYZ019-_@/ .\x00\xff"

    def outcome(f, *a):
        try:
            return ("ok", f(*a))
        except ValueError:
            return ("ValueError",)

    n = 0
    for i in range(4000):
        # paths: random strings over valid and invalid characters
        p = bytes(CH[random.getrandbits(4) % len(CH)] for _ in range(random.getrandbits(3)))
        assert _xsframe.path_ok(p) == W.path_ok_py(p), p
        # messages: a header with a random or fitting length, cut anywhere
        pl = bytes(random.getrandbits(8) for _ in range(random.getrandbits(5)))
        ln = len(pl) if random.getrandbits(1) else random.choice((0, 5, 4096, 4097, 0xFFFFFFFF))
        msg = struct.pack("<IIII", random.getrandbits(32), random.getrandbits(32),
                          random.getrandbits(32), ln) + pl + b"tail"
        end = len(msg) if random.getrandbits(1) else random.getrandbits(6) % (len(msg) + 1)
        off = random.getrandbits(3) % (end + 1)
        a = outcome(_xsframe.parse, msg, off, end)
        b = outcome(W.parse_py, msg, off, end)
        assert a == b, (msg, off, end, a, b)
        assert outcome(_xsframe.parse, bytearray(msg)) == outcome(W.parse_py, msg)
        if a[0] == "ok" and a[1] is not None:
            n += 1
            t, r, x, body = a[1]
            assert _xsframe.packet(t, r, x, body) == W.packet_py(t, r, x, body) == msg[off:off + 16 + len(body)]
            h1 = [None, None, None, "keep"]
            h2 = [None, None, None, "keep"]
            assert _xsframe.parse(msg, off, end, h1) == W.parse_py(msg, off, end, h2) == body
            assert h1 == h2 == [t, r, x, "keep"]
        k = random.getrandbits(6) % (len(msg) + 1)
        assert _xsframe.tail(msg, k) == W.tail_py(msg, k) == msg[k:]
        # child lists: add and remove names at the start, middle and end
        names = [bytes(b"ab_-1"[random.getrandbits(3) % 5] for _ in range(1 + random.getrandbits(2)))
                 for _ in range(random.getrandbits(3))]
        blob = b"".join(x + b"\x00" for x in names)
        if random.getrandbits(3) == 0:
            blob = blob[:-1]            # a malformed list (no final NUL) is handled alike
        for nm in names + [b"zz", b"a", b"ab"]:
            assert _xsframe.child_del(blob, nm) == W.child_del_py(blob, nm), (blob, nm)
            assert _xsframe.child_add(blob, nm) == W.child_add_py(blob, nm) == blob + nm + b"\x00"
        if names:
            nm = names[random.getrandbits(3) % len(names)]
            want = list(names)
            want.remove(nm)
            if blob.endswith(b"\x00"):
                assert _xsframe.child_del(blob, nm) == b"".join(x + b"\x00" for x in want)
        assert _xsframe.child_del(blob, b"absent") is blob
    # out of range offsets are errors, never reads outside the buffer
    for args in ((b"x" * 20, 21), (b"x" * 20, 0, 21), (b"x" * 20, 5, 4), (b"x" * 20, -1)):
        assert outcome(_xsframe.parse, *args) == ("ValueError",), args
        assert outcome(W.parse_py, *args) == ("ValueError",), args
    assert outcome(_xsframe.tail, b"abc", 4) == ("ValueError",)
    ok = struct.pack("<IIII", 1, 2, 3, 0)
    for f in (_xsframe.parse, W.parse_py):
        assert outcome(f, ok, 0, 16, [0, 0]) == ("ValueError",)
        try:
            f(ok, 0, 16, (0, 0, 0))
            raise AssertionError("a tuple hdr was taken")
        except TypeError:
            pass
    try:
        _xsframe.packet(1, 2, 3, 42)
        raise AssertionError("xs_packet took an int payload")
    except TypeError:
        pass
    return n


def lazy_hash_bytes_behave_as_bytes():
    v = _xsframe.tail(b"xx/local/domain/1", 2)
    p = _xsframe.packet(W.READ, 1, 0, b"/local/domain/1")[16:]
    for x in (v, p, _xsframe.parse(_xsframe.packet(W.READ, 1, 0, b"/local/domain/1"))[3]):
        assert x == b"/local/domain/1" and hash(x) == hash(b"/local/domain/1")
        d = {b"/local/domain/1": 1}
        assert d[x] == 1 and x in d and x in set([b"/local/domain/1"])
        assert x != b"/local/domain/2" and x.startswith(b"/local")
    assert _xsframe.tail(b"abc", 3) == b"" and _xsframe.parse(_xsframe.packet(1, 2, 3, b""))[3] == b""


def wide_directory_chunks():
    """Returns the type of the directory's child list once it shrank."""
    w = World()
    d = w.d0
    names = [b"c%d" % i for i in range(900)] + [b"L" + b"q" * 1500]
    for n in names:
        w.ok(d, W.WRITE, b"/wide/" + n + b"\x00v")
    node = w.s.tree[b"/wide"]
    assert type(node[S.C]) is list        # past one chunk
    w.s.check()
    assert w.err(d, W.DIRECTORY, b"/wide\x00") == b"E2BIG"
    # removing from the middle, the start and the end keeps the order
    for n in (b"c450", b"c0", names[-1], b"c899"):
        w.ok(d, W.RM, b"/wide/" + n + b"\x00")
        names.remove(n)
    w.s.check()
    got = []
    off = 0
    while True:
        b = w.ok(d, W.DIRECTORY_PART, b"/wide\x00%d\x00" % off)
        rest = b.split(b"\x00", 1)[1]
        items = [x for x in rest.split(b"\x00") if x]
        got += items
        off += sum(len(x) + 1 for x in items)
        if rest.endswith(b"\x00\x00") or rest == b"\x00":
            break
    assert got == names
    # a transaction sees its snapshot while the tree's list changes
    t, tx = w.call(d, W.TRANSACTION_START, b"\x00")
    tx = int(tx[:-1])
    w.ok(d, W.WRITE, b"/wide/intx\x00v", tx)
    w.ok(d, W.WRITE, b"/wide/outside\x00v")
    assert w.call(d, W.TRANSACTION_END, b"T\x00", tx) == (W.ERROR, b"EAGAIN\x00")
    for n in names[:-40]:
        w.ok(d, W.RM, b"/wide/" + n + b"\x00")
    w.s.check()
    left = w.ok(d, W.DIRECTORY, b"/wide\x00")
    assert left == b"".join(n + b"\x00" for n in names[-40:] + [b"outside"])
    return str(type(w.s.tree[b"/wide"][S.C]))
