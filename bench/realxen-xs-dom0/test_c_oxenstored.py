# bench/realxen-xs.py, dom0 phase c of 4 (ours, cxenstored, oxenstored, ours; then a profiled ours): oxenstored.
import xsblib

xsblib.run_theirs("oxenstored", "oxenstored")
