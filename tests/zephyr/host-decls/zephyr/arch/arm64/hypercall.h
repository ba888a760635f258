/* Host stand-in for <zephyr/arch/arm64/hypercall.h> (Zephyr's hypercall stubs). */
#ifndef MODXEN_HOST_ZEPHYR_HYPERCALL_H
#define MODXEN_HOST_ZEPHYR_HYPERCALL_H
int HYPERVISOR_console_io(int op, int cnt, char *str);
int HYPERVISOR_sched_op(int op, void *param);
int HYPERVISOR_event_channel_op(int op, void *param);
int HYPERVISOR_hvm_op(int op, void *param);
int HYPERVISOR_memory_op(int op, void *param);
int HYPERVISOR_grant_table_op(int op, void *uop, unsigned int count);
int HYPERVISOR_domctl(void *param);
#endif
