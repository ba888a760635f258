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
