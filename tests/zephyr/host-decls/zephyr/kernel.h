/* Host stand-in: the parts of <zephyr/kernel.h> the zephyr backend uses. */
#ifndef MODXEN_HOST_ZEPHYR_KERNEL_H
#define MODXEN_HOST_ZEPHYR_KERNEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#define __aligned(x) __attribute__((__aligned__(x)))
void *k_aligned_alloc(size_t align, size_t size);
void k_free(void *ptr);
struct k_timer;
typedef void (*k_timer_expiry_t)(struct k_timer *timer);
typedef void (*k_timer_stop_t)(struct k_timer *timer);
struct k_timer { int opaque_; };
typedef struct { int64_t ticks; } k_timeout_t;
k_timeout_t K_MSEC(int ms);
#define K_NO_WAIT ((k_timeout_t){ 0 })
void k_timer_init(struct k_timer *timer, k_timer_expiry_t expiry, k_timer_stop_t stop);
void k_timer_start(struct k_timer *timer, k_timeout_t duration, k_timeout_t period);
void k_timer_stop(struct k_timer *timer);
unsigned int irq_lock(void);
void irq_unlock(unsigned int key);
#endif
