# xl.cfg parser and validator (xen.domain.config) on the firmware; its side
# is mp/config_cases.py (mp/heap_cases.py for the small heap).
import pytest

from mpfirmware import mp

# Configurations written in the style of the examples in Xen's xl.cfg(5),
# xl-disk-configuration(5) and xl-network-configuration(5) documents.
GUEST_CFG = r"""
# A small Arm guest booting Linux with an initramfs
name = "web-1"
type = 'pvh'
memory = 256          # MiB
maxmem = 0x200
vcpus = 2
maxvcpus = 4
kernel = "/flash/Image.gz"
ramdisk = '/flash/initrd.cpio.gz'
extra = "console=hvc0 rdinit=/sbin/init"
root = "/dev/xvda1 ro"
on_poweroff = "destroy"; on_reboot = "restart"
on_crash = 'preserve'
vif = [ 'mac=00:16:3e:5a:01:02,bridge=xenbr0',
        'bridge=xenbr1,backend=netbe', ]
disk = [
    'phy:/dev/vg0/web-root,xvda,w',   # legacy three positional form
    '/srv/images/data.qcow2,qcow2,xvdb,ro',
    'format=raw, vdev=xvdc, access=r, target=/srv/images/odd,name.img',
]
uuid = "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
max_grant_frames = 32
max_event_channels = 0x3ff
gic_version = "v3"
tee = "optee"
"""

PASSTHROUGH_CFG = """
name = "io-dom"
kernel = "Image"
memory = 64
device_tree = "partial.dtb"
dtdev = [ "/soc/ethernet@ff0e0000" ]
irqs = [ 63, 0x40 ]
iomem = [ "ff0e0,1", "0xff0f0,2@0x30000" ]
seclabel = "system_u:system_r:domU_t"
init_seclabel = 'system_u:system_r:domU_t_building'
passthrough = "enabled"
depends_on = ["netbe"]
"""


def load_text(text, tmp_path, name="guest.cfg"):
    p = tmp_path / name
    p.write_text(text)
    return mp("config_cases.load", str(p))


def test_full_example(tmp_path):
    c = load_text(GUEST_CFG, tmp_path)
    assert c["name"] == "web-1"
    assert (c["memory"], c["maxmem"], c["vcpus"], c["maxvcpus"]) == (256, 512, 2, 4)
    assert c["cmdline"] == "root=/dev/xvda1 ro console=hvc0 rdinit=/sbin/init"
    assert c["on_crash"] == "preserve" and c["on_reboot"] == "restart"
    assert c["uuid"] == "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    assert c["max_event_channels"] == 1023 and c["max_grant_frames"] == 32
    assert c["max_maptrack_frames"] == 1024  # default
    assert c["vif"][0] == {"mac": "00:16:3e:5a:01:02", "bridge": "xenbr0"}
    assert c["vif"][1]["backend"] == "netbe"
    assert c["depends_on"] == ["netbe"]
    d0, d1, d2 = c["disk"]
    assert (d0["target"], d0["vdev"], d0["access"], d0["backendtype"], d0["format"]) == (
        "/dev/vg0/web-root", "xvda", "rw", "phy", "raw")
    assert (d1["target"], d1["format"], d1["vdev"], d1["access"]) == (
        "/srv/images/data.qcow2", "qcow2", "xvdb", "ro")
    assert d2["target"] == "/srv/images/odd,name.img" and d2["access"] == "ro"
    assert c["gic_version"] == "v3" and c["tee"] == "optee"


def test_passthrough_example(tmp_path):
    c = load_text(PASSTHROUGH_CFG, tmp_path)
    assert c["dtdev"] == ["/soc/ethernet@ff0e0000"]
    assert c["irqs"] == [63, 64]
    assert c["iomem"] == [{"start": 0xFF0E0, "number": 1, "gfn": 0xFF0E0},
                          {"start": 0xFF0F0, "number": 2, "gfn": 0x30000}]
    assert c["seclabel"] == "system_u:system_r:domU_t"
    assert c["init_seclabel"].endswith("_building")
    assert c["device_tree"] == "partial.dtb" and c["passthrough"] == "enabled"
    assert c["depends_on"] == ["netbe"]
    # defaults from the table
    assert (c["vcpus"], c["maxvcpus"], c["maxmem"], c["gic_version"], c["tee"]) == (1, 1, 64, "native", "none")
    assert c["on_poweroff"] == "destroy" and c["cmdline"] == ""


def test_dict_same_as_file(tmp_path):
    p = tmp_path / "g.cfg"
    p.write_text(PASSTHROUGH_CFG)
    r = mp("config_cases.file_and_dict", str(p))
    assert r[0] is True
    assert r[1]["irqs"] == [63, 64]
    assert r[2] == 7  # the text starts with an empty line


SYNTAX = r'''a = "x\ty\"z\x41\101" # c
b='single "quoted"'
c = [1,
  0x10,

  017, 'four',]
d = []
e = [ "x" ] ; f = 5
e += [ "y" ]
g = "ab"
g += "cd"
 # indented comment
h=7
h=8
'''


def test_syntax_details():
    v, lines = mp("config_cases.parse", SYNTAX)
    assert v["a"] == 'x\ty"zAA'
    assert v["b"] == 'single "quoted"'
    assert v["c"] == [1, 16, 15, "four"]
    assert v["d"] == [] and v["f"] == 5
    assert v["e"] == ["x", "y"] and v["g"] == "abcd"
    assert v["h"] == 8 and lines["h"] == 14 and lines["c"] == 3


@pytest.mark.parametrize("text,line,needle", [
    ('name = "a"\nmemroy = 5\n', 2, "memroy: unknown setting"),
    ('name = "a"\n\nmemory = "128"\n', 3, "memory: wrong type string (expected number)"),
    ('name = "a"\nvcpus = 129\n', 2, "vcpus: 129 out of range 1..128"),
    ('name = "a"\nvcpus = 0\n', 2, "vcpus: 0 out of range"),
    ('name = "a"\non_crash = "explode"\n', 2, "on_crash: 'explode' is not one of destroy"),
    ('name = "a\n', 1, "unterminated string"),
    ('name = "a"\nvif = [ "x" "y" ]\n', 2, "vif: bad list"),
    ('name = "a"\nmemory 5\n', 2, "memory: expected '='"),
    ('name = "a"\nmemory = 08\n', 2, "bad number '08'"),
    ('name = "a"\nmemory = 5 6\n', 2, "memory: expected end of line"),
    ('name = "a"\nextra = "\\q"\n', 2, "unknown escape"),
    ('name = "a"\n@ = 1\n', 2, "unexpected character '@'"),
    ('name = "a"\nirqs = [ 12 ]\n', 2, "irqs: 12 out of range 32..1019"),
    ('name = "a"\nirqs = [ "45" ]\n', 2, "irqs: wrong type"),
    ('name = "a"\nvif = [ "mac=00:16:3e:zz:00:01" ]\n', 2, "vif: bad mac"),
    ('name = "a"\nvif = [ "colour=blue" ]\n', 2, "vif: unknown vif option 'colour'"),
    ('name = "a"\ndisk = [ "/img,xvda,rw,bogus=1" ]\n', 2, "disk: unknown disk option 'bogus'"),
    ('name = "a"\ndisk = [ "/img,xvda,rx" ]\n', 2, "disk: disk access must be"),
    ('name = "a"\ndisk = [ "/img,vmdk,xvda,rw" ]\n', 2, "unknown disk format 'vmdk'"),
    ('name = "a"\ndtdev = [ "soc/eth" ]\n', 2, "dtdev: device-tree path must start with '/'"),
    ('name = "a"\niomem = [ "ff0e0" ]\n', 2, "iomem: expected 'START,NUM[@GFN]'"),
    ('name = "a"\nuuid = "1234"\n', 2, "uuid: not a UUID"),
    ('name = "a"\nmemory = 64\nmaxmem = 32\n', 3, "maxmem: smaller than memory (64)"),
    ('name = "a"\nvcpus = 4\nmaxvcpus = 2\n', 3, "maxvcpus: smaller than vcpus"),
    ('name = "a"\ncmdline = "x"\nextra = "y"\n', 3, "extra: cannot be combined with cmdline"),
    ('name = "a b"\n', 1, "name: character ' ' not allowed"),
    ('name = "42"\n', 1, "name: must not be a number"),
    ('name = "a"\nseclabel = ""\n', 2, "seclabel: length must be"),
    ('name = "a"\ninit_seclabel = "x:y:z"\n', 2, "init_seclabel: needs seclabel"),
    ('name = "a"\ndepends_on = "a"\n', 2, "depends_on: a domain cannot depend on itself"),
    ('name = "a"\nmax_grant_frames = 0\n', 2, "max_grant_frames: 0 out of range"),
    # whatever a value holds, the error names the setting
    ('name = "a"\nmemory = 6\x004\n', 2, "memory: unexpected character '\\x00'"),
    ('name = "a"\nmemory = 1_0\n', 2, "memory: bad number '1_0'"),
    ('name = "a"\nextra = "x\\x00y"\n', 2, "extra: contains a NUL byte"),
    ('name = "a"\ndisk = [ "/img,xvda\\0001,w" ]\n', 2, "disk: contains a NUL byte"),
    ('name = "a"\ndisk = [ "/img,xv,w" ]\n', 2, "disk: vdev 'xv': not an xvd, sd or hd name"),
    ('name = "a"\ndisk = [ "/img,xvda99999999999,w" ]\n', 2, "disk: vdev 'xvda99999999999'"),
    ('name = "a"\ndisk = [ "/a,xvda,w",\n  "/b,51712,r" ]\n', 2, "disk: vdev 51712 is the same device as xvda"),
    ('name = "a"\nvif = [ "devid=1", "bridge=b,devid=1" ]\n', 2, "vif: devid 1 used twice"),
    ('name = "a"\nvif = [ "mtu=1_500" ]\n', 2, "vif: vif mtu must be a number in 68..65535"),
    ('name = "a"\nvif = [ "mac=+1:16:3e:00:00:01" ]\n', 2, "vif: bad mac"),
    ('name = "a"\nvif = [ "backend=a" ]\n', 2, "vif: backend 'a': a domain cannot depend on itself"),
    ('name = "a"\niomem = [ "-1,1" ]\n', 2, "iomem: expected 'START,NUM[@GFN]' in hex"),
    ('name = "a"\niomem = [ "fffffffffffff,2" ]\n', 2, "iomem: page range beyond 2^52 frames"),
    ('name = "a"\nuuid = "3f2504e0-4f89-41d3-9a0c-0305e82c_301"\n', 2, "uuid: not a UUID"),
    ('name = "Domain-0"\n', 1, "name: 'Domain-0' is the control domain's own name"),
    ('name = "a"\nroot = "%s"\nextra = "%s"\n' % ("r" * 2000, "e" * 100), 3,
     "extra: the command line root=<root> <extra> is longer than 2047 characters"),
    ('name = "a"\nmemory = 64 @\n', 2, "memory: unexpected character '@'"),
    ('name = "a"\nextra = "%s"\n' % ("x" * 5000), 2, "extra: line longer than 4096 characters"),
    ('name = "a"\nmemory = %s\n' % ("7" * 100), 2, "memory: bad number '7777777777777777777777777777777777777777'..."),
    ('name = "a"\nvif = [ "bridge=b",\n  @ ]\n', 3, "vif: unexpected character '@'"),
])
def test_file_errors(tmp_path, text, line, needle):
    p = tmp_path / "bad.cfg"
    if "kernel" not in text:
        text = text + 'kernel = "Image"\n'
    p.write_text(text)
    name, msg, _ = mp("config_cases.load_error", str(p))
    assert name == "ConfigError"
    assert msg.startswith(str(p) + ":" + str(line) + ": "), msg
    assert needle in msg, msg


def test_not_utf8(tmp_path):
    # bytes that are not UTF-8 name the line and the setting; in a comment they are ignored
    p = tmp_path / "bytes.cfg"
    p.write_bytes(b'name = "a"  # caf\xe9\nkernel = "Image"\nextra = "caf\xe9"\n')
    r = mp("config_cases.error_fields", str(p))
    assert r == [str(p) + ':3: extra: not UTF-8 text', "extra", 3, str(p)]


def test_error_without_a_setting_says_so(tmp_path):
    p = tmp_path / "e.cfg"
    p.write_text('name = "a"\n\n@ = 1\n')
    r = mp("config_cases.error_fields", str(p))
    assert r == [str(p) + ":3: unexpected character '@' (where a setting name should start)", None, 3, str(p)]


def test_dom0_is_always_running():
    r = mp("config_cases.validate", {"name": "g", "kernel": "k", "depends_on": ["Domain-0", "drv"],
                                     "disk": ["/a,xvda,w,backend=Domain-0"]})["depends_on"]
    assert r == ["drv"]


def test_missing_required(tmp_path):
    p = tmp_path / "nokernel.cfg"
    p.write_text('name = "a"\n')
    name, msg, _ = mp("config_cases.load_error", str(p))
    assert name == "ConfigError" and msg == str(p) + ": kernel: required setting missing"
    name, msg, _ = mp("config_cases.validate_error", {"kernel": "x"})
    assert msg == "name: required setting missing"
    name, msg, _ = mp("config_cases.load_error", "/nonexistent/x.cfg")
    assert name == "ConfigError" and "/nonexistent/x.cfg" in msg and "cannot read" in msg


def test_error_is_valueerror_with_key_and_line(tmp_path):
    p = tmp_path / "e.cfg"
    p.write_text('name = "a"\nkernel = "k"\n\n\nvcpus = "two"\n')
    r = mp("config_cases.as_value_error", str(p))
    assert r == ["vcpus", 5, True]


def test_dict_errors():
    cases = [
        ({"memory": 1.5}, "memory: wrong type float (expected number)"),
        ({"memory": 0}, "memory: 0 out of range 1..1048576"),
        ({"bogus": 1}, "bogus: unknown setting"),
        ({"kernel": 5}, "kernel: wrong type number (expected path)"),
        ({"gic_version": "v4"}, "gic_version: 'v4' is not one of native, v2, v3"),
        ({"seclabel": -1}, "seclabel: ssidref out of range"),
    ]
    for extra, needle in cases:
        name, msg, _ = mp("config_cases.validate_error", dict({"name": "g", "kernel": "Image"}, **extra))
        assert name == "ConfigError", msg
        assert msg == needle, msg


def test_dict_accepts_python_values():
    r = mp("config_cases.python_values")
    assert r == [True, 12, [40], [{"bridge": "br0", "backend": "drv"}], "ro",
                 [{"start": 16, "number": 2, "gfn": 16}], ["drv"]]


@pytest.mark.parametrize("spec,want", [
    ("phy:/dev/sda1,xvda,w", {"target": "/dev/sda1", "vdev": "xvda", "access": "rw", "backendtype": "phy"}),
    ("file:/img/a.raw,xvdb,r", {"target": "/img/a.raw", "format": "raw", "access": "ro"}),
    ("tap:aio:/img/b.raw,xvdc,w", {"target": "/img/b.raw", "backendtype": "tap", "format": "raw"}),
    ("qcow2:/img/c.q2,xvdd,w", {"format": "qcow2", "target": "/img/c.q2"}),
    (",xvdh:cdrom,r", {"target": "", "devtype": "cdrom", "vdev": "xvdh", "access": "ro"}),
    ("/dev/vg/x,raw,xvde,rw", {"format": "raw", "vdev": "xvde"}),
    ("vdev=xvdf,backend=stor,target=/dev/sdb", {"backend": "stor", "target": "/dev/sdb"}),
    ("/dev/sdc,xvdg", {"vdev": "xvdg", "access": "rw", "devtype": "disk"}),
    ("/dev/sdd,xvdi,w,discard", {"discard": True}),
])
def test_disk_specs(spec, want):
    r = mp("config_cases.validate", {"name": "g", "kernel": "k", "disk": [spec]})["disk"][0]
    for k, v in want.items():
        assert r[k] == v, (k, r)


def test_table_is_the_single_source():
    r = mp("config_cases.doc_table")
    names = [n for n, _ in r]
    for k in ("name", "memory", "maxmem", "vcpus", "maxvcpus", "kernel", "ramdisk", "extra", "cmdline",
              "device_tree", "dtdev", "irqs", "iomem", "seclabel", "init_seclabel", "gic_version", "tee",
              "max_grant_frames", "max_maptrack_frames", "max_event_channels", "on_poweroff",
              "on_reboot", "on_crash", "vif", "disk", "depends_on", "uuid", "type"):
        assert k in names
    assert len(names) == len(set(names))
    # every table key is accepted by validate and comes back out
    out = sorted(mp("config_cases.validate", {"name": "g", "kernel": "k"}))
    assert set(names) <= set(out)


# what mp()'s runner, its arguments and mp/heap_cases.py take of a small heap
# before the scenario starts (an in-line snippet took about 1.5 KiB)
RUNNER_HEAP = 5 * 1024


def test_small_heap(tmp_path):
    # With the package frozen (as on a board) importing and loading a full config
    # must fit a 20 KiB heap (unix-port baseline included); the module costs little RAM.
    p = tmp_path / "g.cfg"
    p.write_text(GUEST_CFG)
    name, mod, cfg, before = mp("heap_cases.config_load", str(p), heap=20 * 1024 + RUNNER_HEAP)
    assert before < RUNNER_HEAP + 2048, before   # the config had 20 KiB less 2 KiB at most
    assert name == "web-1"
    assert int(mod) < 4096, mod
    assert int(cfg) < 4096, cfg
