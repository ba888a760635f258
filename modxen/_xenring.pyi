# Editor stub for _xenring (modxen/ring.c): guest byte rings.
# docs/xen-module.md has the reference.
from typing import Tuple

CONSOLE_OUT: tuple
CONSOLE_IN: tuple
XENSTORE_REQ: tuple
XENSTORE_RSP: tuple
def read(page, layout: tuple, cons: int, buf, off: int = 0) -> int: ...
def write(page, layout: tuple, prod: int, data, off: int = 0) -> int: ...
def indices(page, layout: tuple) -> Tuple[int, int]: ...
