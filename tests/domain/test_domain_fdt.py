# DTB writer and reader (xen.domain.fdt), checked with Debian's dtc and fdtget.
# The firmware side is mp/fdt_cases.py.
import struct
import subprocess

import pytest

from mpfirmware import mp


def dtc_dts(path):
    p = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(path)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def fdtget(path, node, prop, typ=None):
    cmd = ["fdtget"] + (["-t", typ] if typ else []) + [str(path), node, prop]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_writer_checked_by_dtc(tmp_path):
    out = tmp_path / "w.dtb"
    mp("fdt_cases.write_sample", str(out))
    dts = dtc_dts(out)
    assert "/memreserve/\t0x0000000048000000 0x0000000000100000;" in dts
    assert 'compatible = "acme,board\\0acme,soc";' in dts
    assert "interrupt-controller;" in dts and "flag;" in dts
    assert "blob = [01 02 03];" in dts
    assert fdtget(out, "/", "model") == "test board"
    assert fdtget(out, "/intc@8000000", "reg", "x") == "0 8000000 0 10000 0 80a0000 0 f60000"
    ph = fdtget(out, "/intc@8000000", "phandle", "u")
    assert fdtget(out, "/dev@1", "interrupt-parent", "u") == ph == "1"
    assert fdtget(out, "/dev@1", "interrupts", "u") == "0 5 4"
    assert fdtget(out, "/chosen", "linux,initrd-start", "x") == "12 3456789a"
    assert fdtget(out, "/chosen", "bootargs") == "console=hvc0 quiet"
    assert fdtget(out, "/dev@1", "names") == "a bc"
    # header fields as dtc sees them
    p = subprocess.run(["fdtdump", "-d", str(out)], capture_output=True, text=True)
    if p.returncode == 0:
        assert "// version:\t\t17" in p.stdout
        assert "// last_comp_version:\t16" in p.stdout


def test_reader_reads_dtc_output(tmp_path):
    src = tmp_path / "in.dts"
    src.write_text("""/dts-v1/;
/memreserve/ 0x10000000 0x4000;
/ {
    #address-cells = <2>;
    #size-cells = <1>;
    passthrough {
        compatible = "simple-bus";
        ranges;
        #address-cells = <2>;
        #size-cells = <2>;
        ethernet@ff0e0000 {
            compatible = "cdns,zynqmp-gem", "cdns,gem";
            reg = <0x0 0xff0e0000 0x0 0x1000>;
            interrupt-parent = <65000>;
            interrupts = <0 63 4>;
            clocks = <&clk>;
        };
        clk: clock {
            compatible = "fixed-clock";
            #clock-cells = <0>;
            clock-frequency = <125000000>;
        };
    };
    aliases { ethernet0 = "/passthrough/ethernet@ff0e0000"; };
};
""")
    dtb = tmp_path / "in.dtb"
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb), str(src)], check=True)
    r = mp("fdt_cases.read_dtc_output", str(dtb))
    assert r[0] == [[0x10000000, 0x4000]]
    assert r[1] == ["ethernet@ff0e0000", "clock"]
    assert r[2] == ["cdns,zynqmp-gem", "cdns,gem"]
    assert r[3] == [0, 0xFF0E0000, 0, 0x1000]
    assert r[4] == 65000 and r[5] is True and r[6] == 125000000
    assert r[7] == ["/passthrough/ethernet@ff0e0000"]
    assert r[8] is None and r[9] is None
    assert r[10] == b""  # empty property: present, zero length
    assert r[11] == 17
    # copy the whole tree through the writer: dtc must see the same tree
    out = tmp_path / "copy.dtb"
    mp("fdt_cases.copy", str(dtb), str(out))
    assert dtc_dts(out) == dtc_dts(dtb)


def test_roundtrip_writer_reader(tmp_path):
    out = tmp_path / "w.dtb"
    mp("fdt_cases.write_sample", str(out))
    r = mp("fdt_cases.read_sample", str(out))
    assert r == [["acme,board", "acme,soc"], ["console=hvc0 quiet"], True, "dev@1", 0x10000,
                 [[0x48000000, 0x100000]]]


def begun(*ops):
    """Writer calls after opening the root node."""
    return [["begin", ""]] + list(ops)


@pytest.mark.parametrize("ops,needle", [
    ([["begin", "x"]], "the root node must be named ''"),
    (begun(["begin", "a b"]), "bad character ' ' in node name 'a b'"),
    (begun(["begin", ""]), "empty node name"),
    ([["u32", "x", 1]], "property 'x' outside a node"),
    (begun(["u32", "x", 1 << 32]), "x: 4294967296 does not fit a u32 cell"),
    (begun(["u32", "x", -1]), "does not fit a u32 cell"),
    (begun(["cells", "reg", [(1 << 64, 1)]]), "does not fit 2 cells"),
    (begun(["string", "a b", "x"]), "bad character ' ' in property name"),
    (begun(["string", "x", "a\x00b"]), "NUL inside a string"),
    (begun(["phandle", 7], ["phandle", 7]), "phandle 7 used twice"),
    (begun(["phandle", 0]), "phandle 0 out of range"),
    (begun(["finish"]), "tree not closed (1 open nodes)"),
    ([["end"]], "end() without begin()"),
    (begun(["end"], ["begin", ""]), "tree already closed"),
    (begun(*[["begin", "n"]] * 32), "tree deeper than 32"),
], ids=["root-name", "node-name-space", "node-name-empty", "prop-outside", "u32-too-big",
        "u32-negative", "cells-too-big", "prop-name-space", "string-nul", "phandle-twice",
        "phandle-zero", "not-closed", "end-without-begin", "closed", "too-deep"])
def test_writer_errors(ops, needle):
    name, msg, _ = mp("fdt_cases.write_ops", ops)
    assert name == "FdtError", msg
    assert needle in msg


def test_alloc_skips_reserved_and_copied_phandles():
    r = mp("fdt_cases.phandles")
    assert r == [2, 3, 1, 2, 1]
    # a copied node may not take a phandle that is reserved for the guest tree
    name, msg, _ = mp("fdt_cases.copied_phandle_clash", 65000)
    assert name == "FdtError" and "phandle 65000 of node 'dev' clashes" in msg


def _good_blob(tmp_path):
    out = tmp_path / "g.dtb"
    mp("fdt_cases.write_sample", str(out))
    return bytearray(out.read_bytes())


def test_reader_rejects_corrupt_blobs(tmp_path):
    good = _good_blob(tmp_path)
    h = struct.unpack_from(">10I", good)
    soff, stroff = h[2], h[3]

    def patched(off, val):
        b = bytearray(good)
        struct.pack_into(">I", b, off, val)
        return bytes(b)

    cases = [
        (bytes(good[:20]), "truncated header (20 bytes)"),
        (patched(0, 0xD00DFEEE), "bad magic 0xd00dfeee"),
        (patched(20, 15), "unsupported version 15"),
        (bytes(good[:-8]), "truncated: totalsize %d but only %d bytes" % (len(good), len(good) - 8)),
        (patched(8, len(good) + 4), "structure block outside the blob"),
        (patched(soff, 7), "bad token 0x7 at offset %d" % soff),
        (patched(soff, 2), "unbalanced FDT_END_NODE"),
        (patched(soff, 3), "property outside a node at offset %d" % soff),
        (patched(stroff - 4, 2), "unbalanced FDT_END_NODE at offset %d" % (stroff - 4)),
        (patched(stroff - 4, 4), "structure block ends without FDT_END"),
        (patched(stroff - 8, 4), "unbalanced nodes"),
    ]
    # a property whose name offset points past the strings block
    # (first property of the root: token at soff+8, len, nameoff)
    cases.append((patched(soff + 16, 0x7FFF), "property name offset 32767 outside the strings block"))
    for blob, needle in cases:
        p = tmp_path / "bad.dtb"
        p.write_bytes(blob)
        name, msg, _ = mp("fdt_cases.parse_file", str(p))
        assert name == "FdtError", (needle, msg)
        assert needle in msg, (needle, msg)
