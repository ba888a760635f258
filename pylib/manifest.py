# Frozen content of every modxen firmware: the `xen` package and asyncio.
# A board's manifest includes this with board=True: the modules that only
# the host firmware can run (pty REPL, unix-socket xenstored, littlefs image
# files) stay out of its flash, and the package is compiled with -O3: no
# line numbers in its tracebacks (function and file names stay), about 7 KB
# less flash.
import os

HOST_ONLY = ("xen/repl.py", "xen/xenstored.py", "xen/xenstore/sock.py", "xen/policy/blockdev.py")

if options.board:
    files = []
    for d, _, names in os.walk("xen"):
        for n in names:
            p = os.path.join(d, n)
            if n.endswith(".py") and p not in HOST_ONLY:
                files.append(os.path.relpath(p, "xen"))
    package("xen", files=sorted(files), opt=3)
else:
    package("xen")
include("$(MPY_DIR)/extmod/asyncio")
