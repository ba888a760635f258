# bench/realxen.py, dom0 phases 3 and 5 of 5 (ours, xl, ours, xl, ours): our toolstack
# again once xl's daemons have gone, so that a machine getting slower or faster during
# the boot weighs on both sides.
import xen
import benchlib as b
import ours


def main(key):
    b.prepare()
    xen.start()
    runs = [ours.one(b.CFG) for _ in range(b.RUNS)]
    b.report(key, runs)
    print(("PASS" if all(r["guest_up_ms"] for r in runs) else "FAIL") + " %s_guest_up" % key)

