# bench/realxen-xs.py, dom0 phase c of 8 (ours and cxenstored in three pairs, ABBAAB; then
# oxenstored, then a profiled ours): cxenstored, pair 2.
import xsblib

xsblib.run_theirs("cxenstored_2", "cxenstored")
