# bench/realxen.py, dom0 phase 3 of 5 (ours, xl, ours, xl, ours): our toolstack again.
import oursrun

oursrun.main('ours_again')
