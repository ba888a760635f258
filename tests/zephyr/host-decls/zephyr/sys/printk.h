/* Host stand-in for <zephyr/sys/printk.h>. */
#ifndef MODXEN_HOST_ZEPHYR_PRINTK_H
#define MODXEN_HOST_ZEPHYR_PRINTK_H
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
