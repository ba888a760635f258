# The xenstore core: node tree, permissions, transactions, watches, quotas
# and per-domain accounting. Sans-IO: it is driven with (connection, message)
# and leaves replies and watch events in the connections' output queues.
# Actions that need the hypervisor (map a ring, bind a port, unmap) are left
# in XenStore.actions for the I/O layer. No I/O, no hypervisor calls; the
# byte helpers come from wire (C from _xen when the firmware has it, their
# pure-Python twins otherwise).
#
# The core: the tree with its permissions and the request path (READ,
# WRITE, MKDIR, RM, DIRECTORY, GET/SET_PERMS), which stays here whole, hot
# and inlined. Watches, transactions and domains are mixins (watches.py,
# transactions.py, domains.py); the data model is node.py.
#
# Repeated on purpose (a call per request costs more than the lines): the
# argument check and _canon()'s common case at the top of _read, _write and
# _rm (the duplicates tool pairs these), _queue() in handle, _changed() in
# _write.
from . import wire
try:
    from micropython import const   # names below become literals when compiled
except ImportError:
    def const(x):
        return x
from .node import Conn, Domain, INITIAL, QUOTA_DEFAULTS, SOFT_DEFAULTS, SPECIAL, Tree, XsError, _OK, _TXOPS, _args, _blob, _clen, _has_child, _log, _names, _onearg, _packet, _parse, _path_ok, _tail, _uint, _with_child, _without_child, perms_from_strings, perms_to_wire
from .watches import Watches
from .transactions import Transactions
from .domains import Domains

C = const(2)    # children: names as on the wire (node.py)
G = const(3)    # generation of the last change
P = const(1)    # perms: tuple of ints, (domid << 2) | mode; [0] = owner + default
PERM_READ = const(1)
PERM_WRITE = const(2)
V = const(0)    # value (bytes)
_CHUNK = const(256)
_IGNORE = const(1 << 34)        # above (domid << 2) | mode for any u32 domid
_PMAX = const(4096)     # wire.PAYLOAD_MAX


class XenStore(Watches, Transactions, Domains):
    """The core. Its only ways out are callables the I/O layer passes in:
    log(text) for messages; domain_exists(domid) -> bool, asked (as
    cxenstored asks Xen) whether a domain the store has not been introduced
    to exists (without it only dom0 and introduced domains exist; an
    OSError from it fails the request with EIO); and
    write_file(path, text), used by CONTROL memreport FILE (without it that
    form is refused)."""

    def __init__(self, quotas=None, log=None, domain_exists=None, write_file=None):
        self.quota = dict(QUOTA_DEFAULTS)
        self.soft = dict(SOFT_DEFAULTS)
        self.domain_exists = domain_exists
        self.write_file = write_file
        self._pathmax = self.quota["path-max"]
        if quotas:
            for k in quotas:
                self.set_quota(k, quotas[k])
        self.log = log or _log
        self.gen = 0
        self.ntx = 0            # open transactions, all connections
        self.domains = {}
        self.watches = {}       # abs path -> list of (conn, token, given path)
        self.nwatches = 0
        self.actions = []       # ("introduce", domid, gfn, port) / ("release", domid)
        self.dirty = []         # conns that got output since the last drain
        self.special = {}
        for s in SPECIAL:
            self.special[s] = (0,)      # n0: dom0 only
        self.tree = Tree()
        self._sh = self.tree.sh
        self._acls = {}         # perms tuple -> the shared copy (see _shared)
        # The tree cxenstored starts with: /tool/xenstored, owned by dom0.
        for path, ch in INITIAL:
            self.tree[path] = n = [b"", (0,), ch, 0]
            self._charge(0, 1, self._cost(path, n))
        self.counts = {}        # quota name -> times hit
        self._sent = None       # events delivered by the current _fire
        self._table = {
            wire.READ: self._read,
            wire.WRITE: self._write,
            wire.DIRECTORY: self._directory,
            wire.DIRECTORY_PART: self._directory_part,
            wire.MKDIR: self._mkdir,
            wire.RM: self._rm,
            wire.GET_PERMS: self._get_perms,
            wire.SET_PERMS: self._set_perms,
            wire.WATCH: self._watch,
            wire.UNWATCH: self._unwatch,
            wire.RESET_WATCHES: self._reset_watches,
            wire.TRANSACTION_START: self._tx_start,
            wire.TRANSACTION_END: self._tx_end,
            wire.INTRODUCE: self._introduce,
            wire.RELEASE: self._release,
            wire.IS_DOMAIN_INTRODUCED: self._is_introduced,
            wire.RESUME: self._resume,
            wire.SET_TARGET: self._set_target,
            wire.GET_DOMAIN_PATH: self._get_domain_path,
            wire.CONTROL: self._control,
            wire.GET_FEATURE: self._get_feature,
            wire.SET_FEATURE: self._set_feature,
            wire.GET_QUOTA: self._get_quota,
            wire.SET_QUOTA: self._set_quota,
        }
        d0 = self._domain(0)
        d0.introduced = True

    # The limit `name` for domain `dom` (its own quota or the store's): the
    # ring adapter asks it too (outstanding requests).
    def limit(self, dom, name):
        q = dom.quota
        if q is not None and name in q:
            return q[name]
        return self.quota[name]

    def _hit(self, dom, name, err):
        """Count a quota hit; log the first and then every 1000th per
        domain and quota (a guest must not be able to flood the log)."""
        self.counts[name] = self.counts.get(name, 0) + 1
        n = dom.hits.get(name, 0) + 1
        dom.hits[name] = n
        if n % 1000 == 1:
            self.log("xenstore: domain %d hit quota %s (%d), %d hits so far"
                     % (dom.domid, name, self.limit(dom, name), n))
        return XsError(err)

    def _domain(self, domid):
        d = self.domains.get(domid)
        if d is None:
            d = Domain(domid)
            self.domains[domid] = d
        return d

    def connect(self, domid=0, kind="socket", priv=None):
        """A new connection. Socket and local ones are dom0 and privileged."""
        if priv is None:
            priv = kind != "ring" or domid == 0
        return Conn(self, domid, priv, kind)

    def disconnect(self, conn):
        """Drop a connection's watches and transactions. Idempotent. Never
        fires @releaseDomain: only the domain's death does (XSA-325)."""
        if conn.closed:
            return
        self._drop_watches(conn)
        self._drop_trans(conn)
        conn.take_all()
        conn.closed = True

    def reset_conn(self, conn):
        """Ring reconnection: the guest starts over on the same connection."""
        self._drop_watches(conn)
        self._drop_trans(conn)
        conn.take_all()

    def process(self, conn, msg):
        """Handle one complete message (header + payload, as framed)."""
        m = _parse(msg)
        if m is None:
            raise ValueError("xenstore: incomplete message")
        self.handle(conn, m[0], m[1], m[2], m[3])

    # The per-request functions take the builtins and module functions
    # they use as default arguments: MicroPython then reads them as locals
    # instead of searching the module's and the builtins' tables on every
    # use (measurably the largest cost of a request after the system calls).
    def handle(self, conn, typ, req_id, tx_id, payload, len=len, _packet=_packet, _OK=_OK):
        if conn.closed:
            return
        fn = self._table.get(typ)
        try:
            if fn is None:
                raise XsError(b"ENOSYS")
            if len(payload) > _PMAX:
                raise XsError(b"E2BIG")
            tx = None
            if tx_id and typ in _TXOPS:
                tx = conn.trans.get(tx_id)
                if tx is None:
                    raise XsError(b"ENOENT")
            if typ == 4:        # WATCH queues its reply itself, then the event
                self._req = req_id
                self._txid = tx_id
            r = fn(conn, tx, payload)
            if r is None:
                r = _OK
            elif r is False:
                return      # the operation queued its own reply
            rtype = typ
        except XsError as e:
            r = e.args[0] + b"\x00"
            rtype = 16      # ERROR
        # _queue(), inlined: this runs once per request.
        pkt = _packet(rtype, req_id, tx_id, r)
        if not conn.dirty:
            conn.dirty = True
            self.dirty.append(conn)
        conn.out.append(pkt)
        n = len(pkt)
        conn.outbytes += n
        conn.dom.mem += n
        conn.nreplies += 1

    def _queue(self, conn, pkt, reply):
        if not conn.dirty:
            conn.dirty = True
            self.dirty.append(conn)
        conn.out.append(pkt)
        n = len(pkt)
        conn.outbytes += n
        conn.dom.mem += n
        if reply:
            conn.nreplies += 1

    def drain_dirty(self):
        d = self.dirty
        if d:
            self.dirty = []
            for c in d:
                c.dirty = False
        return d

    def _canon(self, conn, p, len=len, _path_ok=_path_ok):
        """Absolute path for a request's path argument (EINVAL if invalid)."""
        if not p:
            raise XsError(b"EINVAL")
        c = p[0]
        if c != 47:
            if c == 64:
                raise XsError(b"EINVAL")
            p = conn.prefix + p
        # The common case in one C call; the full check (with its length
        # rule) only for long or invalid paths, where it raises EINVAL.
        if len(p) > self._pathmax or not _path_ok(p):
            self._check_path(p)
        return p

    def _check_path(self, p):
        n = len(p)
        off = 0
        if n > 14 and p.startswith(b"/local/domain/"):
            # Below a domain's own directory the limit counts from there.
            i = 14
            while i < n and i < 19 and 48 <= p[i] <= 57:
                i += 1
            if i > 14 and i < n and p[i] == 47:
                off = i + 1
        if n - off > self.quota["path-max"]:
            raise XsError(b"EINVAL")
        if not _path_ok(p):
            raise XsError(b"EINVAL")
        if p[0] != 47 and p[0] != 64:
            raise XsError(b"EINVAL")

    @staticmethod
    def _parent(p):
        i = p.rfind(b"/")
        if i <= 0:
            return b"/"
        return p[:i]

    def _mode(self, conn, perms):
        if conn.priv:
            return 3
        d = conn.domid
        t = conn.dom.target
        o = perms[0] >> 2
        if o == d or o == t:
            return 3
        n = len(perms)
        i = 1
        while i < n:
            e = perms[i]
            pd = e >> 2
            if pd == d or pd == t:
                return e & 3
            i += 1
        return perms[0] & 3

    def _missing_err(self, conn, tx, path, want):
        """ENOENT, or EACCES if the nearest existing ancestor does not grant
        `want` (so a missing node's existence is not revealed)."""
        p = path
        while p != b"/":
            p = self._parent(p)
            n = self._get(tx, p)
            if n is not None:
                if self._mode(conn, n[P]) & want:
                    return XsError(b"ENOENT")
                return XsError(b"EACCES")
        return XsError(b"ENOENT")

    def _node(self, conn, tx, path, want, hash=hash):
        if tx is None:
            n = self._sh[hash(path) & 63].get(path)
        else:
            n = self._get(tx, path)
        if n is None:
            raise self._missing_err(conn, tx, path, want)
        if not conn.priv and (self._mode(conn, n[P]) & want) != want:
            raise XsError(b"EACCES")
        return n

    def _get(self, tx, path, hash=hash):
        if tx is None:
            return self._sh[hash(path) & 63].get(path)
        w = tx.writes
        if path in w:
            return w[path]
        r = tx.reads
        if path in r:
            return r[path]      # repeatable reads: the node first seen
        n = self._sh[hash(path) & 63].get(path)
        r[path] = n
        return n

    @staticmethod
    def _cost(path, n):
        return len(path) + len(n[V]) + _clen(n[C]) + 8 * len(n[P]) + 64

    def _shared(self, perms):
        """One tuple object for equal ACLs (most nodes share a few): the
        heap per node stays small. The table is bounded; past it, ACLs are
        simply not shared."""
        a = self._acls
        t = a.get(perms)
        if t is not None:
            return t
        if len(a) < 1024:
            a[perms] = perms
        return perms

    def _charge(self, domid, dn, dm):
        d = self.domains.get(domid)
        if d is None:
            d = self._domain(domid)
        d.nodes += dn
        d.mem += dm

    def _next_gen(self):
        self.gen += 1
        return self.gen

    def _mut(self, path, n):
        """A tree node about to change in place. While transactions are
        open the tree gets a fresh copy instead, so that the node objects
        they saw stay as they were (repeatable reads; a commit conflicts
        when the tree no longer holds the object it read)."""
        if not self.ntx:
            return n
        ch = n[C]
        c = [n[V], n[P], list(ch) if type(ch) is list else ch, n[G]]
        self._sh[hash(path) & 63][path] = c
        return c

    def _writable(self, tx, path, n):
        """The node to modify: in a transaction a private copy."""
        if tx is None:
            return self._mut(path, n)
        w = tx.writes
        c = w.get(path)
        if c is not None:
            return c
        ch = n[C]
        c = [n[V], n[P], list(ch) if type(ch) is list else ch, n[G]]
        w[path] = c
        return c

    def _size_ok(self, conn, n):
        if conn.priv:
            return
        if len(n[V]) + _clen(n[C]) + 8 * len(n[P]) > self.limit(conn.dom, "node-size"):
            raise self._hit(conn.dom, "node-size", b"ENOSPC")

    def _create(self, conn, tx, path, value, hash=hash):
        """Create `path` and any missing ancestors, all or nothing."""
        # Find the nearest existing ancestor and the names to create.
        todo = (path,)      # deepest first
        p = path
        sh = self._sh
        while True:
            i = p.rfind(b"/")
            p = p[:i] if i > 0 else b"/"            # _parent(p)
            if tx is None:
                parent = sh[hash(p) & 63].get(p)
            else:
                parent = self._get(tx, p)
            if parent is not None:
                break
            todo = todo + (p,)
        if not conn.priv and (self._mode(conn, parent[P]) & PERM_WRITE) == 0:
            raise XsError(b"EACCES")
        perms = parent[P]
        if not conn.priv:
            # An unprivileged creator becomes the owner.
            perms = self._shared(((conn.domid << 2) | (perms[0] & 3),) + perms[1:])
        owner = perms[0] >> 2
        count = len(todo)
        if not conn.priv:
            dom = conn.dom
            have = dom.nodes + (tx.dn.get(owner, 0) if tx is not None else 0)
            if have + count > self.limit(dom, "nodes"):
                raise self._hit(dom, "nodes", b"ENOSPC")
            if tx is not None and len(tx.writes) + count + 1 > self.limit(dom, "transaction-nodes"):
                raise self._hit(dom, "transaction-nodes", b"ENOSPC")
            if len(value) + 8 * len(perms) > self.limit(dom, "node-size"):
                raise self._hit(dom, "node-size", b"ENOSPC")
            name = todo[-1][len(p) + 1 if p != b"/" else 1:]
            if len(parent[V]) + _clen(parent[C]) + len(name) + 1 + 8 * len(parent[P]) > self.limit(dom, "node-size"):
                raise self._hit(dom, "node-size", b"ENOSPC")
            need = 0
            for q in todo:
                need += 2 * len(q) + 8 * len(perms) + 64
            need += len(value)
            if dom.mem + need > self.limit(dom, "memory"):
                raise self._hit(dom, "memory", b"ENOMEM")
            if dom.mem + need > self.soft["memory"]:
                self._soft(dom, dom.mem + need)
        # Everything checked: apply, top-down. (The charges are _cost()'s
        # differences: a child name adds len(name) + 1 to its parent.)
        if tx is None:
            self.gen += 1
            gen = self.gen
        else:
            gen = 0
        par = parent if tx is None and not self.ntx else self._writable(tx, p, parent)
        domains = self.domains
        ppath = p
        i = count - 1
        pc = 8 * len(perms) + 64
        while i >= 0:
            q = todo[i]
            name = q[len(ppath) + 1:] if ppath != b"/" else q[1:]
            par[C] = _with_child(par[C], name)
            par[G] = gen
            v = value if i == 0 else b""
            node = [v, perms, b"", gen]
            if tx is None:
                po = par[P][0] >> 2
                d = domains.get(owner) or self._domain(owner)
                if po == owner:
                    d.mem += len(name) + 1
                else:
                    self._charge(po, 0, len(name) + 1)
                sh[hash(q) & 63][q] = node
                d.nodes += 1
                d.mem += len(q) + len(v) + pc
            else:
                tx.writes[q] = node
                tx.dn[owner] = tx.dn.get(owner, 0) + 1
            par = node
            ppath = q
            i -= 1
        return par

    def _delete(self, conn, tx, path, node, hash=hash):
        """Remove `path` and its subtree (iteratively: no deep recursion)."""
        i = path.rfind(b"/")
        ppath = path[:i] if i > 0 else b"/"         # _parent(path)
        if tx is None:
            parent = self._sh[hash(ppath) & 63].get(ppath)
        else:
            parent = self._get(tx, ppath)
        name = path[i + 1:]
        if not node[C]:
            gone = ((path, node),)      # a leaf (the common case)
            stack = None
        else:
            gone = [(path, node)]
            stack = []
            base = path + b"/" if path != b"/" else path
            for c in _names(node[C]):
                stack.append(base + c)
        while stack:
            q = stack.pop()
            n = self._get(tx, q)
            if n is None:
                continue
            gone.append((q, n))
            if n[C]:
                base = q + b"/" if q != b"/" else q
                for c in _names(n[C]):
                    stack.append(base + c)
        if tx is None:
            sh = self._sh
            for q, n in gone:
                del sh[hash(q) & 63][q]
                ch = n[C]
                self._charge(n[P][0] >> 2, -1, -(len(q) + len(n[V]) + (_clen(ch) if ch else 0)
                                                + 8 * len(n[P]) + 64))
        else:
            w = tx.writes
            for q, n in gone:
                w[q] = None
                o = n[P][0] >> 2
                tx.dn[o] = tx.dn.get(o, 0) - 1
        if parent is not None:
            pch = parent[C]
            par = parent if tx is None and not self.ntx else self._writable(tx, ppath, parent)
            if type(pch) is list:
                had = _clen(pch)
                par[C] = _without_child(par[C], name)
                gain = _clen(par[C]) - had
            else:
                par[C] = _without_child(pch, name)
                gain = len(par[C]) - len(pch)
            if tx is None:
                self.gen += 1
                par[G] = self.gen
                self._charge(par[P][0] >> 2, 0, gain)
        return gone

    def _read(self, conn, tx, payload, len=len, hash=hash, _path_ok=_path_ok):
        i = payload.find(b"\x00")
        if i < 0 or i != len(payload) - 1:
            raise XsError(b"EINVAL")
        path = payload[:i]
        # _canon(), inlined for the common case.
        if not i or path[0] != 47 or i > self._pathmax or not _path_ok(path):
            path = self._canon(conn, path)
        if tx is None:
            n = self._sh[hash(path) & 63].get(path)
        else:
            n = self._get(tx, path)
        if n is None:
            raise self._missing_err(conn, tx, path, PERM_READ)
        if not conn.priv and not (self._mode(conn, n[P]) & PERM_READ):
            raise XsError(b"EACCES")
        return n[V]

    def _write(self, conn, tx, payload, len=len, hash=hash, _tail=_tail, _path_ok=_path_ok):
        i = payload.find(b"\x00")
        if i < 0:
            raise XsError(b"EINVAL")
        path = payload[:i]
        # _canon(), inlined for the common case.
        if not i or path[0] != 47 or i > self._pathmax or not _path_ok(path):
            path = self._canon(conn, path)
        value = _tail(payload, i + 1)
        n = self._sh[hash(path) & 63].get(path) if tx is None else self._get(tx, path)
        if n is None:
            # _create checks the nearest existing ancestor as _missing_err
            # would (EACCES unless it grants write).
            self._create(conn, tx, path, value)
        else:
            if not conn.priv:
                if (self._mode(conn, n[P]) & PERM_WRITE) == 0:
                    raise XsError(b"EACCES")
                dom = conn.dom
                if len(value) + _clen(n[C]) + 8 * len(n[P]) > self.limit(dom, "node-size"):
                    raise self._hit(dom, "node-size", b"ENOSPC")
                if len(value) > len(n[V]):
                    m = dom.mem + len(value) - len(n[V])
                    if m > self.limit(dom, "memory"):
                        raise self._hit(dom, "memory", b"ENOMEM")
                    if m > self.soft["memory"]:
                        self._soft(dom, m)
            if tx is None:
                d = self.domains.get(n[P][0] >> 2)
                if d is None:
                    d = self._domain(n[P][0] >> 2)
                d.mem += len(value) - len(n[V])
                if self.ntx:
                    n = self._mut(path, n)
                n[V] = value
                self.gen += 1
                n[G] = self.gen
                if self.watches:
                    self._fire(path, None, None)
                return None
            else:
                if not conn.priv and path not in tx.writes and \
                        len(tx.writes) + 1 > self.limit(conn.dom, "transaction-nodes"):
                    raise self._hit(conn.dom, "transaction-nodes", b"ENOSPC")
                self._writable(tx, path, n)[V] = value
        if tx is not None:
            tx.events.append((path, None, None))        # _changed(), inlined
        elif self.watches:
            self._fire(path, None, None)
        return None

    def _mkdir(self, conn, tx, payload):
        path = self._canon(conn, _onearg(payload))
        n = self._get(tx, path)
        if n is not None:
            if (self._mode(conn, n[P]) & PERM_WRITE) == 0:
                raise XsError(b"EACCES")
            return None
        self._create(conn, tx, path, b"")     # EACCES as _missing_err would
        self._changed(tx, path, None)
        return None

    def _rm(self, conn, tx, payload, hash=hash, len=len, _path_ok=_path_ok):
        i = payload.find(b"\x00")
        if i < 0 or i != len(payload) - 1:
            raise XsError(b"EINVAL")
        path = payload[:i]
        # _canon(), inlined for the common case.
        if not i or path[0] != 47 or i > self._pathmax or not _path_ok(path):
            path = self._canon(conn, path)
        if path == b"/":
            raise XsError(b"EINVAL")
        sh = self._sh
        if tx is None:
            n = sh[hash(path) & 63].get(path)
        else:
            n = self._get(tx, path)
        if n is None:
            # Removing a missing node is fine when its parent exists and
            # may be written (the parent is then the nearest ancestor that
            # _missing_err would judge); otherwise ENOENT or EACCES.
            i = path.rfind(b"/")
            pp = path[:i] if i > 0 else b"/"        # _parent(path)
            pn = sh[hash(pp) & 63].get(pp) if tx is None else self._get(tx, pp)
            if pn is not None:
                if conn.priv or self._mode(conn, pn[P]) & PERM_WRITE:
                    return None
                raise XsError(b"EACCES")
            raise self._missing_err(conn, tx, path, PERM_WRITE)
        if not conn.priv and (self._mode(conn, n[P]) & PERM_WRITE) == 0:
            raise XsError(b"EACCES")
        if tx is not None and not conn.priv:
            # Count the subtree before touching anything (XSA-421).
            cnt = 0
            stack = [path]
            while stack:
                q = stack.pop()
                m = self._get(tx, q)
                if m is None:
                    continue
                cnt += 1
                if m[C]:
                    base = q + b"/"
                    for c in _names(m[C]):
                        stack.append(base + c)
            if len(tx.writes) + cnt + 1 > self.limit(conn.dom, "transaction-nodes"):
                raise self._hit(conn.dom, "transaction-nodes", b"ENOSPC")
        perms = n[P]
        gone = self._delete(conn, tx, path, n)
        if tx is not None:
            tx.events.append((path, perms, gone))
        elif self.watches:
            self._fire(path, perms, gone)
        return None

    def _directory(self, conn, tx, payload):
        path = self._canon(conn, _onearg(payload))
        ch = self._node(conn, tx, path, PERM_READ)[C]
        if type(ch) is list:
            if _clen(ch) > _PMAX:
                raise XsError(b"E2BIG")
            return b"".join(ch)
        if len(ch) > _PMAX:
            raise XsError(b"E2BIG")
        return ch

    def _directory_part(self, conn, tx, payload):
        a = _args(payload, 2)
        path = self._canon(conn, a[0])
        off = _uint(a[1])
        n = self._node(conn, tx, path, PERM_READ)
        gen = b"%x\x00" % n[G]
        blob = _blob(n[C])
        total = len(blob)
        if off >= total:
            return gen + b"\x00"
        # Byte offset into the "name\0name\0..." list, as cxenstored: the
        # chunk ends at a name boundary and fits one payload; the last one
        # carries an extra NUL.
        glen = len(gen)
        pos = off
        while pos < total:
            e = blob.find(b"\x00", pos)
            ln = e - pos + 1
            if glen + (pos - off) + ln >= wire.PAYLOAD_MAX:
                break
            pos += ln
        if pos == total:
            return gen + blob[off:pos] + b"\x00"
        return gen + blob[off:pos]

    def _get_perms(self, conn, tx, payload):
        p = _onearg(payload)
        if p and p[0] == 64:
            perms = self.special.get(p)
            if perms is None:
                raise XsError(b"ENOENT")
            if not self._mode(conn, perms) & PERM_READ:
                raise XsError(b"EACCES")
            return perms_to_wire(perms)
        path = self._canon(conn, p)
        return perms_to_wire(self._node(conn, tx, path, PERM_READ)[P])

    def _set_perms(self, conn, tx, payload):
        n = len(payload)
        if not n or payload[n - 1] != 0:
            raise XsError(b"EINVAL")
        parts = payload[:n - 1].split(b"\x00")
        if len(parts) < 2:
            raise XsError(b"EINVAL")
        perms = perms_from_strings(parts[1:])
        if not conn.priv and len(perms) > self.limit(conn.dom, "permissions"):
            raise self._hit(conn.dom, "permissions", b"ENOSPC")
        if not self.exists(perms[0] >> 2, tx):
            # The owner must be a domain that exists now (cxenstored: ENOENT,
            # checked before the path): a domain created later with that id
            # must not own the node (XSA-322). Other entries may name any id.
            raise XsError(b"ENOENT")
        if len(perms) > 1:
            perms = self._ignore_absent(perms, tx)
        p = parts[0]
        if p and p[0] == 64:
            old = self.special.get(p)
            if old is None:
                raise XsError(b"ENOENT")
            if not self._mode(conn, old) & PERM_WRITE:
                raise XsError(b"EACCES")
            if not conn.priv and (perms[0] >> 2) != (old[0] >> 2):
                raise XsError(b"EPERM")
            self.special[p] = perms
            return None
        path = self._canon(conn, p)
        node = self._node(conn, tx, path, PERM_WRITE)
        old = node[P]
        if not conn.priv:
            # Only privileged callers may change the owner (XSA-352),
            # the root node included (XSA-353).
            if (perms[0] >> 2) != (old[0] >> 2):
                raise XsError(b"EPERM")
            if len(node[V]) + _clen(node[C]) + 8 * len(perms) > self.limit(conn.dom, "node-size"):
                raise self._hit(conn.dom, "node-size", b"ENOSPC")
            if tx is not None and path not in tx.writes and \
                    len(tx.writes) + 1 > self.limit(conn.dom, "transaction-nodes"):
                raise self._hit(conn.dom, "transaction-nodes", b"ENOSPC")
        if tx is None:
            c0 = self._cost(path, node)
            self._charge(old[0] >> 2, -1, -c0)
            node = self._mut(path, node)
            node[P] = perms
            node[G] = self._next_gen()
            self._charge(perms[0] >> 2, 1, self._cost(path, node))
        else:
            w = self._writable(tx, path, node)
            w[P] = perms
            oo = old[0] >> 2
            no = perms[0] >> 2
            if oo != no:
                tx.dn[oo] = tx.dn.get(oo, 0) - 1
                tx.dn[no] = tx.dn.get(no, 0) + 1
        self._changed(tx, path, old)
        return None

    def _ignore_absent(self, perms, tx):
        """Entries after the owner that name a domain which does not exist
        now are kept but grant nothing, for good (_IGNORE)."""
        out = None
        for i in range(1, len(perms)):
            e = perms[i]
            if not e & _IGNORE and not self.exists(e >> 2, tx):
                if out is None:
                    out = list(perms)
                out[i] = e | _IGNORE
        return perms if out is None else tuple(out)

    def check(self):
        """Consistency check of the tree and the accounting (tests, CONTROL)."""
        tree = self.tree
        nodes = {}
        for path in tree:
            n = tree[path]
            if path != b"/":
                par = tree.get(self._parent(path))
                name = path[path.rfind(b"/") + 1:]
                if par is None or not _has_child(par[C], name):
                    raise AssertionError("orphan node %s" % path)
            blob = n[C]
            if type(blob) is list:
                for c in blob:
                    if not c or c[-1] != 0 or (len(c) > _CHUNK and c.find(b"\x00") != len(c) - 1):
                        raise AssertionError("child chunks of %s" % path)
                if len(blob) < 2:
                    raise AssertionError("child chunks of %s" % path)
            elif blob and blob[-1] != 0:
                raise AssertionError("child list of %s" % path)
            names = _names(blob)
            if len(set(names)) != len(names) or b"" in names:
                raise AssertionError("child list of %s" % path)
            for c in names:
                if (path + b"/" + c if path != b"/" else b"/" + c) not in tree:
                    raise AssertionError("missing child %s of %s" % (c, path))
            o = n[P][0] >> 2
            nodes[o] = nodes.get(o, 0) + 1
        for d in self.domains.values():
            if d.nodes != nodes.get(d.domid, 0):
                raise AssertionError("domain %d owns %d nodes, counted %d"
                                     % (d.domid, nodes.get(d.domid, 0), d.nodes))
            if d.nodes < 0 or d.watches < 0 or d.trans < 0 or d.mem < 0:
                raise AssertionError("negative accounting for domain %d" % d.domid)
        return True
