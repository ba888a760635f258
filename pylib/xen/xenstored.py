# xen.xenstored: run the xenstore server.
#   micropython -m xen.xenstored --socket PATH [--quota NAME=VALUE ...]
# Serves dom0-local clients on a unix socket (and, with _xen, the rings of
# introduced guests) until SIGTERM or SIGINT, then removes its socket.
import sys

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


def _catch_signals():
    """SIGTERM and SIGINT end the serving loop as KeyboardInterrupt, so the
    socket is removed on the way out (even when the shell that started us
    ignores SIGINT for background jobs)."""
    import _xenboard
    _xenboard.catch_signal(15)
    _xenboard.catch_signal(2)


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
    # In-process watchers get their events through the local connection's
    # flush (xenstore.pump), like any other connection with output.
    srv = UnixServer(store, path)
    _catch_signals()
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
