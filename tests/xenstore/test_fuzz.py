"""Fuzz the core with >= 100k random and mutated messages per run. The
firmware side is mp/xsfuzz.py."""
import os
import random

from xslib import mp

N = int(os.environ.get("XS_FUZZ_MESSAGES", "100000"))


def test_fuzz_core():
    seed = int(os.environ.get("XS_FUZZ_SEED", random.randrange(1 << 30)))
    res = mp("xsfuzz.run", N, seed, timeout=300)
    assert res["messages"] == N >= 100000, res
    assert res["peak_bytes"] < 1500000, (seed, res)
    assert res["nodes"] < 2000, (seed, res)
    print("fuzz seed", seed, res)
