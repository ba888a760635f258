# bench/realxen-xs.py, dom0 phase a of 8 (ours and cxenstored in three pairs, ABBAAB; then
# oxenstored, then a profiled ours): ours, pair 1.
import xsblib

xsblib.run_ours("ours_1")
