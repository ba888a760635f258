# tests/xen/dom0 holds the scripts that run *inside* the Xen dom0 (MicroPython, busybox
# sh); pytest on the host must not collect them. test_realxen.py runs them.
collect_ignore = ["dom0"]
