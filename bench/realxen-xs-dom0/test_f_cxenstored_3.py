# bench/realxen-xs.py, dom0 phase f of 8 (ours and cxenstored in three pairs, ABBAAB; then
# oxenstored, then a profiled ours): cxenstored, pair 3.
import xsblib

xsblib.run_theirs("cxenstored_3", "cxenstored")
