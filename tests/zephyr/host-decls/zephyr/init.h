/* Host stand-in for <zephyr/init.h>: SYS_INIT keeps a reference to the
 * init function, as Zephyr's init table does. */
#ifndef MODXEN_HOST_ZEPHYR_INIT_H
#define MODXEN_HOST_ZEPHYR_INIT_H
#define SYS_INIT(fn, level, prio) \
    int (*const modxen_host_init_##fn)(void) __attribute__((used)) = fn
#endif
