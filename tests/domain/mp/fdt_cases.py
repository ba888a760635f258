# tests/domain/test_domain_fdt.py's firmware side: xen.domain.fdt writes
# trees for dtc to check, reads what dtc wrote, and refuses bad trees.
from xen.domain import fdt
from domlib import refusal


def write_sample(path):
    """A small board tree using every kind of property, written to path."""
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
    with open(path, 'wb') as f:
        f.write(w.finish())


def read_dtc_output(path):
    """What the reader finds in the tree dtc compiled (see the test)."""
    blob = open(path, 'rb').read()
    t = fdt.parse(blob)
    e = t.find('/passthrough/ethernet@ff0e0000')
    c = t.find('passthrough/clock')
    return [t.reserved, [n.name for n in t.find('/passthrough').children], e.strings('compatible'),
            [e.u32('reg', i) for i in range(4)], e.u32('interrupt-parent'),
            e.u32('clocks') == c.u32('phandle'), c.u32('clock-frequency'),
            t.find('/aliases').strings('ethernet0'), t.find('/nothing'),
            e.prop('ranges'), t.find('/passthrough').prop('ranges'), fdt.header(blob)['version']]


def copy(src, dst):
    """The whole tree at src through the writer into dst."""
    t = fdt.parse(open(src, 'rb').read())
    w = fdt.Writer(reserve=t.reserved)
    w.node(t)
    with open(dst, 'wb') as f:
        f.write(w.finish())


def read_sample(path):
    """The sample tree (write_sample) as the reader sees it."""
    t = fdt.parse(open(path, 'rb').read())
    return [t.strings('compatible'), t.find('/chosen').strings('bootargs'),
            t.find('/dev@1').prop('blob') == b'\x01\x02\x03', t.find('/dev').name,
            t.find('/intc').u32('reg', 3), t.reserved]


def write_ops(ops):
    """Writer calls [method, *args] in turn on a fresh Writer: what the
    sequence raised (domlib.refusal), or None."""
    w = fdt.Writer()

    def run():
        for op in ops:
            getattr(w, op[0])(*op[1:])
    return refusal(run)


def phandles():
    """A reserved phandle is skipped by allocation and kept for the node
    that asks for it: [first, next allocated, asked, as read back twice]."""
    w = fdt.Writer()
    w.reserve_phandle(1)
    w.begin('')
    a = w.phandle()
    b = w.alloc_phandle()
    w.begin('gic')
    c = w.phandle(1)
    w.end()
    w.end()
    t = fdt.parse(w.finish())
    return [a, b, c, t.u32('phandle'), t.find('/gic').u32('phandle')]


def copied_phandle_clash(phandle):
    """A copied node whose phandle is reserved for the guest tree: refused."""
    src = fdt.Writer()
    src.begin('')
    src.begin('dev')
    src.phandle(phandle)
    src.end()
    src.end()
    t = fdt.parse(src.finish())
    w = fdt.Writer()
    w.reserve_phandle(phandle)
    w.begin('')
    return refusal(w.node, t.find('/dev'))


def parse_file(path):
    """What parsing the blob in path raised, or None."""
    return refusal(fdt.parse, open(path, 'rb').read())
