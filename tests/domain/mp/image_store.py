# tests/domain/test_domain_images.py's firmware side: xen.images.TarFS
# mounts a tar archive pytest wrote (Python's tarfile, GNU tar) at /images,
# serves its files read-only, feeds the domain builder, refuses damage.
import os
import vfs
from xen.images import TarFS, ArchiveError
from domlib import sha
from mptest import errno_of

MOUNT = '/images'
S_IFDIR = 0x4000        # st_mode's directory bit


def mount(path):
    vfs.mount(TarFS(open(path, 'rb').read()), MOUNT)


def file_sha(p):
    """SHA-256 of the file read through readinto in 1000-byte pieces."""
    import hashlib
    import binascii
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        b = bytearray(1000)
        while True:
            n = f.readinto(b)
            if not n:
                break
            h.update(b[:n])
    return binascii.hexlify(h.digest()).decode()


def served(archive, names):
    """[the mount's listing, dir's, dir/sub's, {name: [size, SHA-256]} of
    names, whether dir is a directory, the text of dir/sub/notes.txt]."""
    mount(archive)
    return [sorted(os.listdir(MOUNT)), os.listdir(MOUNT + '/dir'), os.listdir(MOUNT + '/dir/sub'),
            {p: [os.stat(MOUNT + '/' + p)[6], file_sha(MOUNT + '/' + p)] for p in names},
            os.stat(MOUNT + '/dir')[0] & S_IFDIR != 0, open(MOUNT + '/dir/sub/notes.txt').read()]


def read_only_and_missing(archive):
    """[errnos of writing, removing, making, opening and listing what is
    not there or not that kind, the initrd's tail and a middle piece, the
    position after it, a file digested twice the same]."""
    mount(archive)
    out = [errno_of(open, MOUNT + '/new', 'wb'), errno_of(open, MOUNT + '/Image', 'r+b'),
           errno_of(os.remove, MOUNT + '/Image'), errno_of(os.mkdir, MOUNT + '/x'),
           errno_of(open, MOUNT + '/nope', 'rb'), errno_of(os.stat, MOUNT + '/nope'),
           errno_of(open, MOUNT + '/dir', 'rb'), errno_of(os.listdir, MOUNT + '/Image')]
    f = open(MOUNT + '/initrd', 'rb')
    f.seek(-6, 2)
    tail = f.read()
    f.seek(6)
    mid = f.read(6)
    return [out, tail.decode(), mid.decode(), f.tell(),
            file_sha(MOUNT + '/Image') == file_sha(MOUNT + '/Image')]


def guest_from_store(archive, cfg, kernel_len):
    """A guest built from the mounted archive (cfg names /images/...):
    [its state, the digest of the kernel in its memory]."""
    import xen
    from simdom import guest_bytes
    mount(archive)
    d = xen.domain_create(cfg)
    return [d.info()['state'], sha(guest_bytes(d.domid, 0x40000000, kernel_len))]


def damaged(archive):
    """['mounted' or the ArchiveError's message, whether /images lists]."""
    try:
        mount(archive)
        res = 'mounted'
    except ArchiveError as e:
        res = str(e)
    try:
        os.listdir(MOUNT)
        left = True
    except OSError:
        left = False
    return [res, left]
