# The frozen `xen` package: modxen's dom0 toolstack in Python.
# Submodules are imported on first use to keep a board's heap free.
__version__ = "0.1.0"
