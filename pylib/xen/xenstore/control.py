# XS_CONTROL: the operator's commands, as Debian's xenstore-control sends
# them ("cmd\0arg\0...\0"), answered in cxenstored 4.17's formats:
#   help                      the commands, "name\tparameters\n" each
#   check                     consistency check of tree and accounting
#   log on|off                trace every request and reply to the log
#   memreport [FILE]          memory report to the log, or appended to FILE
#   print STRING              STRING to the log
#   quota [set NAME VAL|DOMID]   hard quotas, or one domain's usage
#   quota-soft [set NAME VAL]    soft quotas (a warning only)
# Anything else (live-update, logfile, unknown words, wrong argument
# counts) is EINVAL: what cxenstored answers to a command it does not
# know, and what makes xenstore-control list the valid ones.
#
# Loaded by the core on the first CONTROL request (the caller's privilege
# is already checked). It owns the command table and the reply texts; it
# knows no transport and opens no file: output goes through the core's
# injected log and write_file callables.
from .node import XsError, _uint, DOMID_LIMIT
from . import wire

# (name, description) in cxenstored's order and words.
_HARD = (
    ("nodes", "Nodes per domain"),
    ("watches", "Watches per domain"),
    ("transactions", "Transactions per domain"),
    ("outstanding", "Outstanding requests per domain"),
    ("transaction-nodes", "Max. number of accessed nodes per transaction"),
    ("memory", "Total Xenstore memory per domain (error level)"),
    ("node-size", "Max. size of a node"),
    ("path-max", "Max. length of a node path"),
    ("permissions", "Max. number of permissions per node"),
)
_SOFT = (
    ("memory", "Total Xenstore memory per domain (warning level)"),
)


def _einval():
    return XsError(b"EINVAL")


def _check(store, conn, args):
    if args:
        raise _einval()
    try:
        store.check()
    except AssertionError as e:
        # cxenstored repairs what it finds and says OK; we have nothing to
        # repair with, so the operator gets an error and the log the cause.
        store.log("xenstore: check: %s" % e)
        raise XsError(b"EIO")
    return None


def _log(store, conn, args):
    if len(args) != 1:
        raise _einval()
    if args[0] == b"on":
        trace(store, True)
    elif args[0] == b"off":
        trace(store, False)
    else:
        raise _einval()
    return None


def _memreport(store, conn, args):
    if len(args) > 1:
        raise _einval()
    text = report(store)
    if not args:
        for line in text.split("\n"):
            if line:
                store.log("xenstore: " + line)
        return None
    w = store.write_file
    if w is None or not args[0]:
        raise _einval()         # nowhere to write here (cxenstored: EBADF)
    try:
        w(args[0].decode(), text)
    except (OSError, UnicodeError):
        raise _einval()         # cxenstored: EBADF, sent as EINVAL
    return None


def _print(store, conn, args):
    if len(args) != 1:
        raise _einval()
    store.log("xenstore: control: %s" % _text(args[0]))
    return None


def _show(table, values):
    out = ["Quota settings:\n"]
    for name, descr in table:
        out.append("%-17s: %8d %s\n" % (name, values[name], descr))
    return "".join(out).encode() + b"\x00"


def _set(args, table, values, store):
    if len(args) != 2:
        raise _einval()
    val = _uint(args[1], 0x7FFFFFFF)    # plain digits (cxenstored: atoi)
    if val < 1:
        raise _einval()
    for name, _ in table:
        if name.encode() == args[0]:
            if values is store.quota:
                store.set_quota(name, val)
            else:
                values[name] = val
            return None
    raise _einval()


def _quota(store, conn, args):
    if not args:
        return _show(_HARD, store.quota)
    if args[0] == b"set":
        return _set(args[1:], _HARD, store.quota, store)
    if len(args) != 1:
        raise _einval()
    domid = _uint(args[0])
    d = store.domains.get(domid) if domid < DOMID_LIMIT else None
    if d is None:
        raise XsError(b"ENOENT")
    c = d.conn
    out = ["Domain %d:\n" % domid]
    for name, v in (("nodes", d.nodes), ("watches", d.watches), ("transactions", d.trans),
                    ("outstanding", c.nreplies if c is not None else 0), ("memory", d.mem)):
        out.append("%-16s: %8d\n" % (name, v))
    return "".join(out).encode() + b"\x00"


def _quota_soft(store, conn, args):
    if not args:
        return _show(_SOFT, store.soft)
    if args[0] == b"set":
        return _set(args[1:], _SOFT, store.soft, store)
    raise _einval()


def _help(store, conn, args):
    if args:
        raise _einval()
    return "".join("%s\t%s\n" % (c[0], c[2]) for c in COMMANDS).encode() + b"\x00"


# name, function, parameters (as help shows them)
COMMANDS = (
    ("check", _check, ""),
    ("log", _log, "on|off"),
    ("memreport", _memreport, "[<file>]"),
    ("print", _print, "<string>"),
    ("quota", _quota, "[set <name> <val>|<domid>]"),
    ("quota-soft", _quota_soft, "[set <name> <val>]"),
    ("help", _help, ""),
)


def control(store, conn, payload):
    """One CONTROL request: the reply payload, or None for OK."""
    n = len(payload)
    if not n or payload[n - 1] != 0:
        raise _einval()
    args = payload[:n - 1].split(b"\x00")
    cmd = args[0]
    for c in COMMANDS:
        if c[0].encode() == cmd:
            return c[1](store, conn, args[1:])
    raise _einval()


def report(store):
    """The memory report (text): heap, tree, and each domain's accounting."""
    out = ["xenstore memory report"]
    try:
        import gc
        out.append("heap: %d bytes used, %d free" % (gc.mem_alloc(), gc.mem_free()))
    except (ImportError, AttributeError):
        pass
    out.append("nodes %d, watches %d, open transactions %d, shared ACLs %d, generation %d"
               % (len(store.tree), store.nwatches, store.ntx, len(store._acls), store.gen))
    for domid in sorted(store.domains):
        d = store.domains[domid]
        out.append("domain %d: nodes %d, memory %d, watches %d, transactions %d, "
                   "dropped events %d%s" % (domid, d.nodes, d.mem, d.watches, d.trans, d.dropped,
                                            "" if d.introduced else " (not introduced)"))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------ request trace
def trace(store, on):
    """Log every request and the replies and events it queues on its own
    connection, as cxenstored's trace file does ("log on"). While off, the
    request path is the class's handle(), untouched."""
    if not on:
        if getattr(store, "_tracing", False):
            del store.handle
            store._tracing = False
        return
    if getattr(store, "_tracing", False):
        return
    handle = type(store).handle
    log = store.log

    def traced(conn, typ, req_id, tx_id, payload):
        who = "dom%d/%s/%x" % (conn.domid, conn.kind, id(conn) & 0xFFFFFF)
        log("xenstore: IN  %s %s %d %d (%s)" % (who, _tname(typ), req_id, tx_id, _args(payload)))
        n = len(conn.out)
        handle(store, conn, typ, req_id, tx_id, payload)
        for pkt in conn.out[n:]:
            h = wire.parse_header(pkt)
            log("xenstore: OUT %s %s %d %d (%s)" % (who, _tname(h[0]), h[1], h[2],
                                                    _args(pkt[16:16 + h[3]])))
    store.handle = traced
    store._tracing = True


def _tname(typ):
    return wire.NAMES.get(typ, "%d" % typ)


def _args(b):
    if len(b) > 256:
        b = b[:256] + b"..."
    return _text(b.replace(b"\x00", b" "))


def _text(b):
    try:
        return b.decode()
    except UnicodeError:
        return repr(b)
