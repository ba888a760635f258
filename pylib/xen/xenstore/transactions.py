# xenstore transactions: TRANSACTION_START / _END over the tree's overlay
# (the per-transaction copies the core reads and writes through).
#
# Owns: commit and abort, conflict detection (EAGAIN), per-connection
# transaction limits. Must not know: the operations inside a transaction
# (the core's READ/WRITE/... run the same with or without one).
try:
    from micropython import const   # names below become literals when compiled
except ImportError:
    def const(x):
        return x
from .node import Tx, XsError, _onearg

G = const(3)    # generation of the last change
P = const(1)    # perms: tuple of ints, (domid << 2) | mode; [0] = owner + default


class Transactions:
    """Mixed into XenStore (store.py), whose state it uses."""

    def _drop_trans(self, conn):
        n = len(conn.trans)
        conn.trans = {}
        conn.dom.trans -= n
        self.ntx -= n

    def _tx_start(self, conn, tx, payload):
        if tx is not None:
            raise XsError(b"EBUSY")
        dom = conn.dom
        if not conn.priv and dom.trans >= self.limit(dom, "transactions"):
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
                        dd.nodes + tx.dn[d] > self.limit(dd, "nodes"):
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
