# bench/realxen-xs.py, a dom0 phase: warm-up, ours (QEMU translates each code path
# once, on first use: the first measured phase of a boot would pay for it).
# The phases run in file-name order: a warm-up of each server (not in the figures),
# ours and cxenstored in three pairs (ours, cx, cx, ours, ours, cx), oxenstored, and a
# profiled ours.
import xsblib

xsblib.run_ours("warmup_ours", warm=True)
