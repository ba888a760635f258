/* Host stand-in for <zephyr/linker/linker-defs.h>: the end of the image. */
#ifndef MODXEN_HOST_ZEPHYR_LINKER_DEFS_H
#define MODXEN_HOST_ZEPHYR_LINKER_DEFS_H
extern char _end[];
#endif
