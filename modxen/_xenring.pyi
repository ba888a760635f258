# Editor stub for _xenring (modxen/ring.c): guest byte rings.
# docs/xen-module.md has the reference.
from typing import Callable, Tuple

CONSOLE_OUT: tuple
CONSOLE_IN: tuple
XENSTORE_REQ: tuple
XENSTORE_RSP: tuple
def read(page, layout: tuple, cons: int, buf, off: int = 0) -> int: ...
def write(page, layout: tuple, prod: int, data, off: int = 0) -> int: ...
def indices(page, layout: tuple) -> Tuple[int, int]: ...


class XsRing:
    """The server side of one xenstore page (see docs/xen-module.md)."""
    KICK: int
    BUSY: int
    TOOBIG: int
    req_cons: int
    rsp_prod: int
    have: int
    inbuf: bytearray
    stats_in: int
    stats_out: int
    def __init__(self, page) -> None: ...
    def serve(self, conn, handle: Callable, notify: Callable, budget: int, limit: int) -> int: ...
    def reset(self, req_cons: int = ..., rsp_prod: int = ...) -> None: ...
