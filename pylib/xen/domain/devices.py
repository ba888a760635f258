# xen.domain.devices: PV devices (vif, disk) as xenbus nodes, for a driver
# domain's backends to pick up. Frontend nodes live under the guest's
# device/<kind>/<devid>, backend nodes under the backend domain's
# backend/<kind>/<guest>/<devid>; both start in XenbusStateInitialising.
# Which nodes exist is data (the tables below), not code.
import os
# xen.domain.config validates every disk's vdev with the same function
from xen.domain.config import vdev_number  # noqa: F401 (part of this module's API)

INITIALISING = "1"

# (node, value template, side) ; side: F frontend, B backend
VIF_NODES = (
    ("backend", "{be_path}", "F"),
    ("backend-id", "{be}", "F"),
    ("state", INITIALISING, "F"),
    ("handle", "{devid}", "F"),
    ("mac", "{mac}", "F"),
    ("frontend", "{fe_path}", "B"),
    ("frontend-id", "{fe}", "B"),
    ("online", "1", "B"),
    ("state", INITIALISING, "B"),
    ("handle", "{devid}", "B"),
    ("mac", "{mac}", "B"),
    ("bridge", "{bridge}", "B"),
    ("type", "vif", "B"),
    ("mtu", "{mtu}", "B"),
)

VBD_NODES = (
    ("backend", "{be_path}", "F"),
    ("backend-id", "{be}", "F"),
    ("state", INITIALISING, "F"),
    ("virtual-device", "{devid}", "F"),
    ("device-type", "{devtype}", "F"),
    ("frontend", "{fe_path}", "B"),
    ("frontend-id", "{fe}", "B"),
    ("online", "1", "B"),
    ("state", INITIALISING, "B"),
    ("params", "{target}", "B"),
    ("type", "{backendtype}", "B"),
    ("mode", "{mode}", "B"),
    ("device-type", "{devtype}", "B"),
    ("dev", "{vdev}", "B"),
    ("removable", "0", "B"),
    ("bootable", "1", "B"),
)


def random_mac():
    b = os.urandom(3)
    return "00:16:3e:%02x:%02x:%02x" % (b[0] & 0x7F, b[1], b[2])


def plan(domid, cfg, backend_id):
    """[(kind, devid, be, facts)] for the guest's vif and disk entries.
    backend_id(name) -> domid of a backend domain (None: unknown)."""
    out = []
    used = set()
    for i, v in enumerate(cfg["vif"]):
        devid = v.get("devid", i)
        if ("vif", devid) in used:
            raise ValueError("vif devid %d used twice" % devid)
        used.add(("vif", devid))
        out.append(("vif", devid, _backend(v, backend_id),
                    {"mac": v.get("mac") or random_mac(), "bridge": v.get("bridge", "xenbr0"),
                     "mtu": v.get("mtu", 1500)}))
    for d in cfg["disk"]:
        devid = vdev_number(d["vdev"])
        if ("vbd", devid) in used:
            raise ValueError("disk vdev %s used twice" % d["vdev"])
        used.add(("vbd", devid))
        out.append(("vbd", devid, _backend(d, backend_id),
                    {"target": d.get("target", ""), "vdev": d["vdev"],
                     "mode": "r" if d["access"] == "ro" else "w",
                     "devtype": d.get("devtype", "disk"),
                     "backendtype": d.get("backendtype") or "phy"}))
    return out


def _backend(spec, backend_id):
    b = spec.get("backend")
    if not b or b in ("0", "Domain-0"):
        return 0
    if b.isdigit():
        return int(b)
    be = backend_id(b)
    if be is None:
        raise ValueError("backend domain %r is not running" % b)
    return be


def entries(domid, devices):
    """[(path, value or None, perms)] for every planned device."""
    out = []
    for kind, devid, be, facts in devices:
        fe_path = "/local/domain/%d/device/%s/%d" % (domid, kind, devid)
        be_path = "/local/domain/%d/backend/%s/%d/%d" % (be, kind, domid, devid)
        f = dict(facts, fe=domid, be=be, devid=devid, fe_path=fe_path, be_path=be_path)
        fe_perms = ["n%d" % domid, "r%d" % be]
        be_perms = ["n%d" % be, "r%d" % domid]
        out.append((fe_path, None, fe_perms))
        out.append((be_path, None, be_perms))
        for node, value, side in (VIF_NODES if kind == "vif" else VBD_NODES):
            if side == "F":
                out.append((fe_path + "/" + node, value.format(**f), fe_perms))
            else:
                out.append((be_path + "/" + node, value.format(**f), be_perms))
    return out


def backend_dirs(domid, devices):
    """The backend subtrees to remove when the guest goes."""
    seen = []
    for kind, devid, be, facts in devices:
        p = "/local/domain/%d/backend/%s/%d" % (be, kind, domid)
        if p not in seen:
            seen.append(p)
    return seen
