# bench/realxen-xs.py, dom0 phase b of 4 (ours, cxenstored, oxenstored, ours; then a profiled ours): cxenstored.
import xsblib

xsblib.run_theirs("cxenstored", "cxenstored")
