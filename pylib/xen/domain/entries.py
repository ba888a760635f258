# xen.domain.entries: a domain's xenstore entries, as data, and the writes
# that create and remove them.
#
# Owns: the table of nodes a toolstack gives every domain (ENTRIES), their
# permissions, the fewest operations that create them, and which subtrees a
# domain's teardown removes.
# Must not know: how a domain is built (builder) or who owns the store (the
# caller passes an xenstore client: xen.dom0's).

# The domain's xenstore entries, as data. Paths are relative to the domain's
# home (/local/domain/<domid>) unless absolute. Values are str.format
# templates over the build's facts; None makes a directory. Who may do what:
#   RO    dom0 owns, the guest reads
#   RW    the guest owns (dom0, being privileged, keeps full access)
#   PRIV  dom0 only
RO, RW, PRIV = 0, 1, 2
ENTRIES = (
    ("", None, RO),
    ("name", "{name}", RO),
    ("domid", "{domid}", RO),
    ("vm", "/vm/{uuid}", RO),
    ("memory", None, RO),
    ("memory/static-max", "{maxmem_kb}", RO),
    ("memory/target", "{mem_kb}", RO),
    ("memory/videoram", "0", RO),
    ("store", None, RO),
    ("store/port", "{store_port}", RO),
    ("store/ring-ref", "{store_gfn}", RO),
    ("console", None, RO),
    ("console/port", "{console_port}", RO),
    ("console/ring-ref", "{console_gfn}", RO),
    ("console/type", "xenconsoled", RO),
    ("control", None, RO),
    ("control/shutdown", "", RW),
    ("control/feature-poweroff", "", RW),
    ("control/feature-reboot", "", RW),
    ("control/feature-suspend", "", RW),
    ("control/sysrq", "", RW),
    ("control/platform-feature-multiprocessor-suspend", "", RW),
    # our store implements XS_RESET_WATCHES: Linux sends it when this is 1
    ("control/platform-feature-xs_reset_watches", "1", RW),
    ("data", None, RW),
    ("drivers", None, RW),
    ("feature", None, RW),
    ("attr", None, RW),
    ("error", None, RW),
    ("device", None, RO),
    ("cpu", None, RO),
    ("/vm/{uuid}", None, RO),
    ("/vm/{uuid}/name", "{name}", RO),
    ("/vm/{uuid}/uuid", "{uuid}", RO),
    ("/vm/{uuid}/start_time", "{start_time}", RO),
    ("/libxl/{domid}", None, PRIV),
    ("/libxl/{domid}/type", "pvh", PRIV),
)


def home(domid):
    return "/local/domain/%d" % domid


def perms_for(kind, domid):
    if kind == RO:
        return ["n0", "r%d" % domid]
    if kind == RW:
        return ["n%d" % domid]
    return ["n0"]


def entries(facts, vcpus, maxvcpus):
    """[(absolute path, value or None, perms)] for one domain. A domain with
    no PV console (facts["console_port"] None: a boot-time domain with only
    vpl011) gets no console nodes."""
    d = facts["domid"]
    out = []
    for path, value, kind in ENTRIES:
        if facts.get("console_port") is None and path.startswith("console"):
            continue
        p = path.format(**facts)
        if not p.startswith("/"):
            p = home(d) + ("/" + p if p else "")
        out.append((p, None if value is None else value.format(**facts), perms_for(kind, d)))
    for i in range(maxvcpus):
        out.append(("%s/cpu/%d" % (home(d), i), None, perms_for(RO, d)))
        out.append(("%s/cpu/%d/availability" % (home(d), i),
                    "online" if i < vcpus else "offline", perms_for(RO, d)))
    return out


def owned_paths(domid, uuid):
    """The subtrees a domain's teardown removes."""
    return (home(domid), "/vm/" + uuid, "/libxl/%d" % domid)


def minimal_ops(items):
    """The fewest xenstore operations that create `items` [(path, value or
    None, perms)] (parents listed before children): a node created by a
    privileged caller copies its parent's ACL, so set_perms is needed only
    where the ACL differs from the inherited one, and a directory only needs
    its own mkdir when it has no children to create it."""
    perms = {}
    has_child = set()
    for path, value, p in items:
        has_child.add(path[:path.rfind("/")] or "/")
    ops = []
    for path, value, p in items:
        parent = path[:path.rfind("/")] or "/"
        inherited = perms.get(parent)
        if value is not None:
            ops.append(("write", path, value))
        elif path not in has_child or inherited != p:
            ops.append(("mkdir", path, None))
        if inherited != p:
            ops.append(("set_perms", path, p))
        perms[path] = p
    return ops


def write(xs, facts, vcpus, maxvcpus, extra=()):
    """Create the domain's entries in one transaction of client `xs`."""
    ops = minimal_ops(entries(facts, vcpus, maxvcpus) + list(extra))

    def tx(t):
        for op, path, arg in ops:
            if op == "write":
                t.write(path, arg)
            elif op == "mkdir":
                t.mkdir(path)
            else:
                t.set_perms(path, arg)
    xs.transact(tx)


def remove(xs, domid, uuid, extra=()):
    """Remove what write() created (a missing subtree is fine)."""
    for p in owned_paths(domid, uuid) + tuple(extra):
        try:
            xs.rm(p)
        except OSError as e:
            if e.errno != 2:
                raise
