"""The Zephyr dom0 takes its foreign-mapping window from the extended regions
Xen writes into dom0's device tree at boot (modxen/backends/xen_dtb.c), not
from a build-time copy of one release's numbers. The reader is plain C: here
it is compiled for the host with AddressSanitizer and UBSan and run against
device trees made by Debian's dtc (the oracle for the format), and against
thousands of corrupted blobs, which must give -1 and never a fault."""
import random
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "modxen" / "backends" / "xen_dtb.c"

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "xen_dtb.h"
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "rb");
    static uint8_t buf[1 << 21];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    /* the blob alone, in a buffer of exactly its length (ASan sees overreads) */
    uint8_t *b = malloc(n ? n : 1);
    memcpy(b, buf, n);
    uint64_t regs[4][2];
    int k = xen_dtb_hypervisor_regs(b, n, regs, 4);
    printf("%zu %d", xen_dtb_size(b, n), k);
    for (int i = 0; i < k; i++) printf(" %llx:%llx", (unsigned long long)regs[i][0], (unsigned long long)regs[i][1]);
    printf("\n");
    free(b);
    return 0;
}
"""

# What Xen 4.17 writes for dom0 under QEMU virt (docs/zephyr.md): the grant
# table, then two extended regions; Xen's own node carries more properties.
XEN_TREE = """/dts-v1/;
/ {
    #address-cells = <2>;
    #size-cells = <2>;
    compatible = "linux,dummy-virt";
    chosen { bootargs = "console=hvc0"; };
    memory@58000000 { device_type = "memory"; reg = <0x0 0x58000000 0x0 0x8000000>; };
    hypervisor {
        #address-cells = <2>;
        #size-cells = <2>;
        compatible = "xen,xen-4.17", "xen,xen";
        reg = <0x0 0x40200000 0x0 0x40000>, <0x0 0x40400000 0x0 0x17c00000>,
              <0x0 0x60000000 0x0 0x60000000>;
        interrupts = <0x1 0xf 0xf08>;
    };
};
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    d = tmp_path_factory.mktemp("dtb")
    (d / "driver.c").write_text(DRIVER)
    exe = d / "probe"
    subprocess.run(["cc", "-std=gnu11", "-O1", "-g", "-Wall", "-Werror", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=all", "-include", "string.h", "-I", str(SRC.parent),
                    str(d / "driver.c"), str(SRC), "-o", str(exe)], check=True, capture_output=True)

    def run(blob):
        f = d / "blob"
        f.write_bytes(blob)
        p = subprocess.run([str(exe), str(f)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, "reader crashed or sanitizer fired:\n" + p.stderr
        size, n, *regs = p.stdout.split()
        return int(size), int(n), [tuple(int(x, 16) for x in r.split(":")) for r in regs]
    return run


def dtc(tmp_path, source):
    (tmp_path / "t.dts").write_text(source)
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(tmp_path / "t.dtb"), str(tmp_path / "t.dts")],
                   check=True)
    return (tmp_path / "t.dtb").read_bytes()


def test_reads_the_hypervisor_node_as_xen_writes_it(probe, tmp_path):
    blob = dtc(tmp_path, XEN_TREE)
    size, n, regs = probe(blob)
    assert size == len(blob) and n == 3
    assert regs == [(0x40200000, 0x40000), (0x40400000, 0x17c00000), (0x60000000, 0x60000000)]


def test_cells_other_than_two(probe, tmp_path):
    one = XEN_TREE.replace("#size-cells = <2>;\n    compatible = \"linux", "#size-cells = <1>;\n    compatible = \"linux") \
        .replace("<0x0 0x40200000 0x0 0x40000>, <0x0 0x40400000 0x0 0x17c00000>,\n              <0x0 0x60000000 0x0 0x60000000>",
                 "<0x0 0x40200000 0x40000>, <0x0 0x40400000 0x17c00000>")
    assert probe(dtc(tmp_path, one))[1:] == (2, [(0x40200000, 0x40000), (0x40400000, 0x17c00000)])


@pytest.mark.parametrize("edit", [
    ('compatible = "xen,xen-4.17", "xen,xen";', 'compatible = "xen,xen-4.17";'),   # not Xen's node
    ("hypervisor {", "hypervisor-not {"),                                           # no such node
    ("reg = <0x0 0x40200000", "xreg = <0x0 0x40200000"),                            # no reg
])
def test_no_usable_node_is_minus_one(probe, tmp_path, edit):
    assert probe(dtc(tmp_path, XEN_TREE.replace(*edit)))[1] == -1


def test_not_a_device_tree(probe):
    assert probe(b"")[:2] == (0, -1)
    assert probe(b"\xd0\x0d\xfe\xed" + bytes(36))[:2] == (0, -1)
    assert probe(bytes(4096))[:2] == (0, -1)


def prop_fields(blob):
    """Offsets of every property's length and name-offset words (read the
    structure block as the format defines it)."""
    be = lambda o: int.from_bytes(blob[o:o + 4], "big")
    i, end, out = be(8), be(8) + be(36), []
    while i < end:
        tok = be(i)
        i += 4
        if tok == 1:
            i = (blob.index(0, i) + 1 + 3) & ~3
        elif tok == 3:
            out += [i, i + 4]
            i = (i + 8 + be(i) + 3) & ~3
        elif tok == 9:
            break
    return out


def test_corrupted_blobs_never_fault(probe, tmp_path):
    """Byte flips, truncations and forged header fields: -1 or an answer, and
    the sanitizers never fire. A few hundred cases, one process each."""
    blob = bytearray(dtc(tmp_path, XEN_TREE))
    fields = prop_fields(blob)
    rng = random.Random(17)
    answers = set()
    for i in range(300):
        b = bytearray(blob)
        kind = i % 4
        if kind == 0:
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind == 1:
            b = b[:rng.randrange(len(b))]
        elif kind == 2:   # a header field pointing anywhere
            off = rng.choice([4, 8, 12, 32, 36])
            b[off:off + 4] = rng.randrange(1 << 32).to_bytes(4, "big")
        else:             # a property's length or name offset forged
            at = rng.choice(fields)
            b[at:at + 4] = rng.choice([0xFFFFFFFF, 0x7FFFFFF0, len(b), 0x1000, 3]).to_bytes(4, "big")
        answers.add(probe(bytes(b))[1])
    assert -1 in answers and 3 in answers      # both outcomes were reached
