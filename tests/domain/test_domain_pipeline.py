# config -> images -> arm64 plan -> loaded regions + DTB, end to end without a
# hypervisor; plus the docs stay in step with the key table.
import os
import re
import subprocess

from test_domain_arm64 import NAMES, PARTIAL_DTS, fdtget, pre
from test_domain_image import arm64_image, sha

MiB = 1 << 20
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_cfg_to_plan(dmp, xen_consts, tmp_path):
    kernel = arm64_image(payload_len=400_000, text_offset=0, image_size=2 * MiB)
    (tmp_path / "Image").write_bytes(kernel)
    initrd = os.urandom(300_000)
    (tmp_path / "initrd").write_bytes(initrd)
    (tmp_path / "p.dts").write_text(PARTIAL_DTS)
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(tmp_path / "p.dtb"), str(tmp_path / "p.dts")],
                   check=True)
    (tmp_path / "g.cfg").write_text(
        'name = "pipe"\nmemory = 256\nvcpus = 2\n'
        'kernel = "%s"\nramdisk = "%s"\ndevice_tree = "%s"\n'
        'extra = "console=hvc0"\ndtdev = ["/amba/ethernet@ff0e0000"]\nirqs = [63]\n'
        % (tmp_path / "Image", tmp_path / "initrd", tmp_path / "p.dtb"))
    dtb_out = tmp_path / "guest.dtb"
    r = dmp.j(heap=16 * MiB, code=pre(xen_consts) + """
import hashlib, binascii
from xen.domain import config, image
cfg = config.load(%r)
k = image.open_kernel(cfg['kernel'])
rd = image.open_ramdisk(cfg['ramdisk'])
part = fdt.parse(open(cfg['device_tree'], 'rb').read())
p = arm64.build(C, k, cfg['memory'], cfg['maxvcpus'], 'v2', (4, 17), cmdline=cfg['cmdline'],
                initrd_size=rd.size, tee=cfg['tee'], partial=part)
kmem = bytearray(p['kernel_room'])
n = k.load_into(kmem)
imem = bytearray(rd.size)
m = rd.load_into(imem)
open(%r, 'wb').write(p['dtb'])
h = lambda b: binascii.hexlify(hashlib.sha256(b).digest()).decode()
R = [n, h(memoryview(kmem)[:n]), m, h(imem), p['kernel_addr'], p['kernel_room'], p['initrd_addr'],
     p['dtb_addr'], p['vcpu0'], p['banks']]
""" % (str(tmp_path / "g.cfg"), str(dtb_out)))
    n, kh, m, ih, kaddr, room, iaddr, daddr, v0, banks = r
    base = xen_consts["GUEST_RAM0_BASE"]
    assert (n, kh) == (len(kernel), sha(kernel))
    assert (m, ih) == (len(initrd), sha(initrd))
    assert kaddr == base and room == 2 * MiB
    assert iaddr == base + 128 * MiB and daddr == iaddr + ((len(initrd) + 4095) & ~4095)
    assert v0["x0"] == daddr and v0["pc"] == base
    assert banks == [[base, 256 * MiB]]
    assert fdtget(dtb_out, "/chosen", "bootargs", "s") == "console=hvc0"
    start = [int(x, 16) for x in fdtget(dtb_out, "/chosen", "linux,initrd-start").split()]
    end = [int(x, 16) for x in fdtget(dtb_out, "/chosen", "linux,initrd-end").split()]
    assert (start[0] << 32 | start[1]) == iaddr and (end[0] << 32 | end[1]) == iaddr + len(initrd)
    assert fdtget(dtb_out, "/passthrough/ethernet@ff0e0000", "interrupts", "u") == "0 31 4"
    assert len(fdtget(dtb_out, "/cpus", "#size-cells", "u")) == 1


def test_docs_cover_every_key_and_constant(dmp):
    doc = open(os.path.join(ROOT, "docs", "domain.md")).read()
    keys = dmp.j("from xen.domain import config\nR = [k[0] for k in config.KEYS]")
    rows = re.findall(r"^\| `([a-z_]+)` \|", doc, re.M)
    assert rows == keys
    for n in NAMES:
        assert "`%s`" % n in doc, n
    names = dmp.j("from xen.domain import arm64\nR = list(arm64.NAMES)")
    assert tuple(names) == NAMES
