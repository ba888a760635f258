# xenstore watches: WATCH, UNWATCH, RESET_WATCHES and the firing of events
# when nodes change (including @introduceDomain / @releaseDomain).
#
# Owns: the watch table's rules (which connection sees which event, with
# which permission check). Must not know: the transport of an event (it is
# queued on the connection, as every reply is).
try:
    from micropython import const   # names below become literals when compiled
except ImportError:
    def const(x):
        return x
from .node import XsError, _OK, _args, _packet
from . import wire

P = const(1)    # perms: tuple of ints, (domid << 2) | mode; [0] = owner + default
PERM_READ = const(1)


class Watches:
    """Mixed into XenStore (store.py), whose state it uses."""

    def _drop_watches(self, conn):
        ws = conn.watches
        for key in ws:
            self._forget(conn, key[0], key[1])
        conn.watches = {}

    def _forget(self, conn, path, token):
        """One watch of conn out of the index and the accounts."""
        lst = self.watches.get(path)
        if lst:
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
            if dom.watches >= self.limit(dom, "watches"):
                raise self._hit(dom, "watches", b"E2BIG")
            if dom.mem + len(path) + len(token) + 32 > self.limit(dom, "memory"):
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
        self._forget(conn, path, token)
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
        if not conn.priv and dom.mem + n + 16 > self.limit(dom, "memory"):
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
