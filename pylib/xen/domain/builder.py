# xen.domain.builder: how a domain is built (Arm64), in two steps.
#   plan(c, view)   decides: the name is free, the images open and fit, the
#                   layout, labels and devices; touches neither the
#                   hypervisor nor dom0's state (`view` answers questions)
#   execute(plan)   the hypercalls, each with its undo; a failure undoes all
#                   of it and raises BuildError naming the step. The domain
#                   is left paused; finish() relabels and unpauses it after
#                   dom0 has attached it (xen.dom0).
# Must not know: xenstore, consoles or the registry of domains (xen.dom0
# owns them) - nothing here calls back up.
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

def _sid(label, what, sid):
    if isinstance(label, int):
        return label
    try:
        return sid(label)
    except OSError as e:
        if e.errno == 38:   # ENOSYS: XSM is dummy or SILO
            raise DomainError("%s %r requested but XSM/FLASK is not active in the hypervisor"
                              " (boot Xen with xsm=flask); no domain was created" % (what, label))
        raise DomainError("%s %r: the hypervisor refused the label (%s); no domain was created"
                          % (what, label, describe(e)))


def labels(cfg, sid):
    """(ssidref to create with, ssidref after build or None); sid(label)
    asks FLASK."""
    if cfg["seclabel"] is None:
        return 0, None
    run = _sid(cfg["seclabel"], "seclabel", sid)
    if cfg["init_seclabel"] is None:
        return run, None
    return _sid(cfg["init_seclabel"], "init_seclabel", sid), run


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

class Undo:
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


def _layout(consts, c, kernel, ramdisk, partial, gic, version):
    return arm64.build(consts, kernel, c["memory"], c["maxvcpus"], gic, version,
                       cmdline=c["cmdline"], initrd_size=ramdisk.size if ramdisk else 0,
                       tee=c["tee"], partial=partial)


# ------------------------------------------------------------- plan

class Plan:
    """What execute() will do: decided without touching the hypervisor or
    dom0's state. Its images are open until execute() has loaded them (or
    close() is called)."""

    def __init__(self, c, **kw):
        self.c = c
        self.name = c["name"]
        for k in kw:
            setattr(self, k, kw[k])

    def close(self):
        self.kernel.close()
        if self.ramdisk is not None:
            self.ramdisk.close()


def plan(c, view):
    """Plan the build of the validated config `c`. `view` is what dom0 knows
    and may be asked, read-only: view.name_in_use(name) -> domid or None,
    view.backend_id(name) -> domid of a running backend or None,
    view.sid(label) -> FLASK's ssidref for a label, view.version (major,
    minor). The name, images, layout, labels and devices are checked here;
    nothing of the domain exists yet."""
    name = c["name"]
    other = view.name_in_use(name)
    if other is not None:
        raise DomainError("domain name %r is already used by domain %d" % (name, other))
    consts = arm64.constants()
    kernel, ramdisk, partial = _open_images(c)
    try:
        # layout with the GIC we will most likely get; redone after create
        # only if Xen chose another one
        guess = "v3" if c["gic_version"] == "native" else c["gic_version"]
        layout = _layout(consts, c, kernel, ramdisk, partial, guess, view.version)
        ssid, exec_ssid = labels(c, view.sid)
        devs = devices.plan(0, c, view.backend_id)
    except Exception as e:
        kernel.close()
        if ramdisk is not None:
            ramdisk.close()
        if isinstance(e, OSError):
            raise BuildError(name, "xsm labels", e)
        raise
    irqs = c["irqs"]
    flags = _xen.XEN_DOMCTL_CDF_hvm | _xen.XEN_DOMCTL_CDF_hap
    if c["dtdev"] or c["passthrough"] in ("enabled", "share_pt", "sync_pt"):
        flags |= _xen.XEN_DOMCTL_CDF_iommu
    return Plan(c, consts=consts, version=view.version, kernel=kernel, ramdisk=ramdisk,
                partial=partial, guess=guess, layout=layout, ssid=ssid, exec_ssid=exec_ssid,
                devs=devs, uuid=c["uuid"] or uuid4(), flags=flags,
                nr_spis=(max(irqs) - 31) if irqs else 0)


# ------------------------------------------------------------- execute

class Built:
    """A domain execute() made: paused, every resource in place, and an
    undo that destroys it. `facts` is what dom0 needs to attach it."""

    def __init__(self, name, domid, facts, entries, exec_ssid, undo):
        self.name = name
        self.domid = domid
        self.facts = facts
        self.entries = entries      # the device nodes of its backends/frontends
        self.exec_ssid = exec_ssid
        self._undo = undo

    def abandon(self):
        """Undo execute(): the domain and all it holds go."""
        self._undo.run()
        wait_gone(self.domid)


def execute(p):
    """Run the hypercalls of plan `p`. Each step registers its undo; a
    failure undoes all of it and raises BuildError naming the step. Returns
    a Built domain, paused."""
    c = p.c
    name = p.name
    undo = Undo()
    step = "createdomain"
    domid = None
    try:
        out = {}
        domid = _xen.createdomain(
            flags=p.flags, max_vcpus=c["maxvcpus"], max_evtchn_port=c["max_event_channels"],
            max_grant_frames=c["max_grant_frames"], max_maptrack_frames=c["max_maptrack_frames"],
            ssidref=p.ssid, handle=uuid_bytes(p.uuid), gic_version=getattr(_xen, _GIC[c["gic_version"]]),
            tee_type=(_xen.XEN_DOMCTL_CONFIG_TEE_OPTEE if c["tee"] == "optee" else _xen.XEN_DOMCTL_CONFIG_TEE_NONE),
            nr_spis=p.nr_spis, out=out)
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

        layout = p.layout
        if gic != p.guess:
            step = "guest layout"
            layout = _layout(p.consts, c, p.kernel, p.ramdisk, p.partial, gic, p.version)

        step = "guest RAM"
        for base, size in layout["banks"]:
            _xen.populate_physmap(domid, range(base >> 12, (base + size) >> 12, 1 << EXTENT), EXTENT)

        step = "kernel"
        load(domid, p.kernel, layout["kernel_addr"], layout["kernel_room"])
        if p.ramdisk is not None:
            step = "ramdisk"
            load(domid, p.ramdisk, layout["initrd_addr"], layout["initrd_size"])
        step = "device tree"
        write(domid, layout["dtb_addr"], layout["dtb"])

        step = "passthrough"
        for r in c["iomem"]:
            _xen.iomem_permission(domid, r["start"], r["number"])
            _xen.memory_mapping(domid, r["gfn"], r["start"], r["number"])
        for irq in c["irqs"]:
            _xen.bind_pt_irq(domid, irq)
        for path in c["dtdev"]:
            _xen.assign_device(domid, path)

        step = "vcpu context"
        _xen.setvcpucontext(domid, 0, layout["vcpu0"])
    except Exception as e:
        p.close()
        undo.run()
        if domid is not None:
            wait_gone(domid)
        if isinstance(e, (DomainError, image.ImageError)) and step == "guest layout":
            raise
        raise BuildError(name, step, e)
    facts = {"name": name, "domid": domid, "uuid": p.uuid, "maxmem_kb": maxmem_kb,
             "mem_kb": c["memory"] * 1024, "store_port": store_port, "store_gfn": store_gfn,
             "console_port": console_port, "console_gfn": console_gfn,
             "start_time": "%d" % time.time(), "vcpus": c["vcpus"], "maxvcpus": c["maxvcpus"],
             "backend_dirs": devices.backend_dirs(domid, p.devs)}
    return Built(name, domid, facts, devices.entries(domid, p.devs), p.exec_ssid, undo)


def finish(b, paused=False):
    """The last steps, once dom0 has attached the domain: its FLASK label
    for running, then (unless paused) it runs. Raises BuildError."""
    step = "relabel"
    try:
        if b.exec_ssid is not None:
            _xen.flask_relabel_domain(b.domid, b.exec_ssid)
        if not paused:
            step = "unpause"
            _xen.unpausedomain(b.domid)
    except Exception as e:
        raise BuildError(b.name, step, e)


def wait_gone(domid):
    # After destroydomain the domain lingers as dying until Xen has released
    # it; give it a moment so a caller sees the clean state.
    for _ in range(100):
        try:
            _xen.getdomaininfo(domid)
        except OSError:
            return
        time.sleep_ms(1)
