# The firmware side of tests/domain's small-heap tests (test_domain_image,
# test_domain_arm64, test_domain_config): each runs in a heap sized to what
# the product may use, so this module stays small and imports the product
# only inside the scenario; no other scenario module is loaded with it.
import gc


def gzip_window(path, n, window_bits):
    """A gzip'ed kernel of n bytes decompressed with window_bits into a
    buffer taken first: [bytes, SHA-256 of the buffer], or [type name,
    message] of what it raised (a MemoryError when the window does not fit)."""
    import hashlib
    import binascii
    from xen.domain import image
    gc.collect()
    buf = bytearray(n)
    gc.collect()
    try:
        got = image.open_kernel(path, window_bits=window_bits).load_into(buf)
    except Exception as e:
        return [type(e).__name__, str(e)]
    return [got, binascii.hexlify(hashlib.sha256(buf).digest()).decode()]


def arm64_plan(consts):
    """A guest planned in a small heap: [DTB bytes, heap the import of
    xen.domain.arm64 (with its fdt) and the constants took, heap the plan
    holds, heap in use before]."""
    from domlib import K        # the test's stand-in kernel: not the product's cost
    gc.collect()
    a = gc.mem_alloc()
    from xen.domain import arm64
    C = arm64.constants(consts)
    gc.collect()
    b = gc.mem_alloc()
    P = arm64.build(C, K(0, mem_size=30 << 20), 256, 4, 'v3', (4, 17), cmdline='console=hvc0',
                    initrd_size=4 << 20)
    gc.collect()
    return [len(P["dtb"]), b - a, gc.mem_alloc() - b, a]


def config_load(path):
    """An xl.cfg file loaded in a small heap: [the guest's name, heap the
    import of xen.domain.config took, heap the loaded config holds, heap in
    use before]."""
    gc.collect()
    a = gc.mem_alloc()
    from xen.domain import config
    gc.collect()
    b = gc.mem_alloc()
    c = config.load(path)
    gc.collect()
    return [c['name'], b - a, gc.mem_alloc() - b, a]
