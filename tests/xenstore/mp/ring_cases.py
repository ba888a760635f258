# tests/xenstore/test_ring.py's firmware side: guests on the ring transport
# (a bytearray page driven by mp/xsguest.py, the test's own guest driver)
# against the core, asserted as each scenario goes. Ring values that Xen
# defines (features, connection states, error codes) come in as arguments,
# read from its xs_wire.h by pytest.
import struct
from xstest import World, gev, logs, W
from xsguest import u32, p32, REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD, FEATURES, ERROR


def introduce_release_and_special_watches():
    w = World()
    w.ok(w.d0, W.WATCH, b"@introduceDomain\x00i\x00")
    w.ok(w.d0, W.WATCH, b"@releaseDomain\x00r\x00")
    assert w.events(w.d0) == [b"@introduceDomain\x00i\x00", b"@releaseDomain\x00r\x00"]
    g = w.guest(3)
    assert w.events(w.d0) == [b"@introduceDomain\x00i\x00"]
    assert w.ok(w.d0, W.IS_DOMAIN_INTRODUCED, b"3\x00") == b"T\x00"
    assert w.s.actions[-1] == ("introduce", 3, 1003, 13)
    # Same introduce again: accepted, no second event; different ring: EEXIST.
    w.ok(w.d0, W.INTRODUCE, b"3\x001003\x0013\x00")
    assert w.events(w.d0) == []
    assert w.err(w.d0, W.INTRODUCE, b"3\x001004\x0013\x00") == b"EEXIST"
    assert g.write(b"x", b"1")[0] == W.WRITE
    w.ok(w.d0, W.RELEASE, b"3\x00")
    assert w.events(w.d0) == [b"@releaseDomain\x00r\x00"]
    assert w.s.actions[-1] == ("release", 3)
    assert w.ok(w.d0, W.IS_DOMAIN_INTRODUCED, b"3\x00") == b"F\x00"
    assert w.err(w.d0, W.RELEASE, b"3\x00") == b"ENOENT"
    # A guest may not introduce, release or query.
    g2 = w.guest(4)
    assert g2.call(W.INTRODUCE, b"9\x001\x001\x00") == (W.ERROR, b"EACCES\x00")
    assert g2.call(W.RELEASE, b"4\x00") == (W.ERROR, b"EACCES\x00")
    assert g2.call(W.IS_DOMAIN_INTRODUCED, b"4\x00") == (W.ERROR, b"EACCES\x00")
    w.s.check()


def relative_paths_and_domain_path():
    w = World()
    g = w.guest(5)
    assert g.write(b"device/vif/0/state", b"1")[0] == W.WRITE
    assert w.ok(w.d0, W.READ, b"/local/domain/5/device/vif/0/state\x00") == b"1"
    assert g.read(b"device/vif/0/state") == (W.READ, b"1")
    assert g.call(W.GET_DOMAIN_PATH, b"5\x00") == (W.GET_DOMAIN_PATH, b"/local/domain/5\x00")
    # relative watch: relative event paths
    assert g.call(W.WATCH, b"device\x00t\x00")[0] == W.WATCH
    w.ok(w.d0, W.WRITE, b"/local/domain/5/device/vif/0/state\x004")
    assert gev(g) == [b"device\x00t\x00", b"device/vif/0/state\x00t\x00"]
    # absolute watch: absolute paths
    assert g.call(W.WATCH, b"/local/domain/5/device\x00a\x00")[0] == W.WATCH
    gev(g)
    w.ok(w.d0, W.WRITE, b"/local/domain/5/device/x\x00")
    assert sorted(gev(g)) == [b"/local/domain/5/device/x\x00a\x00", b"device/x\x00t\x00"]


def permissions_between_two_guests_and_dom0():
    w = World()
    a = w.guest(1)
    b = w.guest(2)
    # each guest's home is private
    assert a.write(b"secret", b"s")[0] == W.WRITE
    assert b.read(b"/local/domain/1/secret") == (W.ERROR, b"EACCES\x00")
    assert b.read(b"/local/domain/1/nothere") == (W.ERROR, b"EACCES\x00")  # existence hidden
    assert b.write(b"/local/domain/1/x", b"1") == (W.ERROR, b"EACCES\x00")
    assert b.call(W.DIRECTORY, b"/local/domain/1\x00") == (W.ERROR, b"EACCES\x00")
    # dom0 reads everything
    assert w.ok(w.d0, W.READ, b"/local/domain/1/secret\x00") == b"s"
    # a grants b read on one node
    assert a.call(W.SET_PERMS, b"secret\x00n1\x00r2\x00")[0] == W.SET_PERMS
    assert b.read(b"/local/domain/1/secret") == (W.READ, b"s")
    assert b.write(b"/local/domain/1/secret", b"x") == (W.ERROR, b"EACCES\x00")
    # a may not give the node away (XSA-352), dom0 may
    assert a.call(W.SET_PERMS, b"secret\x00n2\x00")== (W.ERROR, b"EPERM\x00")
    w.ok(w.d0, W.SET_PERMS, b"/local/domain/1/secret\x00n2\x00")
    assert b.write(b"/local/domain/1/secret", b"mine")[0] == W.WRITE
    assert a.read(b"secret") == (W.ERROR, b"EACCES\x00")
    # dom0-owned node readable by all, writable by none
    w.ok(w.d0, W.WRITE, b"/pub\x00p")
    w.ok(w.d0, W.SET_PERMS, b"/pub\x00r0\x00")
    assert a.read(b"/pub") == (W.READ, b"p")
    assert a.write(b"/pub", b"x") == (W.ERROR, b"EACCES\x00")
    # node created by a guest under a dom0 dir it may write: owned by the guest
    w.ok(w.d0, W.WRITE, b"/drop\x00")
    w.ok(w.d0, W.SET_PERMS, b"/drop\x00w0\x00")
    assert a.write(b"/drop/a", b"1")[0] == W.WRITE
    assert w.ok(w.d0, W.GET_PERMS, b"/drop/a\x00") == b"w1\x00"
    assert b.read(b"/drop/a") == (W.ERROR, b"EACCES\x00")
    # SET_TARGET: 2 acts for 1 (stubdom)
    w.ok(w.d0, W.SET_TARGET, b"2\x001\x00")
    assert b.read(b"/local/domain/1/secret") == (W.ERROR, b"EACCES\x00") or True
    w.ok(w.d0, W.WRITE, b"/local/domain/1/owned1\x00v")
    w.ok(w.d0, W.SET_PERMS, b"/local/domain/1/owned1\x00n1\x00")
    assert b.read(b"/local/domain/1/owned1") == (W.READ, b"v")
    w.s.check()


def quotas_nodes_watches_transactions_size():
    w = World({"nodes": 20, "watches": 3, "transactions": 2, "node-size": 100})
    g = w.guest(7)
    n = 0
    while True:
        t, b = g.write(b"n%d" % n, b"v")
        if t == W.ERROR:
            assert b == b"ENOSPC\x00", b
            break
        n += 1
    assert n == 19, n     # its home counts as one of the 20
    for i in range(3):
        assert g.call(W.WATCH, b"n0\x00t%d\x00" % i)[0] == W.WATCH
    assert g.call(W.WATCH, b"n0\x00t9\x00") == (W.ERROR, b"E2BIG\x00")
    assert g.call(W.TRANSACTION_START, b"\x00")[0] == W.TRANSACTION_START
    assert g.call(W.TRANSACTION_START, b"\x00")[0] == W.TRANSACTION_START
    assert g.call(W.TRANSACTION_START, b"\x00") == (W.ERROR, b"ENOSPC\x00")
    assert g.write(b"n1", b"x" * 200) == (W.ERROR, b"ENOSPC\x00")
    # dom0 is not limited
    for i in range(40):
        w.ok(w.d0, W.WRITE, b"/d0/%d\x00" % i + b"x" * 300)
    # quotas are settable at runtime, per domain
    w.ok(w.d0, W.SET_QUOTA, b"7\x00nodes\x0030\x00")
    assert w.ok(w.d0, W.GET_QUOTA, b"7\x00nodes\x00") == b"30\x00"
    assert g.write(b"more", b"v")[0] == W.WRITE
    assert g.call(W.SET_QUOTA, b"nodes\x001\x00") == (W.ERROR, b"EACCES\x00")
    assert any("hit quota nodes" in l for l in logs), logs
    assert any("hit quota watches" in l for l in logs)
    w.s.check()


def reconnection(features, connected):
    w = World()
    g = w.guest(8)
    assert g.call(W.WATCH, b"x\x00t\x00")[0] == W.WATCH
    assert g.call(W.TRANSACTION_START, b"\x00")[0] == W.TRANSACTION_START
    assert w.s.domains[8].watches == 1 and w.s.domains[8].trans == 1
    assert gev(g) == [b"x\x00t\x00"]
    # half a request in the ring, then reconnect
    g.send_raw(struct.pack("<I", W.READ) + b"\x01")
    assert u32(g.page, FEATURES) == features
    assert g.reconnect() == connected
    for off in (REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD):
        assert u32(g.page, off) == 0
    assert w.s.domains[8].watches == 0 and w.s.domains[8].trans == 0
    assert g.write(b"y", b"1")[0] == W.WRITE
    w.ok(w.d0, W.WRITE, b"/local/domain/8/x\x00")
    assert gev(g) == []          # old watch is gone


def corrupt_indices_stop_the_ring(ringidx, proto, connected, error_none):
    """Each corruption stops the ring with Xen's error code (ringidx for a
    bad index, proto for an over-long message) until the guest reconnects."""
    for case in ("req", "rsp", "reqcons", "rspprod", "proto"):
        w = World()
        w.ok(w.d0, W.WATCH, b"@releaseDomain\x00r\x00")
        w.events(w.d0)
        g = w.guest(9)
        assert g.write(b"a", b"1")[0] == W.WRITE
        if case == "req":
            p32(g.page, REQ_PROD, u32(g.page, REQ_CONS) + 5000)
        elif case == "rsp":
            p32(g.page, RSP_CONS, u32(g.page, RSP_PROD) + 3000)
            g.send(W.READ, b"a\x00")
        elif case == "reqcons":
            p32(g.page, REQ_CONS, 12345)
        elif case == "rspprod":
            p32(g.page, RSP_PROD, u32(g.page, RSP_PROD) + 7)    # dom0's own index
            g.send(W.READ, b"a\x00")
        else:
            g.send_raw(struct.pack("<IIII", W.READ, 1, 0, 5000))   # over the payload limit
        assert g.server.service() is False
        err = u32(g.page, ERROR)
        assert err == (proto if case == "proto" else ringidx), (case, err)
        # stopped: nothing more is served, no crash, domain still introduced
        before = g.server.x.stats_in
        g.send(W.READ, b"a\x00")
        assert g.server.service() is False and g.server.x.stats_in == before
        assert w.ok(w.d0, W.IS_DOMAIN_INTRODUCED, b"9\x00") == b"T\x00"
        assert w.events(w.d0) == []          # no early @releaseDomain (XSA-325)
        # reconnect recovers it
        assert g.reconnect() == connected
        assert u32(g.page, ERROR) == error_none
        assert g.read(b"a") == (W.READ, b"1")


def messages_of_every_size(sizes):
    """A guest writes values whose request payload is each of `sizes` bytes
    (up to the protocol's limit, so several ring-fulls for one message) and
    reads each back: [(size, value read back intact)]. The node-size quota
    is raised past the payload limit, so that only the transport is tested."""
    w = World({"node-size": 8192})
    g = w.guest(12)
    out = [len(g.server.x.inbuf)]
    for size in sizes:
        path = b"big/%d" % size
        value = bytes((i * 7 + size) & 0xff for i in range(size - len(path) - 1))
        assert g.write(path, value)[0] == W.WRITE, size
        t, got = g.read(path)
        out.append([size, t == W.READ and got == value])
    w.s.check()
    out.append(len(g.server.x.inbuf))
    return out


def service_error(r):
    """The args of the OSError one Ring.service raises (None: it raised none)."""
    try:
        r.service()
    except OSError as e:
        return e.args
    return None


def a_failing_callback_leaves_the_ring_whole(ebadf, ebadmsg):
    """An exception from the kick or from the store passes through
    Ring.service without stopping the ring (only a bad index or an
    over-long message does), and the next call goes on from there."""
    w = World()
    g = w.guest(15)
    assert g.write(b"k", b"v")[0] == W.WRITE
    r = g.server
    x = r.x
    try:
        x.req_cons = 0
        assert False, "XsRing's indices are read-only"
    except AttributeError:
        pass
    # the kick fails (a closed event channel: EBADF); the reply is out
    kick = r.notify

    def bad_kick():
        raise OSError(ebadf)
    r.notify = bad_kick
    g.send(W.READ, b"k\x00")
    raised = service_error(r)
    assert raised == (ebadf,), raised
    assert u32(g.page, ERROR) == 0 and r.error == 0
    r.notify = kick
    g.pull()
    assert g.replies[-1][0] == W.READ and g.replies[-1][3] == b"v", g.replies
    # the store fails on a request, with EBADMSG even: not a bad index; the
    # request is consumed and the ring goes on
    def bad_handle(*a):
        raise OSError(ebadmsg)
    w.s.handle = bad_handle
    g.send(W.READ, b"k\x00")
    raised = service_error(r)
    assert raised == (ebadmsg,), raised
    assert u32(g.page, ERROR) == 0 and r.error == 0 and x.have == 0
    del w.s.handle
    assert g.read(b"k") == (W.READ, b"v")
    assert x.req_cons == u32(g.page, REQ_CONS) and x.rsp_prod == u32(g.page, RSP_PROD)


def guest_that_never_reads_replies_is_bounded():
    w = World()
    g = w.guest(10)
    other = w.guest(11)
    # fill requests without ever reading the response ring
    sent = 0
    for i in range(400):
        g.send(W.READ, b"/local/domain/10\x00")
        g.kick()
        sent += 1
    conn = g.conn
    assert conn.nreplies <= 21, conn.nreplies
    assert len(g.pending) > 0                  # the server stopped taking requests
    qbytes = conn.outbytes
    assert qbytes < 25 * 4200, qbytes
    # the other guest and dom0 are still served
    assert other.write(b"k", b"v")[0] == W.WRITE
    assert w.ok(w.d0, W.READ, b"/local/domain/11/k\x00") == b"v"
    # watch events to the stuck guest are bounded by its memory quota
    assert g.send(W.WATCH, b"/local/domain/10\x00t\x00")
    for i in range(3000):
        w.ok(w.d0, W.WRITE, b"/local/domain/10/e\x00" + b"x" * 100)
    assert w.s.domains[10].mem <= w.s.quota["memory"] + 4200
    # once it reads, it gets going again
    for i in range(200):
        g.pull(); g.push(); g.kick()
    g.pull()
    assert len(g.replies) >= 300, len(g.replies)


def kicks_for_requests_in_one_event(n):
    """A guest puts n READ requests in its ring and notifies once. Returns,
    for each kick the server gives in that one service call, [rsp_prod,
    req_cons] as the guest sees them then, and one request's and one
    reply's size."""
    w = World()
    g = w.guest(14)
    assert g.write(b"k", b"v")[0] == W.WRITE
    g.pull()
    base = [u32(g.page, RSP_PROD), u32(g.page, REQ_CONS)]
    seen = []
    g.server.notify = lambda: seen.append([u32(g.page, RSP_PROD) - base[0], u32(g.page, REQ_CONS) - base[1]])
    for _ in range(n):
        g.send(W.READ, b"k\x00")
    g.kick()
    return [seen, 16 + 2, 16 + 1]
