# bench/realxen-xs.py, dom0 phase d of 4 (ours, cxenstored, oxenstored, ours; then a profiled ours): ours_again.
import xsblib

xsblib.run_ours("ours_again")
