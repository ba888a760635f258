# xen.xenstored: run the xenstore server.
#   micropython -m xen.xenstored --socket PATH [--quota NAME=VALUE ...]
# Serves dom0-local clients on a unix socket (and, with _xen, the rings of
# introduced guests) until SIGTERM or SIGINT, then removes its socket.
import sys
import os

USAGE = "usage: xen.xenstored --socket PATH [--quota NAME=VALUE ...]"


def parse_args(argv):
    path = None
    quotas = {}
    from xen.xenstore.store import QUOTA_DEFAULTS
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(USAGE)
            print("quotas: " + " ".join(sorted(QUOTA_DEFAULTS)))
            sys.exit(0)
        if a == "--socket" and i + 1 < len(argv):
            path = argv[i + 1]
            i += 2
        elif a == "--quota" and i + 1 < len(argv):
            kv = argv[i + 1]
            k, sep, v = kv.partition("=")
            if not sep or k not in QUOTA_DEFAULTS:
                raise ValueError("--quota %s: expected NAME=VALUE, NAME one of %s"
                                 % (kv, ", ".join(sorted(QUOTA_DEFAULTS))))
            try:
                quotas[k] = int(v)
            except ValueError:
                raise ValueError("--quota %s: value must be an integer" % kv)
            if quotas[k] < 0:
                raise ValueError("--quota %s: value must be >= 0" % kv)
            i += 2
        else:
            raise ValueError("unknown or incomplete argument %s; %s" % (a, USAGE))
    if path is None:
        raise ValueError(USAGE)
    return path, quotas


def _own_pid():
    with open("/proc/self/stat") as f:
        return int(f.read().split()[0])


def _catch_sigterm(path):
    """Make SIGTERM end the loop like SIGINT. With _xen.catch_signal (a C hook
    turning a signal into KeyboardInterrupt) that is exact. Without it, a
    detached shell waits for this process to exit and removes the socket
    (only if it is still the same inode)."""
    try:
        import _xen
        if hasattr(_xen, "catch_signal"):
            _xen.catch_signal(15)
            return "hook"
    except ImportError:
        pass
    try:
        pid = _own_pid()
        ino = os.stat(path)[1]
    except OSError:
        return None
    q = "'" + path.replace("'", "'\\''") + "'"
    script = ("(tail --pid=%d -s 0.2 -f /dev/null 2>/dev/null || "
              "while kill -0 %d 2>/dev/null; do sleep 0.2; done; "
              "[ \"$(stat -c %%i %s 2>/dev/null)\" = %d ] && rm -f %s) "
              "</dev/null >/dev/null 2>&1" % (pid, pid, q, ino, q))
    # setsid: out of our process group, so a group-wide SIGTERM spares it.
    os.system("setsid sh -c \"$XS_REAPER\" >/dev/null 2>&1 </dev/null &"
              if _putenv("XS_REAPER", script) else script + " &")
    return "reaper"


def _putenv(k, v):
    try:
        os.putenv(k, v)
        return True
    except (AttributeError, OSError):
        return False


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    try:
        path, quotas = parse_args(argv)
    except ValueError as e:
        sys.stderr.write("xen.xenstored: %s\n" % e)
        sys.exit(2)
    from xen import xenstore
    from xen.xenstore.sock import UnixServer
    store = xenstore.server(quotas)
    srv = UnixServer(store, path)
    srv.on_output = xenstore.pump
    _catch_sigterm(path)
    sys.stderr.write("xen.xenstored: serving on %s\n" % path)
    try:
        while True:
            srv.poll_once(-1)
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()
    return 0


if __name__ == "__main__":
    main()
