# The frozen `xen` package: modxen's dom0 toolstack in Python.
#   xen.start(**options)            bring up the dom0 services (idempotent)
#   xen.domain_create(cfg, paused=False) -> xen.Domain
#   xen.domains() -> [xen.Domain]
#   xen.serve(seconds=None)         sleep and serve the guests' events
#   xen.get_dom0()                  the one object that owns this dom0's state
# Submodules are imported on first use to keep a board's heap free.
#
# Owns: the one Dom0 of this interpreter. Everything else is in submodules,
# which import downwards only (docs/architecture.md); they reach the Dom0
# through get_dom0().
__version__ = "0.1.0"

_dom0 = None


def get_dom0():
    """This dom0: the xenstore server, consoles, rings and domains (made on
    first use; xen.start() brings its services up)."""
    global _dom0
    if _dom0 is None:
        from xen.dom0 import Dom0
        _dom0 = Dom0()
    return _dom0


def start(**options):
    """Bring the dom0 services up (idempotent); returns the Dom0. Options:
    quotas (xenstore), consoles (serve guest consoles, default True),
    console (options of each console: backlog, logdir, ...), dead_consoles
    (torn-down domains kept for their consoles, default 8), crash_logdir."""
    return get_dom0().start(**options)


def domain_create(cfg, paused=False):
    return get_dom0().create(cfg, paused=paused)


def domains():
    return get_dom0().all_domains()


def serve(seconds=None):
    """Serve the guests' events (xenstore, consoles, domain exits) for
    `seconds`, None for ever: the end of a dom0 program."""
    return get_dom0().serve(seconds)


def __getattr__(name):
    if name == "Domain":
        from xen.domain.lifecycle import Domain
        return Domain
    if name in ("DomainError", "BuildError"):
        from xen.domain import builder
        return getattr(builder, name)
    if name in ("xsm", "xl", "xenstore", "console", "policy", "dom0"):
        __import__("xen." + name)
        return globals()[name] if name in globals() else getattr(__import__("xen"), name)
    raise AttributeError(name)
