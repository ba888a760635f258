/* Host stand-in for <zephyr/devicetree.h>: one "xen,xen" node with two reg
 * entries (grant table, one extended region, the build-time fallback), and
 * dom0's RAM as the chosen zephyr,sram node. */
#ifndef MODXEN_HOST_ZEPHYR_DEVICETREE_H
#define MODXEN_HOST_ZEPHYR_DEVICETREE_H
#define DT_HAS_COMPAT_STATUS_OKAY(compat) 1
#define DT_INST(inst, compat) modxen_host_xen_node
#define DT_NUM_REGS(node) 2
#define DT_REG_ADDR_BY_IDX(node, idx) ((idx) == 0 ? 0x40200000ull : 0x60000000ull)
#define DT_REG_SIZE_BY_IDX(node, idx) ((idx) == 0 ? 0x40000ull : 0x10000000ull)
#define DT_CHOSEN(prop) modxen_host_chosen_##prop
#define DT_REG_ADDR(node) 0x58000000ull
#define DT_REG_SIZE(node) 0x8000000ull
#endif
