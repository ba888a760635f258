# Frozen content of the Zephyr dom0 firmware (CONFIG_MICROPY_FROZEN_MANIFEST).
# The port's own _boot.py: mounts /flash (littlefs on the "storage" partition).
freeze("$(PORT_DIR)/modules", "_boot.py")
# The `xen` package and asyncio, as in every modxen firmware.
include("../../pylib/manifest.py", board=True)
# The dom0 boot: xen.policy.boot(), then the REPL that keeps the services.
module("main.py", base_path="modules")
# _xen with the zephyr backend (modxen/micropython.cmake).
c_module("../../modxen")
