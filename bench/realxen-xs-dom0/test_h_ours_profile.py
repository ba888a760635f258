# bench/realxen-xs.py, last dom0 phase (h of 8): ours once more with its time split by
# part (upcall callback, ring, store); not in the ratios (the timers cost time themselves).
import xsblib

xsblib.run_ours("ours_profile", profile=True)
