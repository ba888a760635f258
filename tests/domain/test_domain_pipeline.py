# config -> images -> arm64 plan -> loaded regions + DTB, end to end without a
# hypervisor; plus the docs stay in step with the key table. The firmware side
# is mp/pipeline_cases.py.
import os
import re
import subprocess

from mpfirmware import mp
from test_domain_arm64 import NAMES, PARTIAL_DTS, arm_consts, fdtget
from test_domain_image import arm64_image, sha

MiB = 1 << 20
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_cfg_to_plan(xen_consts, tmp_path):
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
    r = mp("pipeline_cases.cfg_to_plan", arm_consts(xen_consts), str(tmp_path / "g.cfg"), str(dtb_out),
           (4, 17), heap=16 * MiB)
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


def test_docs_cover_every_key_and_constant():
    doc = open(os.path.join(ROOT, "docs", "domain.md")).read()
    keys = mp("pipeline_cases.config_keys")
    rows = re.findall(r"^\| `([a-z_]+)` \|", doc, re.M)
    assert rows == keys
    for n in NAMES:
        assert "`%s`" % n in doc, n
    names = mp("pipeline_cases.arm64_names")
    assert tuple(names) == NAMES
