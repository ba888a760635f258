# bench/xenstore.py's firmware side: the heap the xenstore core spends per
# node, with ten introduced domains writing 200 nodes each.
import gc
from xen import xenstore
from xen.xenstore import store as S, wire as W


def heap():
    # the collector's threshold as xen.xenstored sets it
    gc.threshold(max(xenstore.GC_THRESHOLD, (gc.mem_free() + gc.mem_alloc()) // 4))
    s = S.XenStore()
    d0 = s.connect()
    for g in range(1, 11):
        s.handle(d0, W.INTRODUCE, 1, 0, b"%d\x001\x001\x00" % g)
        s.handle(d0, W.MKDIR, 1, 0, b"/local/domain/%d\x00" % g)
        s.handle(d0, W.SET_PERMS, 1, 0, b"/local/domain/%d\x00n%d\x00" % (g, g))
        d0.take_all()
    gc.collect()
    n0 = len(s.tree)
    a0 = gc.mem_alloc()
    for g in range(1, 11):
        c = s.domains[g].conn
        for i in range(200):
            s.handle(c, W.WRITE, 1, 0, b"data/n%d\x00value-%d" % (i, i))
            c.take_all()
    s.drain_dirty()
    gc.collect()
    a1 = gc.mem_alloc()
    return {"nodes": len(s.tree) - n0, "bytes": a1 - a0, "per_node": (a1 - a0) / (len(s.tree) - n0)}
