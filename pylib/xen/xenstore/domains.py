# xenstore domains: INTRODUCE, RELEASE, the domain paths, SET_TARGET,
# features, quotas (hard and soft) and the answers about existing domains.
#
# Owns: what the store knows of domains and their limits; the actions it
# leaves for the I/O layer (map a ring on INTRODUCE, let it go on RELEASE).
# Must not know: how a ring is mapped or a port bound (xen.dom0 does that).
try:
    from micropython import const   # names below become literals when compiled
except ImportError:
    def const(x):
        return x
from .node import Conn, QUOTA_DEFAULTS, XsError, _QNAMES, _args, _big, _onearg, _revoked, _uint

DOMID_LIMIT = const(0x7FF0)   # DOMID_FIRST_RESERVED
G = const(3)    # generation of the last change
P = const(1)    # perms: tuple of ints, (domid << 2) | mode; [0] = owner + default


class Domains:
    """Mixed into XenStore (store.py), whose state it uses."""

    def set_quota(self, name, value, domid=None):
        if name not in QUOTA_DEFAULTS:
            raise ValueError("unknown xenstore quota: %s" % name)
        value = int(value)
        if value < 0:
            raise ValueError("xenstore quota %s must be >= 0" % name)
        if domid is None:
            self.quota[name] = value
            if name == "path-max":
                self._pathmax = value
        else:
            d = self._domain(domid)
            if d.quota is None:
                d.quota = {}
            d.quota[name] = value

    def _soft(self, dom, mem):
        """A domain's memory goes over the soft quota: a warning only (the
        first and then every 1000th time per domain)."""
        n = dom.hits.get("memory-soft", 0) + 1
        dom.hits["memory-soft"] = n
        if n % 1000 == 1:
            self.log("xenstore: domain %d exceeds soft quota memory (%d > %d), %d times so far"
                     % (dom.domid, mem, self.soft["memory"], n))

    def exists(self, domid, tx=None):
        """Does the domain exist? dom0 and introduced domains do; for any
        other the I/O layer's domain_exists decides (the hypervisor's view,
        as cxenstored asks Xen); without one, no. A transaction asks once
        per domid (the builder's ACLs name the new domain a dozen times)."""
        if domid == 0:
            return True
        if domid >= DOMID_LIMIT:
            return False
        d = self.domains.get(domid)
        if d is not None and d.introduced:
            return True
        f = self.domain_exists
        if f is None:
            return False
        if tx is not None and tx.known is not None and domid in tx.known:
            return tx.known[domid]
        try:
            r = bool(f(domid))
        except OSError:
            raise XsError(b"EIO")       # could not ask: no guess either way
        if tx is not None:
            if tx.known is None:
                tx.known = {}
            tx.known[domid] = r
        return r

    def _need_priv(self, conn):
        if not conn.priv:
            raise XsError(b"EACCES")

    def _introduce(self, conn, tx, payload):
        self._need_priv(conn)
        a = _args(payload, 3)
        domid = _uint(a[0], DOMID_LIMIT - 1)
        gfn = _uint(a[1]) if len(a[1]) <= 10 else _big(a[1])
        port = _uint(a[2])
        if domid == 0:
            raise XsError(b"EINVAL")
        d = self._domain(domid)
        if d.introduced:
            if d.gfn == gfn and d.port == port:
                return None
            raise XsError(b"EEXIST")
        d.introduced = True
        d.gfn = gfn
        d.port = port
        d.conn = Conn(self, domid, False, "ring")
        self.actions.append(("introduce", domid, gfn, port))
        self._fire_special(b"@introduceDomain")
        return None

    def _release(self, conn, tx, payload):
        self._need_priv(conn)
        domid = _uint(_onearg(payload), DOMID_LIMIT - 1)
        if domid == 0:
            raise XsError(b"EINVAL")
        d = self.domains.get(domid)
        if d is None or not d.introduced:
            raise XsError(b"ENOENT")
        self.domain_gone(domid)
        return None

    def domain_gone(self, domid):
        """The domain died or was released: drop its connection, watches
        and transactions, delete the nodes it owns (XSA-419), revoke its
        rights in other ACLs (XSA-322), reset its accounting (XSA-483),
        then fire @releaseDomain. Safe to call twice."""
        d = self.domains.get(domid)
        if d is None or not d.introduced:
            return False
        d.introduced = False
        c = d.conn
        d.conn = None
        if c is not None:
            self.disconnect(c)
            if c.dirty:
                self.dirty.remove(c)
                c.dirty = False
        self.actions.append(("release", domid))
        # Other domains' targets pointing at it lose that.
        for o in self.domains.values():
            if o.target == domid:
                o.target = -1
        self._purge_domid(domid)
        self.domains.pop(domid, None)
        self._fire_special(b"@releaseDomain")
        return True

    def _purge_domid(self, domid):
        tree = self.tree
        doomed = []
        for d in self._sh:
            for path in d:
                if d[path][P][0] >> 2 == domid and path != b"/":
                    doomed.append(path)
        # Delete top-most first; descendants go with them.
        doomed.sort(key=len)
        for path in doomed:
            n = tree.get(path)
            if n is not None and n[P][0] >> 2 == domid:
                gone = self._delete(None, None, path, n)
                self._fire(path, n[P], gone)
        root = tree[b"/"]
        if root[P][0] >> 2 == domid:
            c0 = self._cost(b"/", root)
            self._charge(domid, -1, -c0)
            root = self._mut(b"/", root)
            root[P] = (0,) + root[P][1:]
            self._charge(0, 1, self._cost(b"/", root))
        # Revoke its entries in the ACLs that remain: they stay (GET_PERMS
        # shows them, as cxenstored's) but match no domid (_IGNORE), so a
        # domain that reuses the id gains nothing.
        for path in [q for d in self._sh for q in d if len(d[q][P]) > 1]:
            n = tree[path]
            perms = _revoked(n[P], domid)
            if perms is not None:
                n = self._mut(path, n)
                n[P] = self._shared(perms)
                n[G] = self._next_gen()
        for s in self.special:
            perms = _revoked(self.special[s], domid)
            if perms is not None:
                self.special[s] = perms

    def _is_introduced(self, conn, tx, payload):
        self._need_priv(conn)
        domid = _uint(_onearg(payload))
        d = self.domains.get(domid)
        return b"T\x00" if (d is not None and d.introduced) else b"F\x00"

    def _resume(self, conn, tx, payload):
        self._need_priv(conn)
        domid = _uint(_onearg(payload))
        d = self.domains.get(domid)
        if d is None or not d.introduced:
            raise XsError(b"ENOENT")
        return None

    def _set_target(self, conn, tx, payload):
        self._need_priv(conn)
        a = _args(payload, 2)
        domid = _uint(a[0], DOMID_LIMIT - 1)
        target = _uint(a[1], DOMID_LIMIT - 1)
        d = self.domains.get(domid)
        if d is None or not d.introduced:
            raise XsError(b"ENOENT")
        d.target = target
        return None

    def _get_domain_path(self, conn, tx, payload):
        domid = _uint(_onearg(payload))
        return b"/local/domain/%d\x00" % domid

    def _control(self, conn, tx, payload):
        self._need_priv(conn)
        from .control import control     # loaded on first use
        return control(self, conn, payload)

    def _get_feature(self, conn, tx, payload):
        self._need_priv(conn)
        domid = _uint(_onearg(payload))
        d = self.domains.get(domid)
        if d is None or not d.introduced:
            raise XsError(b"ENOENT")
        return b"%d\x00" % d.features

    def _set_feature(self, conn, tx, payload):
        self._need_priv(conn)
        a = _args(payload, 2)
        domid = _uint(a[0])
        d = self.domains.get(domid)
        if d is None or not d.introduced:
            raise XsError(b"ENOENT")
        d.features = _uint(a[1])
        return None

    def _get_quota(self, conn, tx, payload):
        self._need_priv(conn)
        if not payload or payload == b"\x00":
            return b"".join(k.encode() + b"\x00" for k in sorted(QUOTA_DEFAULTS))
        a = payload[:-1].split(b"\x00") if payload[-1] == 0 else None
        if a is None or len(a) > 2:
            raise XsError(b"EINVAL")
        name = _QNAMES.get(a[-1])
        if name is None:
            raise XsError(b"EINVAL")
        if len(a) == 2:
            d = self.domains.get(_uint(a[0]))
            if d is None:
                raise XsError(b"ENOENT")
            return b"%d\x00" % self.limit(d, name)
        return b"%d\x00" % self.quota[name]

    def _set_quota(self, conn, tx, payload):
        self._need_priv(conn)
        if not payload or payload[-1] != 0:
            raise XsError(b"EINVAL")
        a = payload[:-1].split(b"\x00")
        if len(a) not in (2, 3):
            raise XsError(b"EINVAL")
        name = _QNAMES.get(a[-2])
        if name is None:
            raise XsError(b"EINVAL")
        val = _uint(a[-1])
        if len(a) == 3:
            domid = _uint(a[0], DOMID_LIMIT - 1)
            if domid not in self.domains:
                raise XsError(b"ENOENT")
            self.set_quota(name, val, domid)
        else:
            self.set_quota(name, val)
        return None
