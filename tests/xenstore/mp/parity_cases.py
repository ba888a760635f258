# tests/xenstore/test_parity.py's firmware side: CONTROL in the core (only
# dom0 may use it; the soft quota warns once; log and check), asserted as it
# goes.
from xstest import World, logs, W


def control_in_the_core_privileged_only_and_soft_quota_warns():
    w = World()
    g = w.guest(3)
    assert g.call(W.CONTROL, b"help\x00") == (W.ERROR, b"EACCES\x00")
    assert g.call(W.CONTROL, b"quota-soft\x00set\x00memory\x001\x00") == (W.ERROR, b"EACCES\x00")
    w.ok(w.d0, W.CONTROL, b"quota-soft\x00set\x00memory\x003000\x00")
    assert w.s.soft["memory"] == 3000
    del logs[:]
    for i in range(20):
        assert g.write(b"n%d" % i, b"x" * 100)[0] == W.WRITE
    warn = [l for l in logs if "exceeds soft quota memory" in l]
    assert len(warn) == 1 and "domain 3" in warn[0], logs
    assert w.ok(w.d0, W.CONTROL, b"quota\x003\x00").startswith(b"Domain 3:\nnodes           :       21\n")
    # log on traces guests' requests too; off restores the class's handle
    w.ok(w.d0, W.CONTROL, b"log\x00on\x00")
    assert g.read(b"n1") == (W.READ, b"x" * 100)
    w.ok(w.d0, W.CONTROL, b"log\x00off\x00")
    assert [l for l in logs if "IN  dom3/ring" in l and "READ" in l], logs
    assert "handle" not in w.s.__dict__
    w.s.check()
    # check: OK on a sound store; a broken one is an error with the cause logged
    assert w.ok(w.d0, W.CONTROL, b"check\x00") == b"OK\x00"
    w.s.domains[3].nodes += 1
    assert w.err(w.d0, W.CONTROL, b"check\x00") == b"EIO"
    assert [l for l in logs if "check: domain 3 owns" in l], logs
    w.s.domains[3].nodes -= 1
