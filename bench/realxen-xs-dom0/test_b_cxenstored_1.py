# bench/realxen-xs.py, dom0 phase b of 8 (ours and cxenstored in three pairs, ABBAAB; then
# oxenstored, then a profiled ours): cxenstored, pair 1.
import xsblib

xsblib.run_theirs("cxenstored_1", "cxenstored")
