# Frozen content of every modxen firmware: the `xen` package and asyncio.
package("xen")
include("$(MPY_DIR)/extmod/asyncio")
