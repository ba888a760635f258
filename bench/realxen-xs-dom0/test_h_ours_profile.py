# bench/realxen-xs.py, a dom0 phase: ours once more with its time split by part (upcall callback, ring, store); not in the ratios (the timers cost time themselves).
# The phases run in file-name order: a warm-up of each server (not in the figures),
# ours and cxenstored in three pairs (ours, cx, cx, ours, ours, cx), oxenstored, and a
# profiled ours.
import xsblib

xsblib.run_ours("ours_profile", profile=True)
