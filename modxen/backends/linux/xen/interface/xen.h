// Linux's uapi <xen/privcmd.h> includes the kernel-internal <xen/interface/xen.h>
// for domid_t and xen_pfn_t. In user space both come from Xen's own public
// headers, which modxen reaches through xenabi.h.
#include "xenabi.h"
