"""Side-by-side helpers: Debian's cxenstored 4.17 under the fakexen
LD_PRELOAD shim, and randomized op sequences replayed on two servers."""
import os
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

from xenheaders import XEN as X     # message types from Xen's xs_wire.h
from xslib import RawClient

CXENSTORED = Path("/usr/lib/xen-4.17/bin/xenstored")
SHIM_SRC = Path(__file__).resolve().parent / "fakexen" / "fakexen.c"
RESTRICT = X.XS_SET_TARGET + 1      # XS_RESTRICT, withdrawn from the protocol
PAST_NEWEST = 27                    # one past XS_SET_QUOTA (26), the newest type


def build_shim(outdir):
    so = Path(outdir) / "fakexen.so"
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc, "a C compiler is needed to build the fakexen shim"
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(so), str(SHIM_SRC), "-ldl"], check=True)
    return so


class CXenstored:
    """cxenstored under the shim. domains: the domids that exist for it
    (the shim's xc_domain_getinfo); our daemon's simulated Xen has only
    dom0, so that is the default. None: every domid exists."""

    def __init__(self, workdir, args=(), domains=(0,)):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        so = build_shim(workdir)
        self.workdir = workdir
        if domains is not None:
            self.set_domains(domains)
        (workdir / "xsd_kva").write_bytes(bytes(4096))
        (workdir / "xsd_port").write_text("1\n")
        self.path = str(workdir / "cx.sock")
        env = dict(os.environ, FAKEXEN_DIR=str(workdir), XENSTORED_PATH=self.path,
                   LD_PRELOAD=str(so))
        self.proc = subprocess.Popen([str(CXENSTORED), "-N", *args], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(self.path):
            assert self.proc.poll() is None, "cxenstored exited"
            assert time.time() < deadline, "cxenstored did not come up"
            time.sleep(0.02)
        time.sleep(0.05)
        self.env = dict(os.environ, XENSTORED_PATH=self.path)

    def set_domains(self, domains):
        """Which domains exist from now on (read by the shim on each call)."""
        (self.workdir / "domains").write_text(" ".join(str(d) for d in domains) + "\n")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


NAMES = ["a", "b", "c", "d-1", "_e", "0", "x@y"]
VALUES = [b"", b"v", b"1", b"a\x00b", b"z" * 100]
PERMS = [b"n0", b"r1", b"w2", b"b3", b"r0", b"n5", b"q1", b"r", b"w70000"]


def gen_ops(r, root, n):
    """A list of (conn, type, payload, tx_slot) steps under `root`."""
    ops = []
    for _ in range(n):
        depth = r.randint(0, 3)
        path = (root + "/" + "/".join(r.choice(NAMES) for _ in range(depth))).rstrip("/")
        if r.random() < 0.05:
            path = r.choice([path + "/", path + "//x", "bad path", "", root + "/" + "é",
                             "rel/" + r.choice(NAMES)])
        p = path.encode("utf-8")
        conn = r.randint(0, 1)
        tx = r.choice([None, None, None, 0, 1]) if r.random() < 0.4 else None
        k = r.random()
        if k < 0.22:
            op = (X.XS_WRITE, p + b"\x00" + r.choice(VALUES))
        elif k < 0.36:
            op = (X.XS_READ, p + b"\x00")
        elif k < 0.44:
            op = (X.XS_MKDIR, p + b"\x00")
        elif k < 0.52:
            op = (X.XS_RM, p + b"\x00")
        elif k < 0.60:
            op = (X.XS_DIRECTORY, p + b"\x00")
        elif k < 0.64:
            op = (X.XS_GET_PERMS, p + b"\x00")
        elif k < 0.70:
            perms = r.sample(PERMS, r.randint(1, 3))
            op = (X.XS_SET_PERMS, p + b"\x00" + b"".join(x + b"\x00" for x in perms))
        elif k < 0.76:
            op = (X.XS_WATCH, p + b"\x00tok" + str(r.randint(0, 2)).encode() + b"\x00")
        elif k < 0.79:
            op = (X.XS_UNWATCH, p + b"\x00tok" + str(r.randint(0, 2)).encode() + b"\x00")
        elif k < 0.84:
            op = ("txstart", r.randint(0, 1))
        elif k < 0.90:
            op = ("txend", r.randint(0, 1), r.choice([b"T\x00", b"F\x00"]))
        elif k < 0.92:
            op = (X.XS_DIRECTORY_PART, p + b"\x00" + str(r.randint(0, 8)).encode() + b"\x00")
        elif k < 0.94:
            op = (X.XS_GET_DOMAIN_PATH, str(r.randint(0, 40)).encode() + b"\x00")
        elif k < 0.96:
            op = (r.choice([RESTRICT, PAST_NEWEST, 99]), p + b"\x00")
        elif k < 0.98:
            # (no zero-length, unterminated or extra-NUL payloads here:
            # cxenstored may then read stale buffer bytes or drop the
            # connection; we answer EINVAL, see test_core.py)
            op = (r.choice([X.XS_READ, X.XS_WRITE, X.XS_WATCH, X.XS_SET_PERMS, X.XS_DIRECTORY,
                            X.XS_RM]), b"\x00")
            tx = None
        else:
            op = (X.XS_IS_DOMAIN_INTRODUCED, str(r.randint(0, 3)).encode() + b"\x00")
        ops.append((conn, op, tx))
    return ops


_GEN = re.compile(rb"^[0-9a-f]+\x00")


class Side:
    def __init__(self, path):
        self.c = [RawClient(path), RawClient(path)]
        self.tx = [[None, None], [None, None]]     # per conn: slot -> server tx id

    def close(self):
        for c in self.c:
            c.close()

    def step(self, conn, op, tx):
        c = self.c[conn]
        if op[0] == "txstart":
            t, r, x, b = c.call(X.XS_TRANSACTION_START, b"\x00")
            if t == X.XS_TRANSACTION_START:
                self.tx[conn][op[1]] = int(b[:-1])
                return (t, b"<tx>")
            return (t, b)
        if op[0] == "txend":
            txid = self.tx[conn][op[1]]
            if txid is None:
                return ("skip",)
            self.tx[conn][op[1]] = None
            t, r, x, b = c.call(X.XS_TRANSACTION_END, op[2], tx=txid)
            return (t, b)
        typ, payload = op
        txid = 0
        if tx is not None:
            txid = self.tx[conn][tx]
            if txid is None:
                txid = 0
        t, r, x, b = c.call(typ, payload, tx=txid)
        if typ == X.XS_DIRECTORY_PART and t == X.XS_DIRECTORY_PART:
            b = _GEN.sub(b"<gen>\x00", b, count=1)
        return (t, b)

    def events(self):
        """Watch events seen so far per connection (drained). A round trip
        on each connection first: both servers send a connection's events
        before any later reply on it, so every event queued so far is in
        (a timed drain missed late events on a loaded machine)."""
        out = []
        for c in self.c:
            t, r, x, b = c.call(X.XS_GET_DOMAIN_PATH, b"0\x00", req_id=0xFEED)
            assert t == X.XS_GET_DOMAIN_PATH and r == 0xFEED, (t, r, b)
            out.append(sorted(c.events))
            c.events = []
        return out


# Payload shapes each type must have: number of NUL-terminated strings
# (None: any). We answer EINVAL to anything else; cxenstored is lenient
# there (reads the first string, tolerates extra NULs, and with an
# unterminated string reads stale buffer bytes). Documented in
# docs/xenstore-security.md as a justified divergence.
_SHAPE = {X.XS_READ: 1, X.XS_DIRECTORY: 1, X.XS_MKDIR: 1, X.XS_RM: 1, X.XS_GET_PERMS: 1,
          X.XS_WATCH: 2, X.XS_UNWATCH: 2, X.XS_DIRECTORY_PART: 2, X.XS_GET_DOMAIN_PATH: 1,
          X.XS_IS_DOMAIN_INTRODUCED: 1}


def justified(op, ours, theirs, tx=None):
    """A divergence explained by our stricter request validation, or by
    cxenstored's early EIO inside a transaction that a concurrent change
    has already doomed (both end in EAGAIN at commit)."""
    if tx is not None and theirs == (X.XS_ERROR, b"EIO\x00") and ours[0] != X.XS_ERROR:
        return True
    # A node this transaction removed stays removed for it even when another
    # connection re-creates it; cxenstored shows the re-created node. The
    # commit fails with EAGAIN on both.
    if tx is not None and ours == (X.XS_ERROR, b"ENOENT\x00") and theirs[0] == op[0]:
        return True
    # RM inside a transaction of a node another connection created after the
    # transaction started: cxenstored answers EINVAL; the removal is valid
    # by the generation rule (a node is checked from its first access in the
    # transaction), so we perform it (docs/xenstore-security.md).
    if (tx is not None and op[0] == X.XS_RM and ours == (X.XS_RM, b"OK\x00")
            and theirs == (X.XS_ERROR, b"EINVAL\x00")):
        return True
    if not isinstance(op[0], int) or ours != (X.XS_ERROR, b"EINVAL\x00"):
        return False
    typ, payload = op
    want = _SHAPE.get(typ)
    if want is None:
        return False
    if not payload.endswith(b"\x00"):
        return True
    return payload[:-1].count(b"\x00") + 1 != want or b"\x00\x00" in payload


def replay(ours_path, theirs_path, seeds, steps=30, justified_out=None):
    """Replay one op sequence per seed on both servers; returns divergences."""
    div = []
    a = Side(ours_path)
    b = Side(theirs_path)
    try:
        for seed in seeds:
            r = random.Random(seed)
            root = "/diff/s%d" % seed
            for i, (conn, op, tx) in enumerate(gen_ops(r, root, steps)):
                ra = a.step(conn, op, tx)
                rb = b.step(conn, op, tx)
                if ra != rb and justified(op, ra, rb, tx):
                    if justified_out is not None:
                        justified_out.append({"seed": seed, "step": i, "op": repr(op),
                                              "ours": repr(ra), "cxenstored": repr(rb)})
                elif ra != rb:
                    div.append({"seed": seed, "step": i, "op": repr(op), "tx": tx,
                                "ours": repr(ra), "cxenstored": repr(rb)})
            ea, eb = a.events(), b.events()
            if ea != eb:
                div.append({"seed": seed, "step": "events", "ours": repr(ea), "cxenstored": repr(eb)})
            # end open transactions, clean up
            for side in (a, b):
                for ci in (0, 1):
                    for slot in (0, 1):
                        if side.tx[ci][slot] is not None:
                            side.step(ci, ("txend", slot, b"F\x00"), None)
                side.c[0].call(X.XS_RM, root.encode() + b"\x00")
                side.c[0].call(X.XS_RESET_WATCHES, b"")
                side.c[1].call(X.XS_RESET_WATCHES, b"")
            a.events()
            b.events()
    finally:
        a.close()
        b.close()
    return div
