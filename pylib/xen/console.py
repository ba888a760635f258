# Guest consoles: dom0's side of each domain's Xen console page (the job
# xenconsoled does on Linux).
#
# The page is Xen's struct xencons_interface: the guest writes its output into
# the `out` ring, dom0 writes input into the `in` ring; the layouts (offsets,
# sizes) come from Xen's header through _xenring.CONSOLE_OUT/IN. The copy
# loops are _xenring.read/write (C): dom0 keeps its own indices (out
# cons, in prod) and never trusts the guest's; a guest whose indices are
# impossible gets its console marked broken (logged; others keep running)
# and the page is not touched again.
#
# Owns: Console, one guest console page's drain, backlog, log, input and
# viewer. Must not know: which consoles exist (the Dom0 that serves them
# keeps them: xen.get_dom0().consoles; the functions at the end ask it).
#
# Each console feeds, from one drain per event: a backlog of the newest
# `backlog` bytes (read() returns what it has not returned yet; `lost`
# counts bytes that fell out before being read), an optional log file per
# domain (rotated), Python callbacks and at most one attached viewer.
import sys
import os
import errno
import _xen
import _xenring

OUT = _xenring.CONSOLE_OUT   # (data offset, size, cons offset, prod offset)
IN = _xenring.CONSOLE_IN
DEFAULT_BACKLOG = 16384
DEFAULT_INPUT_MAX = 65536
LOG_SIZE = 1 << 20            # rotate the log file beyond this many bytes
LOG_KEEP = 3                  # console-N.log.1 .. .LOG_KEEP
ESCAPE = 0x1D                 # Ctrl-]: leave attach()
_M = 0xFFFFFFFF


def log(msg):
    """Where the console service reports (replaceable)."""
    sys.stderr.write("xen.console: %s\n" % msg)


class Console:
    """One domain's console. Made by serve(); see there."""

    def __init__(self, domid, page, channel, backlog=DEFAULT_BACKLOG, logdir=None,
                 input_max=DEFAULT_INPUT_MAX, log_size=LOG_SIZE, log_keep=LOG_KEEP):
        if backlog < 1:
            raise ValueError("backlog must be >= 1 byte, got %d" % backlog)
        self.domid = domid
        self.page = page
        self.channel = channel
        self.broken = None            # why the console stopped, or None
        self.closed = False
        self.total = 0                # output bytes received
        self.input_max = input_max
        self._bl = bytearray(backlog)
        self._blmv = memoryview(self._bl)
        self._pos = 0                 # next write position in the backlog
        self._read_at = 0             # `total` when read() last returned
        self._lost = 0
        self._callbacks = []
        self._viewer = None
        self._inq = b""               # queued input, sent from _inoff on
        self._inoff = 0
        self._log = None
        self._logdir = logdir
        self._log_size = log_size
        self._log_keep = log_keep
        self._log_bytes = 0
        if logdir is not None:
            self._open_log()
        # Take over the indices the builder left (normally all zero).
        ocons, oprod = _xenring.indices(page, OUT)
        icons, iprod = _xenring.indices(page, IN)
        self._ocons = ocons
        self._iprod = iprod
        if ((oprod - ocons) & _M) > OUT[1] or ((iprod - icons) & _M) > IN[1]:
            self._corrupt("indices at start: out %d/%d, in %d/%d" % (ocons, oprod, icons, iprod))
            return
        channel.callback = self._event

    # ---- output side
    def _event(self, ch):
        ch.consume()
        self.service()

    def service(self):
        """Drain the output ring into the consumers and push queued input.
        Runs on every event; callable by hand (e.g. polling without events)."""
        if self.broken is not None or self.closed:
            return
        page = self.page
        bl = self._bl
        size = len(bl)
        moved = 0
        budget = 2 * OUT[1]           # fairness: what is there when we start
        while moved < budget:
            pos = self._pos
            try:
                n = _xenring.read(page, OUT, self._ocons, bl, pos)
            except OSError:
                cons, prod = _xenring.indices(page, OUT)
                self._corrupt("out ring: cons %d prod %d (ring %d)" % (cons, prod, OUT[1]))
                return
            if n == 0:
                break
            self._ocons = (self._ocons + n) & _M
            moved += n
            self.total += n
            end = pos + n
            self._pos = 0 if end == size else end
            self._deliver(self._blmv[pos:end])
        if moved:
            self.channel.notify()
        self._push_input()

    def _deliver(self, mv):
        if self._log is not None:
            self._write_log(mv)
        if self._callbacks:
            data = bytes(mv)
            for fn in self._callbacks:
                try:
                    fn(self, data)
                except Exception as e:
                    log("domain %d: callback %r failed: %r" % (self.domid, fn, e))
        v = self._viewer
        if v is not None:
            try:
                v.write(mv)
            except OSError:
                self._viewer = None

    def _corrupt(self, why):
        self.broken = why
        log("domain %d: console broken, stopped: %s" % (self.domid, why))
        try:
            self.channel.callback = None
        except OSError:
            pass

    # ---- backlog
    def _unread(self):
        n = self.total - self._read_at
        return n if n <= len(self._bl) else len(self._bl)

    @property
    def lost(self):
        """Output bytes that dropped out of the backlog before read()."""
        over = self.total - self._read_at - len(self._bl)
        return self._lost + (over if over > 0 else 0)

    def _tail(self, n):
        bl = self._bl
        pos = self._pos
        if n <= pos:
            return bytes(bl[pos - n:pos])
        return bytes(bl[len(bl) - (n - pos):]) + bytes(bl[:pos])

    def read(self):
        """The backlog not yet returned by read(): at most `backlog` bytes,
        the newest."""
        self._lost = self.lost
        n = self._unread()
        self._read_at = self.total
        return self._tail(n)

    def history(self):
        """The whole backlog (the newest output, read or not)."""
        n = self.total if self.total < len(self._bl) else len(self._bl)
        return self._tail(n)

    # ---- input side
    def write(self, data):
        """Send input to the guest. What the 1024-byte ring cannot take now
        is queued and sent as the guest consumes; input that would leave more
        than input_max bytes queued is refused whole (OSError ENOBUFS).
        Returns len(data)."""
        if self.closed:
            raise OSError(errno.EBADF)
        if self.broken is not None:
            raise OSError(errno.EIO)
        data = bytes(data)
        cons = _xenring.indices(self.page, IN)[0]
        free = IN[1] - ((self._iprod - cons) & _M)
        if free < 0:
            free = 0       # corrupt: _push_input below reports it
        if self.queued + len(data) - free > self.input_max:
            raise OSError(errno.ENOBUFS)
        if self._inoff:
            self._inq = self._inq[self._inoff:] + data
            self._inoff = 0
        elif self._inq:
            self._inq += data
        else:
            self._inq = data
        self._push_input()
        return len(data)

    @property
    def queued(self):
        """Input bytes waiting for room in the guest's ring."""
        return len(self._inq) - self._inoff

    def _push_input(self):
        if self._inoff >= len(self._inq) or self.broken is not None or self.closed:
            return
        try:
            n = _xenring.write(self.page, IN, self._iprod, self._inq, self._inoff)
        except OSError:
            cons, prod = _xenring.indices(self.page, IN)
            self._corrupt("in ring: cons %d prod %d (ring %d)" % (cons, prod, IN[1]))
            return
        if n:
            self._iprod = (self._iprod + n) & _M
            self._inoff += n
            if self._inoff >= len(self._inq):
                self._inq = b""
                self._inoff = 0
            self.channel.notify()

    # ---- consumers
    def add_callback(self, fn):
        """fn(console, data) for every chunk of output, in event context."""
        if not callable(fn):
            raise TypeError("console callback must be callable")
        self._callbacks.append(fn)

    def remove_callback(self, fn):
        if fn in self._callbacks:
            self._callbacks.remove(fn)

    def _log_path(self, i=0):
        p = "%s/console-%d.log" % (self._logdir, self.domid)
        return p if i == 0 else "%s.%d" % (p, i)

    def _open_log(self):
        try:
            self._log_bytes = os.stat(self._log_path())[6]
        except OSError:
            self._log_bytes = 0
        self._log = open(self._log_path(), "ab")

    def _write_log(self, mv):
        try:
            if self._log_bytes + len(mv) > self._log_size and self._log_bytes:
                self._rotate()
            self._log.write(mv)
            self._log.flush()
            self._log_bytes += len(mv)
        except OSError as e:
            log("domain %d: log file stopped: %r" % (self.domid, e))
            self._log = None

    def _rotate(self):
        self._log.close()
        for i in range(self._log_keep, 0, -1):
            src = self._log_path(i - 1)
            try:
                os.rename(src, self._log_path(i))
            except OSError:
                pass
        self._log = open(self._log_path(), "ab")
        self._log_bytes = 0

    def attach(self, stdin=None, stdout=None, escape=ESCAPE, replay=True):
        """Interactive console: replay the backlog, then live output; keys go
        to the guest until Ctrl-] (escape). Other consoles keep draining.
        One viewer at a time per console."""
        import select
        import micropython
        if self._viewer is not None:
            raise OSError(16, "EBUSY: console of domain %d already attached" % self.domid)
        fin = stdin if stdin is not None else sys.stdin.buffer
        fout = stdout if stdout is not None else sys.stdout.buffer
        if replay:
            fout.write(self.history())
        self.service()
        self._viewer = fout
        micropython.kbd_intr(-1)      # Ctrl-C is the guest's
        poller = select.poll()
        poller.register(fin, select.POLLIN)
        one = bytearray(1)
        try:
            while not self.closed:
                if not poller.poll(500):
                    continue
                keys = bytearray()
                while True:
                    if fin.readinto(one) != 1:
                        return
                    if one[0] == escape:
                        if keys:
                            self.write(keys)
                        return
                    keys.append(one[0])
                    if len(keys) >= 256 or not poller.poll(0):
                        break
                if self.broken is None:
                    self.write(keys)
        finally:
            self._viewer = None
            micropython.kbd_intr(3)

    def carry(self, data):
        """Put `data` into the backlog as if the guest had written it, for
        read() and history() only (no log file, callbacks or viewer): what a
        restarted domain's console starts with."""
        self._deliver_backlog(bytes(data))

    def _deliver_backlog(self, data):
        bl = self._bl
        size = len(bl)
        for i in range(0, len(data), size):
            chunk = data[i:i + size]
            pos = self._pos
            n = min(len(chunk), size - pos)
            bl[pos:pos + n] = chunk[:n]
            bl[:len(chunk) - n] = chunk[n:]
            self._pos = (pos + len(chunk)) % size
            self.total += len(chunk)

    @property
    def logging(self):
        """True while output goes to a log file."""
        return self._log is not None

    def save(self, path):
        """Append the backlog (the newest output) to the file `path`."""
        with open(path, "ab") as f:
            f.write(self.history())

    def close(self):
        """Stop serving: drain the ring one last time (a guest's last words
        before it died are still in it), then close the event channel and
        unmap the page (idempotent). The backlog stays readable."""
        if self.closed:
            return
        try:
            self.service()
        except Exception as e:
            log("domain %d: final drain failed: %r" % (self.domid, e))
        self.closed = True
        self._viewer = None
        try:
            self.channel.close()
        finally:
            try:
                self.page.close()
            finally:
                if self._log is not None:
                    self._log.close()
                    self._log = None

    def __repr__(self):
        state = "closed" if self.closed else ("broken" if self.broken else "live")
        return "<Console domain %d %s total=%d lost=%d>" % (self.domid, state, self.total, self.lost)


def _dom0():
    import xen
    return xen.get_dom0()


def serve(domid, gfn, remote_port, **kw):
    """Serve domain `domid`'s console: map its console page (guest frame
    `gfn`), bind the guest's unbound console event channel `remote_port` and
    drain on every event. Works on a paused domain (a builder calls it
    before unpause). Options: backlog, logdir, input_max, log_size,
    log_keep. Returns the Console; get(domid) finds it again."""
    return _dom0().serve_console(domid, gfn, remote_port, **kw)


def get(domid):
    """The console served for `domid` (KeyError if none)."""
    c = _dom0().consoles.get(domid)
    if c is None or c.closed:
        raise KeyError("no console served for domain %d" % domid)
    return c


def attach(domid, **kw):
    """Interactive console of domain `domid` (what `xl console` does): see
    Console.attach. xl.console(name_or_domid) resolves a name, then calls
    this."""
    return get(domid).attach(**kw)


def consoles():
    """{domid: Console} of every served console."""
    return {d: c for d, c in _dom0().consoles.items() if not c.closed}


def release(domid):
    """Close `domid`'s console if served (for domain teardown)."""
    _dom0().close_console(domid)
