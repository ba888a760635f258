# The xenstore core: node tree, permissions, transactions, watches, quotas
# and per-domain accounting. Sans-IO: it is driven with (connection, message)
# and leaves replies and watch events in the connections' output queues.
# Actions that need the hypervisor (map a ring, bind a port, unmap) are left
# in XenStore.actions for the I/O layer. No I/O, no hypervisor calls; the
# byte helpers come from wire (C from _xen when the firmware has it, their
# pure-Python twins otherwise).
from . import wire
try:
    from micropython import const   # names below become literals when compiled
except ImportError:
    def const(x):
        return x

_packet = wire.packet
_parse = wire.parse

_path_ok = wire.path_ok
_tail = wire.tail
_child_add = wire.child_add
_child_del = wire.child_del

# Node layout (a 4-list keeps the heap per node small):
V = const(0)    # value (bytes)
P = const(1)    # perms: tuple of ints, (domid << 2) | mode; [0] = owner + default
C = const(2)    # children: their names as on the wire, b"name\0name\0...", in
                # insertion order. One bytes object (a leaf holds the shared
                # b""), or past _CHUNK bytes a list of such chunks, so that a
                # wide directory never needs one large block nor copies it per
                # change. A chunk list belongs to one node (copies copy it).
G = const(3)    # generation of the last change
_CHUNK = const(256)
_PMAX = const(4096)     # wire.PAYLOAD_MAX

# Permission modes.
PERM_NONE = const(0)
PERM_READ = const(1)
PERM_WRITE = const(2)
PERM_BOTH = const(3)
_MODE_OF = {110: 0, 114: 1, 119: 2, 98: 3}    # n r w b
# An entry (not the owner) that named a domain which did not exist when it
# was set: shown by GET_PERMS, never matches a domid (cxenstored's
# XS_PERM_IGNORE), so a domain created later with that id gains nothing.
_IGNORE = const(1 << 34)        # above (domid << 2) | mode for any u32 domid
_LETTER = (b"n", b"r", b"w", b"b")

DOMID_LIMIT = const(0x7FF0)   # DOMID_FIRST_RESERVED
SPECIAL = (b"@introduceDomain", b"@releaseDomain")

# cxenstored's defaults. Names follow newer Xen's GET/SET_QUOTA.
QUOTA_DEFAULTS = {
    "nodes": 1000,                # nodes owned per domain
    "node-size": 2048,            # value + perms + child names, bytes
    "watches": 128,               # per domain
    "transactions": 10,           # open at once per domain
    "transaction-nodes": 1024,    # nodes touched by one transaction
    "outstanding": 20,            # requests whose reply is not consumed
    "permissions": 5,             # entries per node
    "memory": 2621440,            # bytes per domain
    "path-max": wire.REL_PATH_MAX,
}

# Soft quotas: crossing one only logs a warning (cxenstored's quota-soft).
SOFT_DEFAULTS = {
    "memory": 2097152,            # bytes per domain
}

_QNAMES = {}
for _k in QUOTA_DEFAULTS:
    _QNAMES[_k.encode()] = _k
del _k

_OK = b"OK\x00"
_DIGITS = b"0123456789"


# Types whose tx_id selects a transaction.
_TXOPS = set((wire.READ, wire.WRITE, wire.DIRECTORY, wire.DIRECTORY_PART,
              wire.MKDIR, wire.RM, wire.GET_PERMS, wire.SET_PERMS,
              wire.TRANSACTION_END, wire.TRANSACTION_START, wire.CONTROL))


class XsError(Exception):
    """An error for the wire: args[0] is the xsd_errors name (bytes)."""


def _err(name):
    return XsError(name)


def _uint(b, limit=0xFFFFFFFF):
    """Strict decimal parse: digits only, no sign, no blanks."""
    if not b or len(b) > 10:
        raise XsError(b"EINVAL")
    for c in b:
        if c < 48 or c > 57:
            raise XsError(b"EINVAL")
    v = int(b)
    if v > limit:
        raise XsError(b"EINVAL")
    return v


def _onearg(payload):
    """The single NUL-terminated string that must fill the payload."""
    i = payload.find(b"\x00")
    if i < 0 or i != len(payload) - 1:
        raise XsError(b"EINVAL")
    return payload[:i]


# Children lists (see C above).
def _blob(ch):
    """The children as one bytes object, as DIRECTORY sends them."""
    if type(ch) is list:
        return b"".join(ch)
    return ch


def _clen(ch, type=type, list=list, len=len):
    if type(ch) is list:
        n = 0
        for c in ch:
            n += len(c)
        return n
    return len(ch)


def _names(ch):
    """The child names, as a list."""
    if not ch:
        return []
    return _blob(ch)[:-1].split(b"\x00")


def _find(blob, key):
    """Offset of the entry key (b"name\0") in a chunk, or -1."""
    if blob.startswith(key):
        return 0
    i = blob.find(b"\x00" + key)
    return i + 1 if i >= 0 else -1


def _has_child(ch, name):
    key = name + b"\x00"
    if type(ch) is list:
        for c in ch:
            if _find(c, key) >= 0:
                return True
        return False
    return _find(ch, key) >= 0


def _with_child(ch, name, type=type, list=list, len=len, _child_add=_child_add):
    """ch with `name` added at the end (a chunk list: in place)."""
    if type(ch) is list:
        last = ch[-1]
        if len(last) + len(name) < _CHUNK:
            ch[-1] = _child_add(last, name)
        else:
            ch.append(_child_add(b"", name))
        return ch
    if not ch or len(ch) + len(name) < _CHUNK:
        return _child_add(ch, name)
    return [ch, _child_add(b"", name)]


def _without_child(ch, name, type=type, list=list, _child_del=_child_del):
    """ch with `name` taken out (ch itself if it is not there; a chunk
    list: in place, or one bytes object once all fits one chunk)."""
    if type(ch) is list:
        key = name + b"\x00"
        for j in range(len(ch)):
            c = ch[j]
            i = _find(c, key)
            if i >= 0:
                c = c[:i] + c[i + len(key):]
                if c:
                    ch[j] = c
                else:
                    del ch[j]
                # Back to one bytes object once it fits a chunk again.
                return ch if len(ch) > 1 and _clen(ch) > _CHUNK else b"".join(ch)
        return ch
    return _child_del(ch, name)


def _args(payload, count):
    """Exactly `count` NUL-terminated strings."""
    n = len(payload)
    if not n or payload[n - 1] != 0:
        raise XsError(b"EINVAL")
    parts = payload[:n - 1].split(b"\x00")
    if len(parts) != count:
        raise XsError(b"EINVAL")
    return parts


def perms_to_wire(perms):
    out = []
    for p in perms:
        out.append(_LETTER[p & 3] + (b"%d" % ((p >> 2) & 0xFFFFFFFF)) + b"\x00")
    return b"".join(out)


def perms_from_strings(items):
    """[b"r0", b"w3"] -> tuple; EINVAL on anything malformed."""
    if not items:
        raise XsError(b"EINVAL")
    out = []
    for s in items:
        if len(s) < 2:
            raise XsError(b"EINVAL")
        m = _MODE_OF.get(s[0])
        if m is None:
            raise XsError(b"EINVAL")
        d = _uint(s[1:])       # any u32, as cxenstored (may name a future domid)
        out.append((d << 2) | m)
    return tuple(out)


# The initial tree: (path, children), parents first.
INITIAL = ((b"/", b"tool\x00"), (b"/tool", b"xenstored\x00"), (b"/tool/xenstored", b""))

SHARDS = 64     # the path dict is split: no huge contiguous table to grow


class Tree:
    """path -> node, as SHARDS dicts chosen by hash(path): a large store
    never needs one big contiguous allocation (MicroPython's heap does not
    move objects, so a single dict's growth fails early on a fragmented
    heap). Hot paths index self.sh directly."""

    def __init__(self):
        self.sh = [{} for _ in range(SHARDS)]

    def get(self, p):
        return self.sh[hash(p) & (SHARDS - 1)].get(p)

    def __getitem__(self, p):
        return self.sh[hash(p) & (SHARDS - 1)][p]

    def __setitem__(self, p, n):
        self.sh[hash(p) & (SHARDS - 1)][p] = n

    def __delitem__(self, p):
        del self.sh[hash(p) & (SHARDS - 1)][p]

    def __contains__(self, p):
        return p in self.sh[hash(p) & (SHARDS - 1)]

    def __len__(self):
        n = 0
        for d in self.sh:
            n += len(d)
        return n

    def __iter__(self):
        for d in self.sh:
            for p in d:
                yield p


class Domain:
    """Accounting and lifecycle of one domid."""

    def __init__(self, domid):
        self.domid = domid
        self.nodes = 0          # nodes owned
        self.mem = 0            # bytes: owned nodes + queued output + watches
        self.watches = 0
        self.trans = 0
        self.introduced = False
        self.conn = None        # ring connection, once introduced
        self.gfn = None
        self.port = None
        self.target = -1        # SET_TARGET: acts for this domid
        self.features = 0
        self.quota = None       # per-domain overrides: dict or None
        self.dropped = 0        # watch events dropped for this domain
        self.hits = {}          # quota name -> hits


class Conn:
    """One client connection as the core sees it.

    out: queued packets (bytes) for the transport to send; nreplies counts
    the replies (not events) among them."""

    def __init__(self, store, domid, priv, kind):
        self.store = store
        self.domid = domid
        self.priv = priv
        self.kind = kind        # "socket", "ring", "local"
        self.prefix = b"/local/domain/%d/" % domid
        self.dom = store._domain(domid)
        self.out = []
        self.outbytes = 0
        self.nreplies = 0
        self.watches = {}       # (abs path, token) -> given path
        self.trans = {}         # tx id -> Tx
        self.next_tx = 1
        self.closed = False
        self.io = None          # transport object (has flush())
        self.dirty = False      # listed in XenStore.dirty

    def pop(self):
        """Take the next queued packet (transport side)."""
        pkt = self.out.pop(0)
        n = len(pkt)
        self.outbytes -= n
        self.dom.mem -= n
        if pkt[0] != wire.WATCH_EVENT:
            self.nreplies -= 1
        return pkt

    def take_bytes(self):
        """Take every queued packet at once, as one bytes object (the
        queue list is kept: no allocation but the joined bytes)."""
        out = self.out
        n = len(out)
        if not n:
            return b""
        data = out[0] if n == 1 else b"".join(out)
        out.clear()
        self.dom.mem -= self.outbytes
        self.outbytes = 0
        self.nreplies = 0
        return data

    def take_all(self):
        """Take every queued packet at once."""
        out = self.out
        if not out:
            return out
        self.out = []
        self.dom.mem -= self.outbytes
        self.outbytes = 0
        self.nreplies = 0
        return out


class Tx:
    failed = None               # error name that makes the commit fail
    known = None                # domid -> exists, asked once per transaction

    def __init__(self, txid):
        self.id = txid
        self.reads = {}         # path -> node object seen (None: missing)
        self.writes = {}        # path -> node copy, or None (deleted)
        self.events = []        # (kind, path, perms before) in order
        self.dn = {}            # domid -> node count delta


class XenStore:
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

    # ------------------------------------------------------------ quotas
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

    def _q(self, dom, name):
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
                     % (dom.domid, name, self._q(dom, name), n))
        return XsError(err)

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

    # ------------------------------------------------------- connections
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

    def _drop_watches(self, conn):
        ws = conn.watches
        for key in ws:
            path = key[0]
            lst = self.watches.get(path)
            if lst:
                for i in range(len(lst)):
                    w = lst[i]
                    if w[0] is conn and w[1] == key[1]:
                        del lst[i]
                        break
                if not lst:
                    del self.watches[path]
            self.nwatches -= 1
            conn.dom.watches -= 1
            conn.dom.mem -= len(path) + len(key[1]) + 32
        conn.watches = {}

    def _drop_trans(self, conn):
        n = len(conn.trans)
        conn.trans = {}
        conn.dom.trans -= n
        self.ntx -= n

    # --------------------------------------------------------- messages
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

    # ------------------------------------------------------------- paths
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

    # ------------------------------------------------------ permissions
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

    # ------------------------------------------------ tree and overlays
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
        if len(n[V]) + _clen(n[C]) + 8 * len(n[P]) > self._q(conn.dom, "node-size"):
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
            if have + count > self._q(dom, "nodes"):
                raise self._hit(dom, "nodes", b"ENOSPC")
            if tx is not None and len(tx.writes) + count + 1 > self._q(dom, "transaction-nodes"):
                raise self._hit(dom, "transaction-nodes", b"ENOSPC")
            if len(value) + 8 * len(perms) > self._q(dom, "node-size"):
                raise self._hit(dom, "node-size", b"ENOSPC")
            name = todo[-1][len(p) + 1 if p != b"/" else 1:]
            if len(parent[V]) + _clen(parent[C]) + len(name) + 1 + 8 * len(parent[P]) > self._q(dom, "node-size"):
                raise self._hit(dom, "node-size", b"ENOSPC")
            need = 0
            for q in todo:
                need += 2 * len(q) + 8 * len(perms) + 64
            need += len(value)
            if dom.mem + need > self._q(dom, "memory"):
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

    # ------------------------------------------------------ operations
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
                if len(value) + _clen(n[C]) + 8 * len(n[P]) > self._q(dom, "node-size"):
                    raise self._hit(dom, "node-size", b"ENOSPC")
                if len(value) > len(n[V]):
                    m = dom.mem + len(value) - len(n[V])
                    if m > self._q(dom, "memory"):
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
                        len(tx.writes) + 1 > self._q(conn.dom, "transaction-nodes"):
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
            if len(tx.writes) + cnt + 1 > self._q(conn.dom, "transaction-nodes"):
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
        if not conn.priv and len(perms) > self._q(conn.dom, "permissions"):
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
            if len(node[V]) + _clen(node[C]) + 8 * len(perms) > self._q(conn.dom, "node-size"):
                raise self._hit(conn.dom, "node-size", b"ENOSPC")
            if tx is not None and path not in tx.writes and \
                    len(tx.writes) + 1 > self._q(conn.dom, "transaction-nodes"):
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

    # --------------------------------------------------------- watches
    def _watch(self, conn, tx, payload):
        a = _args(payload, 2)
        given, token = a
        if given and given[0] == 64:
            if len(given) > self.quota["path-max"]:
                raise XsError(b"EINVAL")
            self._check_path(given)
            path = given
        else:
            path = self._canon(conn, given)
        key = (path, token)
        if key in conn.watches:
            raise XsError(b"EEXIST")
        dom = conn.dom
        if not conn.priv:
            if dom.watches >= self._q(dom, "watches"):
                raise self._hit(dom, "watches", b"E2BIG")
            if dom.mem + len(path) + len(token) + 32 > self._q(dom, "memory"):
                raise self._hit(dom, "memory", b"ENOMEM")
        conn.watches[key] = given
        lst = self.watches.get(path)
        if lst is None:
            self.watches[path] = [(conn, token, given)]
        else:
            lst.append((conn, token, given))
        self.nwatches += 1
        dom.watches += 1
        dom.mem += len(path) + len(token) + 32
        # The reply first, then the initial event.
        self._queue(conn, _packet(wire.WATCH, self._req, self._txid, _OK), True)
        self._event(conn, given, token)
        return False

    def _unwatch(self, conn, tx, payload):
        given, token = _args(payload, 2)
        # No path validation: an invalid path simply names no watch.
        if given and given[0] != 47 and given[0] != 64:
            path = conn.prefix + given
        else:
            path = given
        key = (path, token)
        if key not in conn.watches:
            raise XsError(b"ENOENT")
        del conn.watches[key]
        lst = self.watches[path]
        for i in range(len(lst)):
            w = lst[i]
            if w[0] is conn and w[1] == token:
                del lst[i]
                break
        if not lst:
            del self.watches[path]
        self.nwatches -= 1
        conn.dom.watches -= 1
        conn.dom.mem -= len(path) + len(token) + 32
        return None

    def _reset_watches(self, conn, tx, payload):
        # Drops the caller's watches and transactions (XSA-330/484).
        self._drop_watches(conn)
        self._drop_trans(conn)
        return None

    def _event(self, conn, path, token):
        n = len(path) + len(token) + 2
        if n > wire.PAYLOAD_MAX:
            return      # dropped, never truncated (XSA-324)
        dom = conn.dom
        if not conn.priv and dom.mem + n + 16 > self._q(dom, "memory"):
            dom.dropped += 1
            self.counts["event-dropped"] = self.counts.get("event-dropped", 0) + 1
            if dom.dropped & 1023 == 1:
                self.log("xenstore: domain %d: watch events dropped (%d)" % (dom.domid, dom.dropped))
            return
        self._queue(conn, _packet(wire.WATCH_EVENT, 0, 0, path + b"\x00" + token + b"\x00"), False)

    def _changed(self, tx, path, oldperms, rm=None):
        """A change to fire watches for. rm: for a deletion, the list of
        (path, node) removed, top first."""
        if tx is not None:
            tx.events.append((path, oldperms, rm))
        else:
            self._fire(path, oldperms, rm)

    def _fire(self, path, oldperms, rm):
        ws = self.watches
        if not ws:
            return
        node = self._sh[hash(path) & 63].get(path)
        perms = node[P] if node is not None else oldperms
        if rm is not None:
            # A deletion is also visible to whoever may read the parent.
            par = self.tree.get(self._parent(path))
            if par is not None:
                oldperms = par[P]
        # Watches on the node and its ancestors get the node's path; a
        # connection gets one event per token (as cxenstored).
        self._sent = None
        p = path
        while True:
            lst = ws.get(p)
            if lst:
                for w in lst:
                    self._deliver(w, path, perms, oldperms, None)
            if p == b"/":
                break
            p = self._parent(p)
        if rm is not None:
            # Each removed descendant fires the watches set exactly on it.
            i = 1
            n = len(rm)
            while i < n:
                q, qn = rm[i]
                i += 1
                lst = ws.get(q)
                if lst:
                    for w in lst:
                        self._deliver(w, q, qn[P], None, w[2])

    def _deliver(self, w, path, perms, oldperms, given):
        conn = w[0]
        if not conn.priv:
            ok = self._mode(conn, perms) & PERM_READ
            if not ok and oldperms is not None:
                ok = self._mode(conn, oldperms) & PERM_READ
            if not ok:
                return
        if given is None:
            g = w[2]
            if g and g[0] != 47:
                pre = conn.prefix
                if path.startswith(pre):
                    ev = path[len(pre):]
                else:
                    ev = path
            else:
                ev = path
        else:
            ev = given
        key = (conn, ev, w[1])
        sent = self._sent
        if sent is None:
            self._sent = [key]
        else:
            for k in sent:
                if k[0] is conn and k[1] == ev and k[2] == w[1]:
                    return
            sent.append(key)
        self._event(conn, ev, w[1])

    def _fire_special(self, name):
        lst = self.watches.get(name)
        if not lst:
            return
        perms = self.special[name]
        for w in list(lst):
            conn = w[0]
            if conn.priv or self._mode(conn, perms) & PERM_READ:
                self._event(conn, name, w[1])

    # ---------------------------------------------------- transactions
    def _tx_start(self, conn, tx, payload):
        if tx is not None:
            raise XsError(b"EBUSY")
        dom = conn.dom
        if not conn.priv and dom.trans >= self._q(dom, "transactions"):
            raise self._hit(dom, "transactions", b"ENOSPC")
        txid = conn.next_tx
        while txid == 0 or txid in conn.trans:
            txid = (txid + 1) & 0xFFFFFFFF
        conn.next_tx = (txid + 1) & 0xFFFFFFFF
        conn.trans[txid] = Tx(txid)
        dom.trans += 1
        self.ntx += 1
        return b"%d\x00" % txid

    def _tx_end(self, conn, tx, payload):
        if tx is None:
            raise XsError(b"ENOENT")
        a = _onearg(payload)
        if a == b"T":
            commit = True
        elif a == b"F":
            commit = False
        else:
            raise XsError(b"EINVAL")
        del conn.trans[tx.id]
        conn.dom.trans -= 1
        self.ntx -= 1
        if not commit:
            return None
        if tx.failed is not None:
            raise XsError(tx.failed)
        sh = self._sh
        reads = tx.reads
        for path in reads:
            if sh[hash(path) & 63].get(path) is not reads[path]:
                raise XsError(b"EAGAIN")
        w = tx.writes
        if not w:
            return None
        if not conn.priv:
            dom = conn.dom
            for d in tx.dn:
                dd = self.domains.get(d)
                if dd is not None and tx.dn[d] > 0 and dd is dom and \
                        dd.nodes + tx.dn[d] > self._q(dd, "nodes"):
                    raise self._hit(dd, "nodes", b"ENOSPC")
        gen = self._next_gen()
        for path in w:
            new = w[path]
            d = sh[hash(path) & 63]
            old = d.get(path)
            if old is not None:
                self._charge(old[P][0] >> 2, -1, -self._cost(path, old))
            if new is None:
                if old is not None:
                    del d[path]
            else:
                new[G] = gen
                d[path] = new
                self._charge(new[P][0] >> 2, 1, self._cost(path, new))
        if not self.watches:
            return None
        # One event per changed node (the last change to it decides).
        last = {}
        for ev in tx.events:
            last[ev[0]] = ev
        seen = set()
        for ev in tx.events:
            p = ev[0]
            if p in seen:
                continue
            seen.add(p)
            ev = last[p]
            self._fire(p, ev[1], ev[2])
        return None

    # -------------------------------------------------- domain control
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
        # Open transactions of others may hold ACLs naming it: they will
        # fail their generation check for the nodes changed above.

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
            return b"%d\x00" % self._q(d, name)
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

    # ------------------------------------------------------ diagnostics
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


def _revoked(perms, domid):
    """perms with the entries (after the owner) naming domid marked
    _IGNORE, or None if there are none."""
    out = None
    for i in range(1, len(perms)):
        if perms[i] >> 2 == domid:
            if out is None:
                out = list(perms)
            out[i] = perms[i] | _IGNORE
    return None if out is None else tuple(out)


def _big(b):
    if not b or len(b) > 20:
        raise XsError(b"EINVAL")
    for c in b:
        if c < 48 or c > 57:
            raise XsError(b"EINVAL")
    v = int(b)
    if v >= 1 << 64:
        raise XsError(b"EINVAL")
    return v


def _log(msg):
    import sys
    sys.stderr.write(msg + "\n")
