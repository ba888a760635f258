# bench/realxen-xs.py, a dom0 phase: warm-up, cxenstored.
# The phases run in file-name order: a warm-up of each server (not in the figures),
# ours and cxenstored in three pairs (ours, cx, cx, ours, ours, cx), oxenstored, and a
# profiled ours.
import xsblib

xsblib.run_theirs("warmup_cxenstored", "cxenstored", warm=True)
