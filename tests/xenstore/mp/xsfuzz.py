# Fuzz the xenstore core: random and mutated messages from dom0 and three
# guests. Checks: no exception escapes the core, every request gets one
# reply with its req_id, memory stays bounded, the tree and accounting stay
# consistent, and no guest ever sees another guest's secret.
import gc
import random
import struct
from xen.xenstore import store as S, wire as W

TYPES = list(range(0, 28)) + [0xFFFF, 99]
NAMES = [b"a", b"b", b"c", b"dev", b"vif", b"0", b"1", b"x-y", b"_q", b"@w", b"hidden",
         b"local", b"domain", b"2"]
VALUES = [b"", b"v", b"1", b"\x00\x01", b"z" * 300, b"y" * 2100]
PERMS = [b"n0", b"r1", b"w2", b"b3", b"n1", b"r0", b"x9", b"r", b"b99999", b"n2"]
CONTROL_WORDS = [b"help", b"check", b"log", b"quota", b"quota-soft", b"memreport", b"print",
                 b"live-update", b"on", b"off", b"set", b"nodes", b"watches", b"memory",
                 b"0", b"1", b"3", b"50", b"logfile", b"x"]     # the first 8: commands


def rnd_path(r, domid):
    n = r.getrandbits(2) + 1
    parts = [NAMES[r.getrandbits(4) % len(NAMES)] for _ in range(n)]
    k = r.getrandbits(3)
    if k == 0:
        return b"/" + b"/".join(parts)
    if k == 1:
        d = r.getrandbits(2) if domid else 0    # dom0 keeps off the guests' homes
        if r.getrandbits(1):
            return b"/local/domain/%d/hidden" % d
        return b"/local/domain/%d/" % d + b"/".join(parts)
    if k == 2:
        return b"@introduceDomain" if r.getrandbits(1) else b"@releaseDomain"
    return b"/".join(parts)


def payload_for(r, typ, domid):
    p = rnd_path(r, domid)
    if typ == W.WRITE:
        return p + b"\x00" + VALUES[r.getrandbits(3) % len(VALUES)]
    if typ in (W.WATCH, W.UNWATCH):
        return p + b"\x00" + b"tok%d" % r.getrandbits(2) + b"\x00"
    if typ == W.SET_PERMS:
        k = r.getrandbits(2) + 1
        return p + b"\x00" + b"".join(PERMS[r.getrandbits(4) % len(PERMS)] + b"\x00" for _ in range(k))
    if typ == W.TRANSACTION_END:
        return b"T\x00" if r.getrandbits(1) else b"F\x00"
    if typ == W.TRANSACTION_START:
        return b"\x00"
    if typ in (W.INTRODUCE,):
        return b"%d\x00%d\x00%d\x00" % (r.getrandbits(2) + 1, r.getrandbits(8), r.getrandbits(4))
    if typ in (W.RELEASE, W.GET_DOMAIN_PATH, W.IS_DOMAIN_INTRODUCED, W.RESUME,
               W.GET_FEATURE):
        return b"%d\x00" % r.getrandbits(3)
    if typ == W.SET_TARGET:
        return b"%d\x00%d\x00" % (r.getrandbits(2), r.getrandbits(2))
    if typ == W.DIRECTORY_PART:
        return p + b"\x00%d\x00" % r.getrandbits(6)
    if typ == W.CONTROL:        # a command of xenstore-control's, then any of its words
        cmd = CONTROL_WORDS[r.getrandbits(3)]
        return cmd + b"\x00" + b"".join(CONTROL_WORDS[r.getrandbits(5) % len(CONTROL_WORDS)] + b"\x00"
                                        for _ in range(r.getrandbits(2)))
    if typ in (W.GET_QUOTA, W.SET_QUOTA):
        return b"nodes\x00" + (b"%d\x00" % (r.getrandbits(4) + 5) if typ == W.SET_QUOTA else b"")
    return p + b"\x00"


def mutate(r, b):
    b = bytearray(b)
    k = r.getrandbits(2)
    if k == 0 and b:
        b[r.getrandbits(12) % len(b)] ^= 1 << r.getrandbits(3)
    elif k == 1 and b:
        b = b[:r.getrandbits(12) % len(b)]
    elif k == 2:
        b.extend(bytes(r.getrandbits(8) for _ in range(r.getrandbits(4))))
    else:
        b = bytearray(r.getrandbits(8) for _ in range(r.getrandbits(5)))
    return bytes(b)


def run(n, seed):
    r = random
    r.seed(seed)
    logs = [0]

    def log(msg):
        logs[0] += 1
    s = S.XenStore({"nodes": 200, "watches": 16, "transactions": 4,
                    "memory": 200000}, log=log)
    d0 = s.connect(0, "socket")
    secrets = {}

    def call(conn, typ, rid, tx, payload):
        s.handle(conn, typ, rid, tx, payload)
        nrep = 0
        for pkt in conn.take_all():
            t, rr, x, ln = struct.unpack_from("<IIII", pkt, 0)
            if t != W.WATCH_EVENT:
                assert rr == rid, (rr, rid)
                nrep += 1
            if conn is not d0:
                for dom in secrets:
                    if dom != conn.domid and secrets[dom] in pkt:
                        raise AssertionError("domain %d saw the secret of %d" % (conn.domid, dom))
        return nrep

    def ensure_guest(domid):
        d = s.domains.get(domid)
        if d is None or not d.introduced:
            s.handle(d0, W.INTRODUCE, 1, 0, b"%d\x00%d\x00%d\x00" % (domid, 1, 1))
            d0.take_all()
        home = b"/local/domain/%d" % domid
        secret = b"SECRET-%d-%d" % (domid, seed)
        secrets[domid] = secret
        for typ, pl in ((W.MKDIR, home + b"\x00"), (W.SET_PERMS, home + b"\x00n%d\x00" % domid),
                        (W.WRITE, home + b"/hidden\x00" + secret),
                        (W.SET_PERMS, home + b"/hidden\x00n%d\x00" % domid)):
            s.handle(d0, typ, 1, 0, pl)
        d0.take_all()
        return s.domains[domid].conn

    guests = {}
    for g in (1, 2, 3):
        guests[g] = ensure_guest(g)
    gc.collect()
    base = gc.mem_alloc()
    peak = 0
    for i in range(n):
        who = r.getrandbits(2)
        if who == 0:
            conn = d0
        else:
            conn = s.domains.get(who).conn if s.domains.get(who) is not None and s.domains[who].introduced else None
            if conn is None:
                conn = guests[who] = ensure_guest(who)
        typ = TYPES[r.getrandbits(5) % len(TYPES)]
        if conn is d0 and typ in (W.INTRODUCE, W.RELEASE, W.SET_PERMS, W.SET_TARGET):
            # dom0 may legitimately expose or delete a guest's nodes:
            # keep its privileged ops off the secrets, but do exercise them.
            if typ == W.RELEASE and r.getrandbits(4) == 0:
                g = r.getrandbits(2) % 3 + 1
                s.handle(d0, W.RELEASE, 5, 0, b"%d\x00" % g)
                d0.take_all()
                secrets.pop(g, None)
                guests[g] = ensure_guest(g)
                continue
            typ = W.READ
        pl = payload_for(r, typ, conn.domid)
        if r.getrandbits(2) == 0:
            pl = mutate(r, pl)
            if conn is d0 and b"/local/domain/" in pl and b"/local/domain/0" not in pl:
                continue
        if conn is not d0 and typ == W.SET_PERMS and b"hidden" in pl:
            # the owner may share its own secret: that is no leak
            typ = W.READ
            pl = pl.split(b"\x00")[0] + b"\x00"
        tx = 0
        if conn.trans and r.getrandbits(1):
            tx = list(conn.trans)[0]
        elif r.getrandbits(5) == 0:
            tx = r.getrandbits(8)
        if typ == W.RESET_WATCHES and r.getrandbits(1):
            pl = b""
        nrep = call(conn, typ, i & 0xFFFF, tx, pl)
        assert nrep == 1, (typ, pl, nrep)
        if i % 5000 == 4999:
            s.check()
            gc.collect()
            m = gc.mem_alloc() - base
            if m > peak:
                peak = m
            assert m < 1500000, m
    s.check()
    # each secret node, if its owner kept it, is still private to it
    for g in secrets:
        s.handle(d0, W.GET_PERMS, 1, 0, b"/local/domain/%d/hidden\x00" % g)
        rep = d0.take_all()[-1]
        if rep[0] != W.ERROR:
            assert rep[16:] == b"n%d\x00" % g, rep
    return {"messages": n, "peak_bytes": peak, "nodes": len(s.tree),
            "quota_hits": s.counts, "log_lines": logs[0]}
