"""Differential test: the same randomized op sequences on our server and on
Debian's cxenstored 4.17 (run without Xen through the fakexen LD_PRELOAD
shim). Every divergence is listed; the test fails on any."""
import json
import os
import random

from xslib import ROOT
from xsdiff import CXenstored, replay

SEQS = int(os.environ.get("XS_DIFF_SEQUENCES", "1000"))


def test_differential_against_cxenstored(xsd, sockdir):
    cx = CXenstored(sockdir / "cx")
    try:
        # A fixed base keeps CI reproducible; XS_DIFF_SEED=random explores.
        seed = os.environ.get("XS_DIFF_SEED", "1")
        base = random.randrange(1 << 20) if seed == "random" else int(seed)
        seeds = list(range(base, base + SEQS))
        just = []
        div = replay(xsd.path, cx.path, seeds, justified_out=just)
    finally:
        cx.stop()
    out = ROOT / "build" / "xenstore-diff.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"divergences": div, "justified": just}, indent=1))
    assert len(seeds) >= 1000 or "XS_DIFF_SEQUENCES" in os.environ
    assert not div, "%d divergences (seed base %d), first ones:\n%s" % (
        len(div), base, "\n".join(json.dumps(d) for d in div[:15]))
