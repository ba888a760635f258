# tests/domain/test_domain_image.py's firmware side: xen.domain.image opens
# kernels and ramdisks (files, streams, read-only objects) that pytest built,
# loads them into a buffer, and refuses damaged ones with ImageError.
import io
from xen.domain import image
from domlib import refusal, sha


def digest(img, room):
    """img loaded into a buffer of room bytes: [bytes loaded, their SHA-256]."""
    buf = bytearray(room)
    n = img.load_into(buf)
    return [n, sha(memoryview(buf)[:n])]


def stream(path):
    """The file's bytes as a stream whose size is not known up front."""
    return io.BytesIO(open(path, 'rb').read())


def arm64_kernel(path, room):
    k = image.open_kernel(path)
    return [k.kind, k.text_offset, k.image_size, k.flags, k.mem_size, k.size, k.load,
            k.entry] + digest(k, room)


def gzip_file_and_stream(path, room):
    k = image.open_kernel(path)
    a = [k.kind, k.mem_size, k.size] + digest(k, room)
    k = image.open_kernel(stream(path), name='gz-stream')
    return [a, [k.kind, k.name] + digest(k, room)]


class OnlyRead:
    """A source with read() and no readinto()."""

    def __init__(self, f):
        self.f = f

    def read(self, n):
        return self.f.read(n)


def read_only_object(path, room):
    k = image.open_kernel(OnlyRead(open(path, 'rb')), name='ro')
    return [k.size, k.mem_size] + digest(k, room)


def uimage_kernel(path, room):
    k = image.open_kernel(path)
    return [k.kind, k.load, k.entry, k.mem_size, k.text_offset] + digest(k, room)


def bare_uimage(path, room):
    k = image.open_kernel(path)
    return [k.mem_size, k.size, k.entry] + digest(k, room)


def ramdisks(path, upath, room):
    """The raw ramdisk from its file and as a stream, and its uImage."""
    out = []
    for x in (image.open_ramdisk(path), image.open_ramdisk(stream(path)),
              image.open_ramdisk(upath)):
        out.append([x.kind, x.size] + digest(x, room))
    return out


def load_error(opener, src, room, as_stream=False):
    """What opening src (a path, a stream of that file's bytes, or any other
    value) with image.<opener> and loading it into room bytes raised."""
    if as_stream:
        src = stream(src)

    def load():
        getattr(image, opener)(src).load_into(bytearray(room))
    return refusal(load)


class NoSeek:
    """A stream that can only be read: no seek, no size."""

    def __init__(self, b):
        self.f = io.BytesIO(b)

    def readinto(self, b):
        return self.f.readinto(b)


def unsized_ramdisk(path, size=None, room=None):
    """A ramdisk stream of unknown size (given size, then loaded into room
    bytes when room is set): what that raised."""
    def load():
        k = image.open_ramdisk(NoSeek(open(path, 'rb').read()), name='rd', size=size)
        if room is not None:
            k.load_into(bytearray(room))
    return refusal(load)


def large_load(path, room):
    """A large kernel loaded whole into a room-byte destination."""
    return digest(image.open_kernel(path), room)

