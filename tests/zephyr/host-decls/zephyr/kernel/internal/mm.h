/* Host stand-in for <zephyr/kernel/internal/mm.h>. */
#ifndef MODXEN_HOST_ZEPHYR_MM_H
#define MODXEN_HOST_ZEPHYR_MM_H
#include <stddef.h>
#include <stdint.h>
#define K_MEM_CACHE_WB 0
#define K_MEM_PERM_RW (1u << 3)
void k_mem_map_phys_bare(uint8_t **virt_ptr, uintptr_t phys, size_t size, uint32_t flags);
void k_mem_unmap_phys_bare(uint8_t *virt, size_t size);
#define K_MEM_PHYS_ADDR(virt) ((virt) - 0)
#endif
