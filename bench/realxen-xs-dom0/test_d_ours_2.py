# bench/realxen-xs.py, dom0 phase d of 8 (ours and cxenstored in three pairs, ABBAAB; then
# oxenstored, then a profiled ours): ours, pair 2.
import xsblib

xsblib.run_ours("ours_2")
