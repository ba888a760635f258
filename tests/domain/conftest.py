# The domain-builder tests' oracle: the Arm guest constants read from Xen's
# installed public headers, which the firmware's values are checked against
# (the tests pass them to their scenarios in mp/ as arguments).
import os
import re

import pytest

_DEF = re.compile(r"^#define\s+(GUEST_\w+|PSR_GUEST64_INIT|SCTLR_GUEST_INIT|_?VGCF_online|PSR_\w+)\s+(.*?)\s*(/\*.*)?$")


def _header_consts():
    vals = {}
    for h in ("/usr/include/xen/arch-arm.h", "/usr/include/xen/device_tree_defs.h"):
        if not os.path.exists(h):
            continue
        for line in open(h):
            m = _DEF.match(line.strip())
            if not m:
                continue
            expr = re.sub(r"xen_mk_ullong\((\w+)\)", r"\1", m.group(2))
            expr = expr.replace("|", " | ")
            try:
                vals[m.group(1)] = eval(expr, {}, dict(vals))
            except Exception:
                pass
    return vals


@pytest.fixture(scope="session")
def xen_consts():
    """Arm guest constants read from Xen's installed public headers (libxen-dev)."""
    v = _header_consts()
    if "GUEST_RAM0_BASE" not in v:
        pytest.fail("Xen public headers (libxen-dev) not installed", pytrace=False)
    return v
