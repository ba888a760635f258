# The frozen `xen` package: modxen's dom0 toolstack in Python.
#   xen.start(**options)            bring up the dom0 services (idempotent)
#   xen.domain_create(cfg, paused=False) -> xen.Domain
#   xen.domains() -> [xen.Domain]
# Submodules are imported on first use to keep a board's heap free.
__version__ = "0.1.0"


def start(**options):
    from xen import services
    return services.start(**options)


def domain_create(cfg, paused=False):
    from xen.domain import lifecycle
    return lifecycle.create(cfg, paused=paused)


def domains():
    from xen.domain import lifecycle
    return lifecycle.all_domains()


def __getattr__(name):
    if name == "Domain":
        from xen.domain.lifecycle import Domain
        return Domain
    if name in ("DomainError", "BuildError"):
        from xen.domain import builder
        return getattr(builder, name)
    if name in ("xsm", "xl", "xenstore", "console", "policy", "services"):
        __import__("xen." + name)
        return globals()[name] if name in globals() else getattr(__import__("xen"), name)
    raise AttributeError(name)
