# bench/realxen.py, dom0 phase 1 (of 3: ours, xl, ours again): xen.domain_create with
# the guest in dom0's RAM; then once from the 9p share, and one profiled build.
import _xen
import xen
import benchlib as b
import ours


def main():
    b.prepare()
    xen.start()
    runs = [ours.one(b.CFG) for _ in range(b.RUNS)]
    b.report("ours", runs)
    print(("PASS" if all(r["guest_up_ms"] for r in runs) else "FAIL") + " ours_guest_up")
    # the same guest with its images read from the 9p share (bounce-buffered load)
    cfg9p = b.DIR + "/guest-9p.cfg"
    with open(cfg9p, "w") as f:
        f.write(b.CFG_TEXT.replace('"/bench/', '"/mnt/host/guest/'))
    b.report("ours_from_9p", [ours.one(cfg9p)])
    print("BENCH " + b.json.dumps({"ours_profile_ms": ours.profile(b.CFG)}))
    left = [i["domid"] for i in _xen.domain_list()]
    print(("PASS" if left == [0] else "FAIL") + " ours_cleanup" + ("" if left == [0] else ": %r" % left))


main()
