# tests/xenstore/test_core.py's firmware side: protocol details of the core
# (transactions, watch matching, DIRECTORY_PART) driven through dom0's
# connection, and the in-process client API, asserted as each goes.
import errno
from xstest import World, W


def transaction_semantics():
    w = World()
    d = w.d0
    w.ok(d, W.WRITE, b"/a\x001")
    t1 = int(w.ok(d, W.TRANSACTION_START, b"\x00")[:-1])
    t2 = int(w.ok(d, W.TRANSACTION_START, b"\x00")[:-1])
    assert w.ok(d, W.READ, b"/a\x00", t1) == b"1"
    w.ok(d, W.WRITE, b"/b\x00x", t2)
    assert w.err(d, W.READ, b"/b\x00", t1) == b"ENOENT"      # isolation
    w.ok(d, W.WRITE, b"/a\x002")                            # outside write
    assert w.ok(d, W.READ, b"/a\x00", t1) == b"1"            # repeatable read
    w.ok(d, W.TRANSACTION_END, b"T\x00", t2)                 # disjoint: commits
    assert w.err(d, W.TRANSACTION_END, b"T\x00", t1) == b"EAGAIN"
    # missing node read in a tx, created outside: conflict
    t3 = int(w.ok(d, W.TRANSACTION_START, b"\x00")[:-1])
    assert w.err(d, W.READ, b"/c\x00", t3) == b"ENOENT"
    w.ok(d, W.WRITE, b"/c\x00")
    assert w.err(d, W.TRANSACTION_END, b"T\x00", t3) == b"EAGAIN"
    # sibling creation conflicts via the parent's child list
    t4 = int(w.ok(d, W.TRANSACTION_START, b"\x00")[:-1])
    w.ok(d, W.WRITE, b"/p/x\x00", t4)
    w.ok(d, W.WRITE, b"/p2\x00")
    assert w.err(d, W.TRANSACTION_END, b"T\x00", t4) == b"EAGAIN"
    # abort drops everything; watches fire only at commit
    w.ok(d, W.WATCH, b"/q\x00t\x00"); w.events(d)
    t5 = int(w.ok(d, W.TRANSACTION_START, b"\x00")[:-1])
    w.ok(d, W.WRITE, b"/q/1\x00", t5)
    assert w.events(d) == []
    w.ok(d, W.TRANSACTION_END, b"F\x00", t5)
    assert w.err(d, W.READ, b"/q/1\x00") == b"ENOENT" and w.events(d) == []
    t6 = int(w.ok(d, W.TRANSACTION_START, b"\x00")[:-1])
    w.ok(d, W.WRITE, b"/q/1\x00", t6)
    w.ok(d, W.TRANSACTION_END, b"T\x00", t6)
    assert w.events(d) == [b"/q/1\x00t\x00"]
    assert w.s.ntx == 0
    w.s.check()


def watch_matching_is_by_component():
    w = World()
    d = w.d0
    w.ok(d, W.WATCH, b"/a\x00t\x00"); w.events(d)
    w.ok(d, W.WRITE, b"/ab\x00")
    assert w.events(d) == []                     # /a does not match /ab
    w.ok(d, W.WRITE, b"/a/b/c\x00")
    assert w.events(d) == [b"/a/b/c\x00t\x00"]
    w.ok(d, W.WATCH, b"/a/b/c\x00u\x00"); w.events(d)
    w.ok(d, W.RM, b"/a/b\x00")
    assert sorted(w.events(d)) == sorted([b"/a/b/c\x00u\x00", b"/a/b\x00t\x00"])
    w.ok(d, W.SET_PERMS, b"/a\x00n0\x00")
    assert w.events(d) == [b"/a\x00t\x00"]


def in_process_api():
    """The dom0 client API over the in-process server."""
    from xen import xenstore as xs
    xs.write("/api/a", "1")
    assert xs.read("/api/a") == b"1"
    xs.mkdir("/api/d")
    assert xs.ls("/api") == ["a", "d"]
    assert xs.get_perms("/api/a") == ["n0"]
    xs.set_perms("/api/a", ["n0", "r5"])
    assert xs.get_perms("/api/a") == ["n0", "r5"]
    try:
        xs.read("/api/missing")
        raise AssertionError("no error")
    except OSError as e:
        assert e.errno == errno.ENOENT
    try:
        xs.write("/bad path", "x")
        raise AssertionError("no error")
    except OSError as e:
        assert e.errno == errno.EINVAL
    try:
        xs.write(5, "x")
        raise AssertionError("no error")
    except TypeError:
        pass
    seen = []
    h = xs.watch("/api", seen.append)
    xs.write("/api/b", "2")
    assert seen == ["/api", "/api/b"], seen
    h.close()
    xs.write("/api/c", "3")
    assert seen == ["/api", "/api/b"]
    with xs.transaction() as t:
        t.write("/api/t", "x")
        assert t.read("/api/t") == b"x"
        assert not xs.exists("/api/t")
    assert xs.read("/api/t") == b"x"
    # EAGAIN from the context manager, retried by transact()
    try:
        with xs.transaction() as t:
            t.read("/api/t")
            xs.write("/api/t", "other")
            t.write("/api/t", "mine")
        raise AssertionError("no EAGAIN")
    except OSError as e:
        assert e.errno == errno.EAGAIN
    tries = []
    def bump(t):
        tries.append(1)
        v = int(t.read("/api/n")) if t.exists("/api/n") else 0
        if len(tries) == 1:
            xs.write("/api/n", "10")     # a concurrent writer, once
        t.write("/api/n", str(v + 1))
        return v + 1
    assert xs.transact(bump) == 11 and len(tries) == 2
    assert xs.read("/api/n") == b"11"
    # the API and socket clients share one server
    assert xs.server() is xs.server()
    xs.rm("/api")
    assert not xs.exists("/api")
    xs.server().check()


def directory_part_chunks_cover_everything():
    w = World()
    d = w.d0
    names = [b"n%04d-" % i + b"z" * 40 for i in range(400)]
    for n in names:
        w.ok(d, W.MKDIR, b"/big/" + n + b"\x00")
    assert w.err(d, W.DIRECTORY, b"/big\x00") == b"E2BIG"
    got = []
    off = 0
    gens = set()
    while True:
        b = w.ok(d, W.DIRECTORY_PART, b"/big\x00%d\x00" % off)
        assert len(b) <= 4096
        gen, rest = b.split(b"\x00", 1)
        gens.add(gen)
        last = rest.endswith(b"\x00\x00") or rest == b"\x00"
        items = [x for x in rest.split(b"\x00") if x]
        got += items
        off += sum(len(x) + 1 for x in items)
        if last:
            break
    assert got == names and len(gens) == 1
    assert w.ok(d, W.DIRECTORY_PART, b"/big\x00999999\x00").endswith(b"\x00\x00")
