"""The sans-IO cores of the frozen `xen` package, driven directly in CPython
(milliseconds, no firmware): the xenstore core by wire messages (as h11 is
tested through its state machine), the wire framing, the xl.cfg parser, the
DTB writer against Debian's dtc, and the Arm64 guest layout. The same code
runs frozen in the firmware; the firmware tiers test it there, against the
sim and real Xen."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "pylib"))

from xen.xenstore import wire                   # noqa: E402
from xen.xenstore.store import XenStore         # noqa: E402
from xen.domain import arm64, config, fdt       # noqa: E402


class Peer:
    """One connection to the core: send a request, get its reply."""

    def __init__(self, store, domid):
        self.store = store
        self.conn = store.connect(domid, "ring" if domid else "local")
        self.rid = 0
        self.events = []

    def __call__(self, typ, *args, value=None, tx=0):
        self.rid += 1
        payload = b"".join(a + b"\0" for a in args) + (value if value is not None else b"")
        self.store.process(self.conn, wire.packet(typ, self.rid, tx, payload))
        reply = None
        for pkt in self.conn.take_all():
            t, rid, _, body = wire.parse(pkt)
            if t == wire.WATCH_EVENT:
                self.events.append(body.split(b"\0")[:2])
            elif rid == self.rid:
                reply = (t, body)
        assert reply is not None
        if reply[0] == wire.ERROR:
            return "E:" + reply[1].rstrip(b"\0").decode()
        return reply[1]


@pytest.fixture
def xs():
    store = XenStore(domain_exists=lambda d: d in (0, 5))
    return store, Peer(store, 0)


def test_the_initial_tree_is_cxenstoreds(xs):
    store, dom0 = xs
    assert dom0(wire.DIRECTORY, b"/") == b"tool\0"
    assert dom0(wire.DIRECTORY, b"/tool") == b"xenstored\0"
    assert dom0(wire.GET_PERMS, b"/tool/xenstored") == b"n0\0"


def test_read_write_and_a_guests_view(xs):
    store, dom0 = xs
    assert dom0(wire.WRITE, b"/local/domain/5/name", value=b"guest") == b"OK\0"
    assert dom0(wire.READ, b"/local/domain/5/name") == b"guest"
    assert dom0(wire.INTRODUCE, b"5", b"4096", b"1") == b"OK\0"
    assert store.actions == [("introduce", 5, 4096, 1)]
    guest = Peer(store, 5)
    assert guest(wire.READ, b"/local/domain/5/name") == "E:EACCES"      # dom0 owns it
    assert dom0(wire.SET_PERMS, b"/local/domain/5/name", b"n0", b"r5") == b"OK\0"
    assert guest(wire.READ, b"name") == b"guest"                          # relative to its home
    assert guest(wire.WRITE, b"data/x", value=b"1") == "E:EACCES"


def test_owner_must_exist_xsa_322(xs):
    store, dom0 = xs
    dom0(wire.WRITE, b"/a", value=b"")
    assert dom0(wire.SET_PERMS, b"/a", b"n9") == "E:ENOENT"     # no domain 9
    assert dom0(wire.SET_PERMS, b"/a", b"n5") == b"OK\0"


def test_watch_fires_and_transactions_conflict(xs):
    store, dom0 = xs
    assert dom0(wire.WATCH, b"/w", b"tok") == b"OK\0"
    assert dom0.events == [[b"/w", b"tok"]]                      # the initial event
    dom0(wire.WRITE, b"/w/x", value=b"1")
    assert dom0.events[-1] == [b"/w/x", b"tok"]
    tx = int(dom0(wire.TRANSACTION_START, b"")[:-1])
    assert dom0(wire.READ, b"/w/x", tx=tx) == b"1"
    dom0(wire.WRITE, b"/w/x", value=b"2")                               # outside the transaction
    dom0(wire.WRITE, b"/w/x", value=b"3", tx=tx)
    assert dom0(wire.TRANSACTION_END, b"T", tx=tx) == "E:EAGAIN"
    assert dom0(wire.READ, b"/w/x") == b"2"


def test_quota_limits_a_guest(xs):
    store, dom0 = xs
    dom0(wire.INTRODUCE, b"5", b"4096", b"1")
    store.set_quota("nodes", 3, domid=5)
    dom0(wire.MKDIR, b"/local/domain/5")
    dom0(wire.SET_PERMS, b"/local/domain/5", b"n5")
    guest = Peer(store, 5)
    got = [guest(wire.WRITE, b"n%d" % i, value=b"v") for i in range(4)]
    assert got[:2] == [b"OK\0", b"OK\0"] and got[-1] == "E:ENOSPC"     # as cxenstored 4.17


def test_wire_round_trip_and_paths():
    pkt = wire.packet(wire.WRITE, 7, 3, b"/a\0b")
    assert wire.parse(pkt) == (wire.WRITE, 7, 3, b"/a\0b")
    assert wire.path_ok_py(b"/local/domain/1") and not wire.path_ok_py(b"/a//b")


def test_config_errors_name_file_line_and_key(tmp_path):
    f = tmp_path / "g.cfg"
    f.write_text('name = "g"\nkernel = "Image"\nmemory = "lots"\n')
    with pytest.raises(config.ConfigError) as e:
        config.load(str(f))
    assert str(e.value).startswith("%s:3: memory: wrong type" % f)
    c = config.validate({"name": "g", "kernel": "Image", "memory": 64, "vif": ["mac=00:16:3e:00:00:01"]})
    assert c["memory"] == 64 and c["maxmem"] == 64 and c["vif"][0]["mac"] == "00:16:3e:00:00:01"


def test_dtb_writer_against_dtc(tmp_path):
    w = fdt.Writer()
    w.begin("")
    w.u32("#address-cells", 2)
    w.u32("#size-cells", 2)
    w.string("compatible", "xen,xenvm-4.20", "xen,xenvm")
    w.begin("memory@40000000")
    w.string("device_type", "memory")
    w.cells("reg", [(0x40000000, 64 << 20)])
    w.end()
    w.end()
    blob = bytes(w.finish())
    (tmp_path / "t.dtb").write_bytes(blob)
    dts = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(tmp_path / "t.dtb")],
                         capture_output=True, text=True, check=True).stdout
    assert 'compatible = "xen,xenvm-4.20\\0xen,xenvm";' in dts
    assert re.search(r"reg = <0x00 0x40000000 0x00 0x4000000>;", dts)
    assert fdt.parse(blob).find("/memory@40000000") is not None


def test_arm64_ram_banks_split_at_the_first_bank_end():
    consts = {"GUEST_RAM0_BASE": 0x40000000, "GUEST_RAM0_SIZE": 0xc0000000,
              "GUEST_RAM1_BASE": 0x0200000000, "GUEST_RAM1_SIZE": 0xfe00000000}
    c = arm64.constants(dict(consts, **{n: 0 for n in arm64.NAMES if n not in consts}))
    assert arm64.ram_banks(64 << 20, c) == [(0x40000000, 64 << 20)]
    assert arm64.ram_banks(4 << 30, c) == [(0x40000000, 0xc0000000), (0x0200000000, (4 << 30) - 0xc0000000)]
