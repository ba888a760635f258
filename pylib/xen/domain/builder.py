# xen.domain.builder: domain_create's hypercall sequence (Arm64), with
# rollback. Everything that can be checked without the hypervisor (config,
# images, layout, name, labels) is checked first; from createdomain on, every
# step registers its undo, and a failure undoes all of it and raises
# BuildError naming the step.
import time
import _xen
from xen.domain import config as _config
from xen.domain import arm64, image, fdt, devices

PAGE = 4096
MiB = 1 << 20
NR_MAGIC = 4            # console, xenstore, (memaccess, vuart) pages at GUEST_MAGIC_BASE
CONSOLE_OFF = 0
XENSTORE_OFF = 1
MAXMEM_SLACK_KB = 1024  # room for the magic pages and ballooning slack, as xl allows
CHUNK = 512             # pages mapped at a time while loading (2 MiB)
EXTENT = 9              # RAM is populated in 2 MiB extents


class DomainError(Exception):
    pass


class BuildError(DomainError):
    """domain_create failed at `step`; nothing of the domain is left."""

    def __init__(self, name, step, cause):
        self.step = step
        self.cause = cause
        msg = "domain %s: %s failed: %s" % (name, step, describe(cause))
        if isinstance(cause, OSError) and cause.args and cause.args[0] == _EACCES:
            # Xen refuses a domctl of the wrong interface version with EACCES
            # too: say which release and interface this firmware spoke.
            msg += " (%s)" % speaking()
        super().__init__(msg)


_EACCES = 13


def speaking():
    """'Xen 4.20, domctl 0x17, sysctl 0x15': what this firmware speaks now."""
    try:
        a = _xen.abi()
    except OSError as e:
        return describe(e)
    return "Xen %s, domctl 0x%x, sysctl 0x%x" % (a["release"], a["domctl"], a["sysctl"])


def describe(e):
    if isinstance(e, OSError) and e.args and isinstance(e.args[0], int):
        s = "[Errno %d] %s" % (e.args[0], _xen.errorcode.get(e.args[0], "?"))
        if len(e.args) > 1 and e.args[1] != _xen.errorcode.get(e.args[0]):
            s += ": %s" % e.args[1]
        return s
    return "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__


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
    ("control/platform-feature-xs_reset_watches", "", RW),
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
    """[(absolute path, value or None, perms)] for one domain."""
    d = facts["domid"]
    out = []
    for path, value, kind in ENTRIES:
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


def _random16():
    try:
        import os
        return bytearray(os.urandom(16))
    except (ImportError, AttributeError):
        # ports without os.urandom (Zephyr): MicroPython's random is seeded
        # from the platform's entropy source there
        import random
        return bytearray(random.getrandbits(8) for _ in range(16))


def uuid4():
    b = _random16()
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = "".join("%02x" % x for x in b)
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def uuid_bytes(u):
    import binascii
    return binascii.unhexlify(u.replace("-", ""))


# ------------------------------------------------------------- labels

def _sid(label, what):
    if isinstance(label, int):
        return label
    try:
        return _xen.flask_context_to_sid(label)
    except OSError as e:
        if e.errno == 38:   # ENOSYS: XSM is dummy or SILO
            raise DomainError("%s %r requested but XSM/FLASK is not active in the hypervisor"
                              " (boot Xen with xsm=flask); no domain was created" % (what, label))
        raise DomainError("%s %r: the hypervisor refused the label (%s); no domain was created"
                          % (what, label, describe(e)))


def labels(cfg):
    """(ssidref to create with, ssidref after build or None)."""
    if cfg["seclabel"] is None:
        return 0, None
    run = _sid(cfg["seclabel"], "seclabel")
    if cfg["init_seclabel"] is None:
        return run, None
    return _sid(cfg["init_seclabel"], "init_seclabel"), run


# ------------------------------------------------------------- loading

EFAULT = 14
BOUNCE = 256 * 1024     # bounce buffer when a file cannot be read straight into guest memory


def _readfull(img, buf, bounce):
    """Fill buf from img; -> bytes read (short only at the end of the image).
    Reads go straight into buf (mapped guest memory). Some files refuse that:
    9p, for one, pins the reader's pages for a zero-copy transfer, which a
    foreign mapping cannot give, and the read fails with EFAULT having read
    nothing. From then on (bounce[0] set) the data passes through a heap
    buffer."""
    n = 0
    while n < len(buf):
        b = bounce[0]
        if b is None:
            try:
                k = img.readinto(buf[n:])
            except OSError as e:
                if not e.args or e.args[0] != EFAULT:
                    raise
                bounce[0] = bytearray(min(BOUNCE, CHUNK * PAGE))
                continue
        else:
            want = min(len(b), len(buf) - n)
            k = img.readinto(memoryview(b)[:want])
            if k:
                buf[n:n + k] = memoryview(b)[:k]
        if not k:
            break
        n += k
    return n


def load(domid, img, addr, room):
    """Stream an image into guest memory at `addr`, at most `room` bytes."""
    total = 0
    gfn = addr >> 12
    off = addr & (PAGE - 1)
    end = addr + room
    bounce = [None]
    while True:
        left = (end - ((gfn << 12) + off) + off + PAGE - 1) >> 12
        if left <= 0:
            if img.readinto(bytearray(1)):
                raise image.ImageError(img.name, "larger than the %d bytes of guest memory available" % room)
            break
        n = min(CHUNK, left)
        with _xen.map(domid, range(gfn, gfn + n)) as m:
            mv = memoryview(m)[off:]
            if len(mv) > end - ((gfn << 12) + off):
                mv = mv[:end - ((gfn << 12) + off)]
            got = _readfull(img, mv, bounce)
        total += got
        if got < len(mv):
            break
        gfn += n
        off = 0
    img.close()
    _xen.cacheflush(domid, addr >> 12, ((addr + total + PAGE - 1) >> 12) - (addr >> 12))
    return total


def write(domid, addr, data):
    first = addr >> 12
    last = (addr + len(data) - 1) >> 12
    with _xen.map(domid, range(first, last + 1)) as m:
        off = addr & (PAGE - 1)
        m[off:off + len(data)] = data
    _xen.cacheflush(domid, first, last - first + 1)


# ------------------------------------------------------------- the build

class _Undo:
    def __init__(self):
        self.items = []

    def push(self, fn, *args):
        self.items.append((fn, args))

    def run(self):
        errors = []
        while self.items:
            fn, args = self.items.pop()
            try:
                fn(*args)
            except Exception as e:
                errors.append(e)
        return errors


def _gic_name(v):
    return "v2" if v == _xen.XEN_DOMCTL_CONFIG_GIC_V2 else "v3"


_GIC = {"native": "XEN_DOMCTL_CONFIG_GIC_NATIVE", "v2": "XEN_DOMCTL_CONFIG_GIC_V2",
        "v3": "XEN_DOMCTL_CONFIG_GIC_V3"}


def load_config(cfg):
    if isinstance(cfg, str):
        return _config.load(cfg)
    if isinstance(cfg, dict):
        return _config.validate(cfg)
    raise TypeError("domain config must be a dict or the path of an xl.cfg file")


def _open_images(c):
    kernel = image.open_kernel(c["kernel"])
    ramdisk = None
    partial = None
    try:
        if c["ramdisk"]:
            ramdisk = image.open_ramdisk(c["ramdisk"])
        if c["device_tree"]:
            partial = _partial_dtb(c["device_tree"])
    except Exception:
        kernel.close()
        if ramdisk is not None:
            ramdisk.close()
        raise
    return kernel, ramdisk, partial


def _partial_dtb(src):
    # device_tree: a DTB (a path or a readable object) whose passthrough
    # nodes the guest's tree takes in
    name = src if isinstance(src, str) else "device_tree"
    try:
        if isinstance(src, str):
            with open(src, "rb") as f:
                data = f.read()
        else:
            data = src.read()
    except OSError as e:
        raise image.ImageError(name, "device_tree: cannot read (%s)" % describe(e))
    try:
        return fdt.parse(data)
    except Exception as e:
        raise image.ImageError(name, "device_tree: not a device tree blob (%s)" % e)


def _plan(consts, c, kernel, ramdisk, partial, gic, version):
    return arm64.build(consts, kernel, c["memory"], c["maxvcpus"], gic, version,
                       cmdline=c["cmdline"], initrd_size=ramdisk.size if ramdisk else 0,
                       tee=c["tee"], partial=partial)


def build(c, services, paused=False, name_in_use=None, backend_id=None):
    """Build the domain described by the validated config `c`. Returns
    (domid, facts). `services` gives the xenstore/console side:
    services.introduce(domid, gfn, port), services.release(domid),
    services.console_attach(domid, gfn, port), services.console_detach(domid).
    """
    name = c["name"]
    # ---- checks that touch nothing
    if name_in_use is not None:
        other = name_in_use(name)
        if other is not None:
            raise DomainError("domain name %r is already used by domain %d" % (name, other))
    consts = arm64.constants()
    try:
        _xen.abi()      # a release this firmware does not speak stops here, by name
        version = _xen.version()
    except OSError as e:
        raise BuildError(name, "xen_version", e)
    kernel, ramdisk, partial = _open_images(c)
    try:
        # layout check with the GIC we will most likely get; redone after
        # create only if Xen chose another one
        guess = "v3" if c["gic_version"] == "native" else c["gic_version"]
        plan = _plan(consts, c, kernel, ramdisk, partial, guess, version)
        ssid, exec_ssid = labels(c)
        devs = devices.plan(0, c, backend_id or (lambda name: None))
    except Exception as e:
        kernel.close()
        if ramdisk is not None:
            ramdisk.close()
        if isinstance(e, OSError):
            raise BuildError(name, "xsm labels", e)
        raise
    uuid = c["uuid"] or uuid4()
    irqs = c["irqs"]
    nr_spis = (max(irqs) - 31) if irqs else 0
    flags = _xen.XEN_DOMCTL_CDF_hvm | _xen.XEN_DOMCTL_CDF_hap
    if c["dtdev"] or c["passthrough"] in ("enabled", "share_pt", "sync_pt"):
        flags |= _xen.XEN_DOMCTL_CDF_iommu
    undo = _Undo()
    step = "createdomain"
    domid = None
    try:
        out = {}
        domid = _xen.createdomain(
            flags=flags, max_vcpus=c["maxvcpus"], max_evtchn_port=c["max_event_channels"],
            max_grant_frames=c["max_grant_frames"], max_maptrack_frames=c["max_maptrack_frames"],
            ssidref=ssid, handle=uuid_bytes(uuid), gic_version=getattr(_xen, _GIC[c["gic_version"]]),
            tee_type=(_xen.XEN_DOMCTL_CONFIG_TEE_OPTEE if c["tee"] == "optee" else _xen.XEN_DOMCTL_CONFIG_TEE_NONE),
            nr_spis=nr_spis, out=out)
        undo.push(_xen.destroydomain, domid)
        gic = _gic_name(out["gic_version"])

        step = "max_vcpus"
        _xen.max_vcpus(domid, c["maxvcpus"])
        step = "set_address_size"
        _xen.set_address_size(domid, 64)
        maxmem_kb = c["maxmem"] * 1024
        step = "max_mem"
        _xen.max_mem(domid, maxmem_kb + MAXMEM_SLACK_KB)
        step = "paging mempool"
        _xen.set_paging_mempool_size(domid, arm64.paging_pool_bytes(c["maxvcpus"], maxmem_kb))

        step = "event channels"
        store_port = _xen.evtchn_alloc_unbound(domid, 0)
        console_port = _xen.evtchn_alloc_unbound(domid, 0)

        step = "magic pages"
        magic = _xen.GUEST_MAGIC_BASE >> 12
        frames = [magic + i for i in range(NR_MAGIC)]
        _xen.populate_physmap(domid, frames)
        with _xen.map(domid, frames) as m:
            memoryview(m)[:] = bytes(len(m))
        _xen.cacheflush(domid, magic, NR_MAGIC)
        console_gfn = magic + CONSOLE_OFF
        store_gfn = magic + XENSTORE_OFF

        step = "hvm params"
        _xen.hvm_set_param(domid, _xen.HVM_PARAM_CONSOLE_PFN, console_gfn)
        _xen.hvm_set_param(domid, _xen.HVM_PARAM_STORE_PFN, store_gfn)
        _xen.hvm_set_param(domid, _xen.HVM_PARAM_STORE_EVTCHN, store_port)
        _xen.hvm_set_param(domid, _xen.HVM_PARAM_CONSOLE_EVTCHN, console_port)

        if gic != guess:
            step = "guest layout"
            plan = _plan(consts, c, kernel, ramdisk, partial, gic, version)

        step = "guest RAM"
        for base, size in plan["banks"]:
            _xen.populate_physmap(domid, range(base >> 12, (base + size) >> 12, 1 << EXTENT), EXTENT)

        step = "kernel"
        load(domid, kernel, plan["kernel_addr"], plan["kernel_room"])
        if ramdisk is not None:
            step = "ramdisk"
            load(domid, ramdisk, plan["initrd_addr"], plan["initrd_size"])
        step = "device tree"
        write(domid, plan["dtb_addr"], plan["dtb"])

        step = "passthrough"
        for r in c["iomem"]:
            _xen.iomem_permission(domid, r["start"], r["number"])
            _xen.memory_mapping(domid, r["gfn"], r["start"], r["number"])
        for irq in irqs:
            _xen.bind_pt_irq(domid, irq)
        for path in c["dtdev"]:
            _xen.assign_device(domid, path)

        step = "vcpu context"
        _xen.setvcpucontext(domid, 0, plan["vcpu0"])

        facts = {"name": name, "domid": domid, "uuid": uuid, "maxmem_kb": maxmem_kb,
                 "mem_kb": c["memory"] * 1024, "store_port": store_port, "store_gfn": store_gfn,
                 "console_port": console_port, "console_gfn": console_gfn,
                 "start_time": "%d" % time.time(),
                 "backend_dirs": devices.backend_dirs(domid, devs)}
        step = "xenstore entries"
        undo.push(_remove_entries, domid, uuid, facts["backend_dirs"])
        write_entries(facts, c["vcpus"], c["maxvcpus"], devices.entries(domid, devs))

        step = "xenstore introduce"
        undo.push(services.release, domid)
        services.introduce(domid, store_gfn, store_port)

        step = "console"
        undo.push(services.console_detach, domid)
        services.console_attach(domid, console_gfn, console_port)

        if exec_ssid is not None:
            step = "relabel"
            _xen.flask_relabel_domain(domid, exec_ssid)

        if not paused:
            step = "unpause"
            _xen.unpausedomain(domid)
        return domid, facts
    except Exception as e:
        kernel.close()
        if ramdisk is not None:
            ramdisk.close()
        undo.run()
        if domid is not None:
            _wait_gone(domid)
        if isinstance(e, (DomainError, image.ImageError)) and step == "guest layout":
            raise
        raise BuildError(name, step, e)


def _wait_gone(domid):
    # After destroydomain the domain lingers as dying until Xen has released
    # it; give it a moment so a caller sees the clean state.
    for _ in range(100):
        try:
            _xen.getdomaininfo(domid)
        except OSError:
            return
        time.sleep_ms(1)


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


def write_entries(facts, vcpus, maxvcpus, extra=()):
    from xen import xenstore
    ops = minimal_ops(entries(facts, vcpus, maxvcpus) + list(extra))

    def tx(t):
        for op, path, arg in ops:
            if op == "write":
                t.write(path, arg)
            elif op == "mkdir":
                t.mkdir(path)
            else:
                t.set_perms(path, arg)
    xenstore.transact(tx)


def _remove_entries(domid, uuid, extra=()):
    from xen import xenstore
    for p in owned_paths(domid, uuid) + tuple(extra):
        try:
            xenstore.rm(p)
        except OSError as e:
            if e.errno != 2:
                raise
