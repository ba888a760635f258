# The dom0 REPL of the host firmware, where mpremote connects.
#
#   micropython -m xen.repl PATH [--root DIR]   REPL on a new pseudo-terminal
#                                               whose slave is linked at PATH
#   micropython -m xen.repl - [--root DIR]      REPL on this terminal (make run-sim)
#   --boot FILE   run FILE once before the first prompt (the services it
#                 starts outlive every soft reset)
#   --policy      run the installed boot policy first (xen.policy.boot(): the
#                 signed policy in MODXEN_STATE, with trial/revert), as the
#                 firmware's boot does on a board
#   --images DIR  mount host directory DIR read-only at /images, the image
#                 store (make run-sim: demo.cfg and a dummy kernel)
#   --quiet       no "PATH -> pty" line on stderr (make run's dom0)
#
# It is MicroPython's own REPL (pyexec: friendly, raw and raw-paste modes),
# the one a board runs on its console. Ctrl-D soft-resets as on a board: user
# globals, user modules and mounts go, the dom0 services (`xen` package,
# event channels, consoles) stay. The filesystem is DIR (default: a state
# directory) mounted at /flash, the working directory, as on a board.
import sys
import os
import vfs
import _xenboard

FLASH = "/flash"
IMAGES = "/images"
DEFAULT_ROOT = "build/state/flash"


def _makedirs(path):
    cur = ""
    for part in path.split("/"):
        cur = cur + part + "/" if cur or part else "/"
        if not part:
            continue
        try:
            os.mkdir(cur)
        except OSError as e:
            if e.errno != 17:  # EEXIST
                raise


class Flash(vfs.VfsPosix):
    """A host directory as the board's /flash. Listings carry file sizes, as
    littlefs and FAT give them (VfsPosix alone leaves them out)."""

    def ilistdir(self, path):
        for e in super().ilistdir(path):
            name, kind = e[0], e[1]
            size = 0
            if kind == 0x8000:
                try:
                    size = super().stat(path + "/" + name if path else name)[6]
                except OSError:
                    pass
            yield (name, kind, e[2], size)


class _State:
    def __init__(self, root):
        self.root = root
        self.modules = set(sys.modules)
        self.path = list(sys.path)
        # what is mounted before the first prompt (/, /flash, /images, the
        # boot file's own) is the board's and outlives a soft reset
        self.mounts = set(where for _, where in vfs.mount())


_state = None


def mount_root(root):
    """Mount host directory `root` at /flash and make it the working
    directory (a board's filesystem)."""
    if not root.startswith("/"):
        root = os.getcwd().rstrip("/") + "/" + root
    _makedirs(root)
    try:
        vfs.umount(FLASH)
    except OSError:
        pass
    vfs.mount(Flash(root), FLASH)
    os.chdir(FLASH)
    return root


def soft_reset():
    """What Ctrl-D does besides fresh globals: the user's mounts, modules and
    sys.path entries go; dom0 services stay."""
    st = _state
    for _, where in vfs.mount():
        if where not in st.mounts and where not in ("/", FLASH):
            try:
                vfs.umount(where)
            except OSError:
                pass
    os.chdir(FLASH)
    sys.path[:] = st.path
    for name in list(sys.modules):
        top = name.split(".")[0]
        if name not in st.modules and top not in ("xen", "asyncio"):
            del sys.modules[name]


def mount_images(images):
    """Mount host directory `images` read-only at /images."""
    if not images.startswith("/"):
        images = os.getcwd().rstrip("/") + "/" + images
    os.stat(images)   # ENOENT now rather than at the first xl.create
    try:
        vfs.umount(IMAGES)
    except OSError:
        pass
    vfs.mount(vfs.VfsPosix(images), IMAGES, readonly=True)
    return images


def run(path, root=DEFAULT_ROOT, boot=None, policy=False, images=None, quiet=False):
    """Set up the terminal and the filesystem, then run the REPL until the
    process is killed (or, for "-", the terminal ends)."""
    global _state
    code = None
    if boot is not None:
        with open(boot) as f:
            code = f.read()
    dev = _xenboard.repl_tty(path)
    if images is not None:
        mount_images(images)
    if policy:
        # what the firmware's boot runs on a board: the installed boot
        # policy, with trial and revert handling
        try:
            import xen.policy
            xen.policy.boot()
        except Exception as e:
            sys.print_exception(e)
    if code is not None:
        try:
            exec(code, {"__name__": "__main__", "__file__": boot})
        except Exception as e:
            sys.print_exception(e)
    root = mount_root(root)
    _state = _State(root)
    if path != "-" and not quiet:
        sys.stderr.write("xen.repl: %s -> %s, root %s\n" % (path, dev, root))
    _xenboard.repl_run(soft_reset)


def _usage():
    sys.stderr.write("usage: micropython -m xen.repl PATH|- [--root DIR] [--boot FILE] [--policy] [--images DIR] [--quiet]\n")
    sys.exit(2)


def main(argv):
    path = None
    root = DEFAULT_ROOT
    boot = None
    policy = False
    images = None
    quiet = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--policy":
            policy = True
            i += 1
            continue
        if a == "--quiet":
            quiet = True
            i += 1
            continue
        if a == "--images" and i + 1 < len(argv):
            images = argv[i + 1]
            i += 2
            continue
        if a == "--root" and i + 1 < len(argv):
            root = argv[i + 1]
            i += 2
            continue
        if a == "--boot" and i + 1 < len(argv):
            boot = argv[i + 1]
            i += 2
            continue
        if a.startswith("-") and a != "-" or path is not None:
            _usage()
        path = a
        i += 1
    if path is None:
        _usage()
    run(path, root, boot, policy, images, quiet)


if __name__ == "__main__":
    main(sys.argv[1:])
