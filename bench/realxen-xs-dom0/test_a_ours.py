# bench/realxen-xs.py, dom0 phase a of 4 (ours, cxenstored, oxenstored, ours; then a profiled ours): ours.
import xsblib

xsblib.run_ours("ours")
