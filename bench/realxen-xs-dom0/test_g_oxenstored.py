# bench/realxen-xs.py, dom0 phase g of 8 (ours and cxenstored in three pairs, ABBAAB; then
# oxenstored, then a profiled ours): oxenstored, once.
import xsblib

xsblib.run_theirs("oxenstored", "oxenstored")
