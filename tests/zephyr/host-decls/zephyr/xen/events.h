/* Host stand-in for <zephyr/xen/events.h>: Zephyr's event-channel driver API.
 * evtchn_port_t and domid_t are Xen's (included before this header). */
#ifndef MODXEN_HOST_ZEPHYR_XEN_EVENTS_H
#define MODXEN_HOST_ZEPHYR_XEN_EVENTS_H
typedef void (*evtchn_cb_t)(void *priv);
int bind_event_channel(evtchn_port_t port, evtchn_cb_t cb, void *data);
int unbind_event_channel(evtchn_port_t port);
int get_missed_events(evtchn_port_t port);
int mask_event_channel(evtchn_port_t port);
int unmask_event_channel(evtchn_port_t port);
int evtchn_close(evtchn_port_t port);
void notify_evtchn(evtchn_port_t port);
#endif
