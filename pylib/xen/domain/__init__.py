# xen.domain: what a domain is and how one is built.
#   config   xl.cfg parser and validator (pure)
#   builder  plan (pure: decides) and execute (the hypercalls, with undo)
#   arm64    guest layout, device tree, vcpu0 context (pure; all Arm knowledge)
#   fdt      DTB writer/reader (pure)       image    kernel/initrd images
#   devices  PV device nodes (pure)         entries  a domain's xenstore entries
#   lifecycle  the Domain object and Xen's domain states
# Import the submodule you need; nothing is imported here to keep the heap small.
