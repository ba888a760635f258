# tests/xenstore/test_xsa.py's firmware side: one scenario per Xen security
# advisory, each a sequence of requests against the core (dom0 and guests on
# in-memory rings, mp/xstest.py) asserted as it goes, ending with the core's
# own consistency check.
import errno
from mptest import fails
from xstest import World, gev, logs, W
from xsguest import p32, REQ_PROD


def xsa115_events_only_to_readers_special_watches_privileged():
    w = World()
    a = w.guest(1)
    b = w.guest(2)
    assert b.call(W.WATCH, b"/local/domain/1/secret\x00t\x00")[0] == W.WATCH
    assert b.call(W.WATCH, b"@introduceDomain\x00i\x00")[0] == W.WATCH
    gev(b)
    assert a.write(b"secret", b"s")[0] == W.WRITE
    w.guest(3)
    assert gev(b) == []          # no event for an unreadable node, none for @introduceDomain
    assert a.call(W.SET_PERMS, b"secret\x00n1\x00r2\x00")[0] == W.SET_PERMS
    assert gev(b) == [b"/local/domain/1/secret\x00t\x00"]
    w.s.check()


def xsa206_write_storm_does_not_starve_others():
    w = World()
    a = w.guest(1)
    b = w.guest(2)
    for i in range(200):
        a.send(W.WRITE, b"storm\x00" + b"x" * 10)
    b.send(W.WRITE, b"mine\x00v")
    # one round-robin pass over both rings: b gets served within it
    a.server.service()
    assert a.server.busy
    b.server.service()
    b.pull()
    assert [r for r in b.replies if r[0] == W.WRITE], b.replies
    w.s.check()


def xsa233_425_release_twice_no_double_free():
    w = World()
    g = w.guest(4)
    g.call(W.WATCH, b"x\x00t\x00")
    assert w.release(4)[0] == W.RELEASE
    assert w.err(w.d0, W.RELEASE, b"4\x00") == b"ENOENT"
    assert w.s.domain_gone(4) is False
    w.s.disconnect(g.conn)
    w.s.disconnect(g.conn)
    assert w.s.nwatches == 0
    w.s.check()


def xsa272_quota_accounting_updated():
    w = World({"nodes": 10})
    g = w.guest(5)
    for rnd in range(5):
        for i in range(9):
            assert g.write(b"n%d" % i, b"v")[0] == W.WRITE, (rnd, i)
        assert g.write(b"n9", b"v") == (W.ERROR, b"ENOSPC\x00")
        for i in range(9):
            assert g.call(W.RM, b"n%d\x00" % i)[0] == W.RM
        assert w.s.domains[5].nodes == 1
    w.s.check()


def xsa322_dead_domid_rights_revoked():
    w = World()
    g = w.guest(6)
    w.ok(w.d0, W.WRITE, b"/shared\x00data")
    w.ok(w.d0, W.SET_PERMS, b"/shared\x00n0\x00r6\x00")
    assert g.read(b"/shared") == (W.READ, b"data")
    w.release(6)
    # the entry stays, as on cxenstored, but grants nothing any more
    assert w.ok(w.d0, W.GET_PERMS, b"/shared\x00") == b"n0\x00r6\x00"
    g2 = w.guest(6)           # the domid is reused
    assert g2.read(b"/shared") == (W.ERROR, b"EACCES\x00")
    w.ok(w.d0, W.WRITE, b"/shared/new\x00x")        # a child inherits the dead entry
    assert g2.read(b"/shared/new") == (W.ERROR, b"EACCES\x00")
    w.s.check()


def xsa322_owner_must_exist_so_a_later_domid_owns_nothing():
    w = World()
    w.ok(w.d0, W.WRITE, b"/cfg\x00secret")
    w.ok(w.d0, W.SET_PERMS, b"/cfg\x00n0\x00")
    assert w.err(w.d0, W.SET_PERMS, b"/cfg\x00n9\x00") == b"ENOENT"
    assert w.err(w.d0, W.SET_PERMS, b"/cfg\x00b9\x00r0\x00") == b"ENOENT"
    assert w.err(w.d0, W.SET_PERMS, b"/nothere\x00n9\x00") == b"ENOENT"
    assert w.err(w.d0, W.SET_PERMS, b"bad path\x00n9\x00") == b"ENOENT"   # owner first
    assert w.err(w.d0, W.SET_PERMS, b"@releaseDomain\x00n9\x00") == b"ENOENT"
    t, tx = w.call(w.d0, W.TRANSACTION_START, b"\x00")
    assert w.err(w.d0, W.SET_PERMS, b"/cfg\x00n9\x00", int(tx[:-1])) == b"ENOENT"
    w.ok(w.d0, W.TRANSACTION_END, b"T\x00", int(tx[:-1]))
    assert w.ok(w.d0, W.GET_PERMS, b"/cfg\x00") == b"n0\x00"
    assert w.s.domains[0].nodes == len(w.s.tree)
    g = w.guest(9)              # domain 9 appears later
    assert g.read(b"/cfg") == (W.ERROR, b"EACCES\x00")
    assert g.write(b"/cfg", b"mine") == (W.ERROR, b"EACCES\x00")
    assert g.call(W.SET_PERMS, b"/cfg\x00n9\x00") == (W.ERROR, b"EACCES\x00")
    assert w.ok(w.d0, W.READ, b"/cfg\x00") == b"secret"
    # once it exists, dom0 may hand it the node; other entries: any domid
    w.ok(w.d0, W.SET_PERMS, b"/cfg\x00n9\x00r12\x00")
    assert g.read(b"/cfg") == (W.READ, b"secret")
    w.s.check()


def xsa322_entries_naming_absent_domains_grant_nothing_later():
    w = World()
    w.ok(w.d0, W.WRITE, b"/acl\x00data")
    w.ok(w.d0, W.SET_PERMS, b"/acl\x00n0\x00r8\x00w70000\x00")
    assert w.ok(w.d0, W.GET_PERMS, b"/acl\x00") == b"n0\x00r8\x00w70000\x00"
    w.ok(w.d0, W.WRITE, b"/acl/child\x00c")          # inherits the ACL as it is
    w.ok(w.d0, W.SET_PERMS, b"@releaseDomain\x00n0\x00r8\x00")
    g = w.guest(8)
    assert g.read(b"/acl") == (W.ERROR, b"EACCES\x00")
    assert g.read(b"/acl/child") == (W.ERROR, b"EACCES\x00")
    assert g.call(W.WATCH, b"@releaseDomain\x00r\x00")[0] == W.WATCH
    gev(g)
    w.guest(9)
    w.release(9)
    assert gev(g) == []                 # the entry gives no right to the event
    assert w.ok(w.d0, W.GET_PERMS, b"/acl\x00") == b"n0\x00r8\x00w70000\x00"
    w.ok(w.d0, W.SET_PERMS, b"/acl\x00n0\x00r8\x00")   # 8 exists now
    assert g.read(b"/acl") == (W.READ, b"data")
    w.ok(w.d0, W.SET_PERMS, b"@releaseDomain\x00n0\x00r8\x00")
    w.guest(10)
    w.release(10)
    assert gev(g) == [b"@releaseDomain\x00r\x00"]
    w.s.check()


def xsa322_owner_existence_asked_of_the_hypervisor(domid):
    """The in-process server through the client API: an owner the sim does
    not know is refused, then accepted once the domain exists."""
    import _xen
    from xen import xenstore
    xenstore.write("/vm/later", "v")
    out = [fails(xenstore.set_perms, "/vm/later", ["n%d" % domid]),
           xenstore.get_perms("/vm/later"),
           _xen.createdomain(domid, max_vcpus=1),
           xenstore.get_perms("/vm/later")]
    xenstore.set_perms("/vm/later", ["n%d" % domid, "r5"])
    out.append(xenstore.get_perms("/vm/later"))
    _xen.destroydomain(domid)
    return out


def xsa322_domain_exists_hook_answers_or_fails_the_request():
    asked = []
    def exists(d):
        asked.append(d)
        if d == 7:
            return True
        if d == 8:
            raise OSError(errno.EIO)
        return False
    w = World()
    w.s.domain_exists = exists
    w.ok(w.d0, W.WRITE, b"/h\x00v")
    w.ok(w.d0, W.SET_PERMS, b"/h\x00n7\x00")
    assert w.err(w.d0, W.SET_PERMS, b"/h\x00n8\x00") == b"EIO"
    assert w.err(w.d0, W.SET_PERMS, b"/h\x00n0\x00r8\x00") == b"EIO"
    assert w.err(w.d0, W.SET_PERMS, b"/h\x00n9\x00") == b"ENOENT"
    assert w.ok(w.d0, W.GET_PERMS, b"/h\x00") == b"n7\x00"
    assert asked == [7, 8, 8, 9], asked
    # a transaction asks once per domid (a build names its domain many times)
    del asked[:]
    t, tx = w.call(w.d0, W.TRANSACTION_START, b"\x00")
    tx = int(tx[:-1])
    for i in range(5):
        w.ok(w.d0, W.WRITE, b"/h/%d\x00" % i, tx)
        w.ok(w.d0, W.SET_PERMS, b"/h/%d\x00n7\x00r9\x00" % i, tx)
    w.ok(w.d0, W.TRANSACTION_END, b"T\x00", tx)
    assert asked == [7, 9], asked
    assert w.ok(w.d0, W.GET_PERMS, b"/h/4\x00") == b"n7\x00r9\x00"
    g = w.guest(7)      # introduced: the store knows, nothing asked
    w.ok(w.d0, W.SET_PERMS, b"/h\x00n0\x00r7\x00")
    assert asked == [7, 9] and g.read(b"/h") == (W.READ, b"v")
    w.s.check()


def xsa323_relative_path_length_checked_after_expansion():
    w = World()
    g = w.guest(7)
    ok = b"/".join([b"x" * 99] * 20) + b"/" + b"y" * 48
    assert len(ok) == 2048
    assert g.write(ok, b"1")[0] == W.WRITE
    assert g.write(ok + b"b", b"1") == (W.ERROR, b"EINVAL\x00")
    assert w.err(w.d0, W.WRITE, b"/" + b"c" * 2048 + b"\x00") == b"EINVAL"
    w.ok(w.d0, W.WRITE, b"/" + b"c" * 2047 + b"\x00")
    w.s.check()


def xsa324_oversized_events_dropped():
    w = World()
    w.ok(w.d0, W.WATCH, b"/ev\x00" + b"T" * 3000 + b"\x00")
    w.ok(w.d0, W.WATCH, b"/ev\x00small\x00")
    w.events(w.d0)
    w.ok(w.d0, W.WRITE, b"/ev/" + b"p" * 1200 + b"\x00")
    ev = w.events(w.d0)
    assert len(ev) == 1 and ev[0].endswith(b"small\x00"), ev
    assert w.err(w.d0, W.SET_PERMS, b"/nonexistent\x00n0\x00") == b"ENOENT"
    w.s.check()


def xsa325_no_early_release_event_on_bad_connection():
    w = World()
    w.ok(w.d0, W.WATCH, b"@releaseDomain\x00r\x00")
    w.events(w.d0)
    g = w.guest(8)
    p32(g.page, REQ_PROD, 99999)     # a producer index past the ring
    assert g.server.service() is False
    assert w.events(w.d0) == []
    assert w.release(8)[0] == W.RELEASE
    assert w.events(w.d0) == [b"@releaseDomain\x00r\x00"]
    w.s.check()


def xsa326_per_domain_memory_accounting():
    w = World({"memory": 60000})
    g = w.guest(9)
    t = None
    for i in range(100):
        t, b = g.write(b"m%d" % i, b"x" * 1000)
        if t == W.ERROR:
            assert b == b"ENOMEM\x00"
            break
    assert t == W.ERROR and i < 60
    assert any("hit quota memory" in l for l in logs)
    # queued events count too: a watcher that never reads loses events, bounded
    g.send(W.WATCH, b"/local/domain/9\x00t\x00"); g.kick()
    for i in range(2000):
        w.ok(w.d0, W.WRITE, b"/local/domain/9/m0\x00v")
    assert w.s.domains[9].mem <= 60000 + 4200
    assert w.s.domains[9].dropped > 0
    w.s.check()


def xsa330_reset_watches_frees():
    w = World()
    g = w.guest(10)
    for i in range(50):
        assert g.call(W.WATCH, b"p%d\x00t\x00" % i)[0] == W.WATCH
    g.call(W.TRANSACTION_START, b"\x00")
    assert w.s.nwatches == 50
    mem = w.s.domains[10].mem
    assert g.call(W.RESET_WATCHES, b"") == (W.RESET_WATCHES, b"OK\x00")
    assert w.s.nwatches == 0 and not w.s.watches and w.s.domains[10].watches == 0
    assert w.s.domains[10].trans == 0 and w.s.ntx == 0
    assert w.s.domains[10].mem < mem
    w.s.check()


def xsa352_only_privileged_change_owner():
    w = World()
    g = w.guest(11)
    g.write(b"n", b"1")
    assert g.call(W.SET_PERMS, b"n\x00n0\x00") == (W.ERROR, b"EPERM\x00")
    assert g.call(W.SET_PERMS, b"n\x00b11\x00r0\x00")[0] == W.SET_PERMS
    w.ok(w.d0, W.SET_PERMS, b"/local/domain/11/n\x00n0\x00")
    assert w.ok(w.d0, W.GET_PERMS, b"/local/domain/11/n\x00") == b"n0\x00"
    w.s.check()


def xsa353_root_node_checked_too():
    w = World()
    g = w.guest(12)
    assert g.call(W.SET_PERMS, b"/\x00n12\x00") == (W.ERROR, b"EACCES\x00")
    assert g.call(W.RM, b"/\x00") == (W.ERROR, b"EINVAL\x00")
    w.ok(w.d0, W.SET_PERMS, b"/\x00n0\x00w12\x00")
    assert g.call(W.SET_PERMS, b"/\x00n12\x00") == (W.ERROR, b"EPERM\x00")
    w.ok(w.d0, W.SET_PERMS, b"/\x00n0\x00")
    w.s.check()


def xsa414_415_failed_creation_undone():
    w = World({"nodes": 4})
    g = w.guest(13)
    assert g.write(b"a", b"1")[0] == W.WRITE           # 2 of 4
    n0 = len(w.s.tree)
    assert g.write(b"b/c/d", b"1") == (W.ERROR, b"ENOSPC\x00")
    assert len(w.s.tree) == n0 and g.read(b"b") == (W.ERROR, b"ENOENT\x00")
    assert w.s.domains[13].nodes == 2
    t, tx = g.call(W.TRANSACTION_START, b"\x00")
    tx = int(tx[:-1])
    assert g.write(b"x/y/z", b"1", tx) == (W.ERROR, b"ENOSPC\x00")
    assert g.call(W.TRANSACTION_END, b"T\x00", tx)[0] == W.TRANSACTION_END
    assert len(w.s.tree) == n0 and w.s.domains[13].nodes == 2
    w.s.check()


def xsa416_no_memory_kept_after_replies_read():
    w = World()
    g = w.guest(14)
    base = w.s.domains[14].mem
    for i in range(100):
        assert g.read(b"/local/domain/14")[0] == W.READ
    assert g.conn.outbytes == 0 and not g.conn.out and g.conn.nreplies == 0
    assert w.s.domains[14].mem == base
    w.s.check()


def xsa417_reused_domid_starts_clean():
    w = World()
    g = w.guest(15)
    g.write(b"a", b"1")
    g.call(W.WATCH, b"a\x00t\x00")
    g.call(W.TRANSACTION_START, b"\x00")
    w.ok(w.d0, W.SET_TARGET, b"15\x003\x00")
    w.release(15)
    g2 = w.guest(15, home=False)
    d = w.s.domains[15]
    assert d.nodes == 0 and d.watches == 0 and d.trans == 0 and d.target == -1
    assert not g2.conn.watches and not g2.conn.trans
    assert w.err(w.d0, W.READ, b"/local/domain/15\x00") == b"ENOENT"
    w.s.check()


def xsa418_deep_and_wide_trees_no_recursion():
    w = World()
    deep = b"/d" + b"/x" * 300
    w.ok(w.d0, W.WRITE, deep + b"\x00v")
    for i in range(1000):
        w.ok(w.d0, W.MKDIR, b"/wide/%d\x00" % i)
    w.ok(w.d0, W.WATCH, deep + b"\x00deep\x00")
    w.events(w.d0)
    w.ok(w.d0, W.RM, b"/d\x00")
    assert w.events(w.d0) == [deep + b"\x00deep\x00"]
    t, tx = w.call(w.d0, W.TRANSACTION_START, b"\x00")
    tx = int(tx[:-1])
    w.ok(w.d0, W.RM, b"/wide\x00", tx)
    w.ok(w.d0, W.TRANSACTION_END, b"T\x00", tx)
    assert len(w.s.tree) < 10
    w.s.check()


def xsa419_nodes_of_destroyed_domain_deleted():
    w = World()
    g = w.guest(16)      # before its ACL entry: an absent domain's entry grants nothing
    w.ok(w.d0, W.MKDIR, b"/local/domain/0/backend\x00")
    w.ok(w.d0, W.SET_PERMS, b"/local/domain/0/backend\x00n0\x00w16\x00")
    assert g.write(b"/local/domain/0/backend/x/y", b"1")[0] == W.WRITE
    assert g.write(b"mine", b"1")[0] == W.WRITE
    w.release(16)
    assert w.err(w.d0, W.READ, b"/local/domain/0/backend/x\x00") == b"ENOENT"
    assert w.err(w.d0, W.READ, b"/local/domain/16\x00") == b"ENOENT"
    assert 16 not in w.s.domains
    w.s.check()


def xsa421_transactions_cannot_create_unbounded_nodes():
    w = World({"nodes": 50, "transaction-nodes": 20, "transactions": 4})
    g = w.guest(17)
    txs = []
    for k in range(3):
        t, tx = g.call(W.TRANSACTION_START, b"\x00")
        txs.append(int(tx[:-1]))
    for k in range(3):
        made = 0
        for i in range(30):
            t, b = g.write(b"t%d/n%d" % (k, i), b"v", txs[k])
            if t == W.ERROR:
                assert b == b"ENOSPC\x00"
                break
            made += 1
        assert made < 20
    for tx in txs:
        g.call(W.TRANSACTION_END, b"T\x00", tx)
    assert w.s.domains[17].nodes <= 50
    w.s.check()


def xsa440_conflicting_transactions_accounting_not_negative():
    w = World()
    g = w.guest(18)
    for i in range(5):
        g.write(b"n%d" % i, b"v")
    txs = []
    for k in range(2):
        t, tx = g.call(W.TRANSACTION_START, b"\x00")
        txs.append(int(tx[:-1]))
        assert g.call(W.RM, b"n0\x00", txs[-1])[0] == W.RM
        assert g.call(W.RM, b"n1\x00", txs[-1])[0] == W.RM
    r1 = g.call(W.TRANSACTION_END, b"T\x00", txs[0])
    r2 = g.call(W.TRANSACTION_END, b"T\x00", txs[1])
    assert r1[0] == W.TRANSACTION_END and r2 == (W.ERROR, b"EAGAIN\x00"), (r1, r2)
    assert w.s.domains[18].nodes == 4
    w.s.check()


def xsa481_domain_prefix_canonicalised_safely():
    w = World()
    for p in (b"/local/domain/123456/" + b"a" * 2040, b"/local/domain/" + b"a" * 2040,
              b"/local/domain//x", b"/local/domain/5/", b"/local/domain/5//x"):
        t, b = w.call(w.d0, W.WRITE, p + b"\x00v")
        assert t == W.ERROR and b == b"EINVAL\x00", (p[:30], b)
    w.ok(w.d0, W.WRITE, b"/local/domain/12345/" + b"a" * 2048 + b"\x00v")
    # the prefix is only a domain's when it is digits: a name is counted whole
    t, b = w.call(w.d0, W.WRITE, b"/local/domain/-1/" + b"a" * 2040 + b"\x00v")
    assert b == b"EINVAL\x00"
    w.s.check()


def xsa483_quota_usage_reset_at_teardown():
    w = World()
    g = w.guest(19)
    for i in range(20):
        g.write(b"n%d" % i, b"v" * 100)
    assert w.s.domains[19].nodes == 21 and w.s.domains[19].mem > 2000
    w.release(19)
    w.guest(19, home=False)
    d = w.s.domains[19]
    assert d.nodes == 0 and d.mem == 0 and d.watches == 0, (d.nodes, d.mem)
    w.s.check()


def xsa484_reset_watches_in_transaction_and_idempotent_cleanup():
    w = World()
    g = w.guest(20)
    t, tx = g.call(W.TRANSACTION_START, b"\x00")
    tx = int(tx[:-1])
    g.call(W.WATCH, b"a\x00t\x00")
    assert g.call(W.RESET_WATCHES, b"", tx)[0] == W.RESET_WATCHES
    assert g.call(W.TRANSACTION_END, b"T\x00", tx) == (W.ERROR, b"ENOENT\x00")
    w.s.reset_conn(g.conn)
    w.s.reset_conn(g.conn)
    w.release(20)
    w.s.disconnect(g.conn)
    assert w.s.ntx == 0 and w.s.nwatches == 0
    w.s.check()
