# bench/realxen.py, dom0 phase 2 of 5 (ours, xl, ours, xl, ours): Xen's own toolstack.
import xlrun

xlrun.main('xl')
