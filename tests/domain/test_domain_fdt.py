# DTB writer and reader (xen.domain.fdt), checked with Debian's dtc and fdtget.
import subprocess

import pytest

WRITE = r"""
from xen.domain import fdt
w = fdt.Writer(reserve=[(0x48000000, 0x100000)])
w.begin('')
w.u32('#address-cells', 2)
w.u32('#size-cells', 2)
w.string('compatible', 'acme,board', 'acme,soc')
w.string('model', 'test board')
w.begin('intc@8000000')
ph = w.phandle()
w.empty('interrupt-controller')
w.cells('reg', [(0x8000000, 0x10000), (0x80a0000, 0xf60000)])
w.end()
w.begin('chosen')
w.u64('linux,initrd-start', 0x123456789a)
w.prop('bootargs', 'console=hvc0 quiet')
w.end()
w.begin('dev@1')
w.prop('interrupt-parent', ph)
w.prop('interrupts', [0, 5, 4])
w.prop('blob', b'\x01\x02\x03')
w.prop('flag', True)
w.prop('names', ['a', 'bc'])
w.end()
w.end()
open(%r, 'wb').write(w.finish())
"""


def dtc_dts(path):
    p = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(path)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def fdtget(path, node, prop, typ=None):
    cmd = ["fdtget"] + (["-t", typ] if typ else []) + [str(path), node, prop]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_writer_checked_by_dtc(dmp, tmp_path):
    out = tmp_path / "w.dtb"
    dmp.run(WRITE % str(out))
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


def test_reader_reads_dtc_output(dmp, tmp_path):
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
    r = dmp.j(
        "from xen.domain import fdt\n"
        "t = fdt.parse(open(%r, 'rb').read())\n"
        "e = t.find('/passthrough/ethernet@ff0e0000')\n"
        "c = t.find('passthrough/clock')\n"
        "R = [t.reserved, [n.name for n in t.find('/passthrough').children], e.strings('compatible'),"
        " [e.u32('reg', i) for i in range(4)], e.u32('interrupt-parent'), e.u32('clocks') == c.u32('phandle'),"
        " c.u32('clock-frequency'), t.find('/aliases').strings('ethernet0'), t.find('/nothing'),"
        " e.prop('ranges'), t.find('/passthrough').prop('ranges'), fdt.header(open(%r, 'rb').read())['version']]"
        % (str(dtb), str(dtb)))
    assert r[0] == [[0x10000000, 0x4000]]
    assert r[1] == ["ethernet@ff0e0000", "clock"]
    assert r[2] == ["cdns,zynqmp-gem", "cdns,gem"]
    assert r[3] == [0, 0xFF0E0000, 0, 0x1000]
    assert r[4] == 65000 and r[5] is True and r[6] == 125000000
    assert r[7] == ["/passthrough/ethernet@ff0e0000"]
    assert r[8] is None and r[9] is None
    assert r[10] == ""  # empty property: present, zero length
    assert r[11] == 17
    # copy the whole tree through the writer: dtc must see the same tree
    out = tmp_path / "copy.dtb"
    dmp.run(
        "from xen.domain import fdt\n"
        "t = fdt.parse(open(%r, 'rb').read())\n"
        "w = fdt.Writer(reserve=t.reserved)\n"
        "w.node(t)\n"
        "open(%r, 'wb').write(w.finish())" % (str(dtb), str(out)))
    assert dtc_dts(out) == dtc_dts(dtb)


def test_roundtrip_writer_reader(dmp, tmp_path):
    out = tmp_path / "w.dtb"
    dmp.run(WRITE % str(out))
    r = dmp.j(
        "from xen.domain import fdt\n"
        "t = fdt.parse(open(%r, 'rb').read())\n"
        "R = [t.strings('compatible'), t.find('/chosen').strings('bootargs'), t.find('/dev@1').prop('blob') == b'\\x01\\x02\\x03',"
        " t.find('/dev').name, t.find('/intc').u32('reg', 3), t.reserved]" % str(out))
    assert r == [["acme,board", "acme,soc"], ["console=hvc0 quiet"], True, "dev@1", 0x10000,
                 [[0x48000000, 0x100000]]]


@pytest.mark.parametrize("code,needle", [
    ("w.begin('x')", "the root node must be named ''"),
    ("w.begin('')\nw.begin('a b')", "bad character ' ' in node name 'a b'"),
    ("w.begin('')\nw.begin('')", "empty node name"),
    ("w.u32('x', 1)", "property 'x' outside a node"),
    ("w.begin('')\nw.u32('x', 1 << 32)", "x: 4294967296 does not fit a u32 cell"),
    ("w.begin('')\nw.u32('x', -1)", "does not fit a u32 cell"),
    ("w.begin('')\nw.cells('reg', [(1 << 64, 1)])", "does not fit 2 cells"),
    ("w.begin('')\nw.string('a b', 'x')", "bad character ' ' in property name"),
    ("w.begin('')\nw.string('x', 'a\\x00b')", "NUL inside a string"),
    ("w.begin('')\nw.phandle(7)\nw.phandle(7)", "phandle 7 used twice"),
    ("w.begin('')\nw.phandle(0)", "phandle 0 out of range"),
    ("w.begin('')\nw.finish()", "tree not closed (1 open nodes)"),
    ("w.end()", "end() without begin()"),
    ("w.begin('')\nw.end()\nw.begin('')", "tree already closed"),
    ("w.begin('')\n" + "w.begin('n')\n" * 32, "tree deeper than 32"),
])
def test_writer_errors(dmp, code, needle):
    name, msg = dmp.exc("from xen.domain import fdt\nw = fdt.Writer()\n" + code)
    assert name == "FdtError", msg
    assert needle in msg


def test_alloc_skips_reserved_and_copied_phandles(dmp, tmp_path):
    r = dmp.j(
        "from xen.domain import fdt\n"
        "w = fdt.Writer()\n"
        "w.reserve_phandle(1)\n"
        "w.begin('')\na = w.phandle()\nb = w.alloc_phandle()\n"
        "w.begin('gic')\nc = w.phandle(1)\nw.end()\n"
        "w.end()\n"
        "t = fdt.parse(w.finish())\n"
        "R = [a, b, c, t.u32('phandle'), t.find('/gic').u32('phandle')]")
    assert r == [2, 3, 1, 2, 1]
    # a copied node may not take a phandle that is reserved for the guest tree
    name, msg = dmp.exc(
        "from xen.domain import fdt\n"
        "src = fdt.Writer()\nsrc.begin('')\nsrc.begin('dev')\nsrc.phandle(65000)\nsrc.end()\nsrc.end()\n"
        "t = fdt.parse(src.finish())\n"
        "w = fdt.Writer()\nw.reserve_phandle(65000)\nw.begin('')\nw.node(t.find('/dev'))")
    assert name == "FdtError" and "phandle 65000 of node 'dev' clashes" in msg


def _good_blob(dmp, tmp_path):
    out = tmp_path / "g.dtb"
    dmp.run(WRITE % str(out))
    return bytearray(out.read_bytes())


def test_reader_rejects_corrupt_blobs(dmp, tmp_path):
    good = _good_blob(dmp, tmp_path)
    import struct
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
        name, msg = dmp.exc("from xen.domain import fdt\nfdt.parse(open(%r, 'rb').read())" % str(p))
        assert name == "FdtError", (needle, msg)
        assert needle in msg, (needle, msg)
