# xen.domain: the pure-logic parts of the domain builder (sans-IO).
#   config  xl.cfg parser and validator     fdt     DTB writer/reader
#   arm64   guest layout, device tree, vcpu0 context     image   kernel/initrd loading
# Import the submodule you need; nothing is imported here to keep the heap small.
