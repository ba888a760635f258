# modxen's C modules for MicroPython's make-based ports (unix). USER_C_MODULES
# points at the directory that holds this folder. MODXEN_BACKEND picks the
# hypervisor backend of _xen: sim (host tests), linux (privcmd) or zephyr
# (see micropython.cmake).
MODXEN_DIR := $(USERMOD_DIR)
MODXEN_BACKEND ?= sim

# _xen: the binding, one file per hypercall family, and the backend.
SRC_USERMOD_C += $(addprefix $(MODXEN_DIR)/,modxen.c xenerrno.c abi.c domctl.c sysctl.c memory.c evtchn.c flask.c)
CFLAGS_USERMOD += -I$(MODXEN_DIR)
ifeq ($(MODXEN_BACKEND),sim)
# the model of Xen and its test module _xensim (backends/sim/)
SRC_USERMOD_C += $(wildcard $(MODXEN_DIR)/backends/sim/*.c) $(MODXEN_DIR)/backends/unix_wake.c
LDFLAGS_USERMOD += -lpthread
else
SRC_USERMOD_C += $(MODXEN_DIR)/backends/$(MODXEN_BACKEND).c
endif
# linux backend (real-Xen tier): Linux's <xen/privcmd.h> wants <xen/interface/xen.h>,
# which backends/linux/ maps onto Xen's headers; MODXEN_XEN_INCLUDE names a directory
# holding Xen's public xen/ for cross builds (searched after the cross sysroot).
ifeq ($(MODXEN_BACKEND),linux)
SRC_USERMOD_C += $(MODXEN_DIR)/backends/unix_wake.c
CFLAGS_USERMOD += -I$(MODXEN_DIR)/backends/linux
ifdef MODXEN_XEN_INCLUDE
CFLAGS_USERMOD += -idirafter $(MODXEN_XEN_INCLUDE)
endif
LDFLAGS_USERMOD += -lpthread
endif

# _es256: boot-policy signatures; verify.c needs mbedTLS's libmbedcrypto.
# MODXEN_VERIFY=0 leaves the module out (builds without mbedTLS).
# MODXEN_POLICY_ANCHORS_H: header generated from POLICY_PUB by tools/policy-anchors-h;
# without it the firmware trusts no policy key.
MODXEN_VERIFY ?= 1
ifeq ($(MODXEN_VERIFY),1)
SRC_USERMOD_C += $(MODXEN_DIR)/verify.c
CFLAGS_USERMOD += -DMODXEN_VERIFY=1
LDFLAGS_USERMOD += -lmbedcrypto
ifdef MODXEN_POLICY_ANCHORS_H
CFLAGS_USERMOD += -DMODXEN_POLICY_ANCHORS_H='"$(MODXEN_POLICY_ANCHORS_H)"'
endif
endif

# _xenring (guest byte rings) and _xsframe (xenstore wire framing).
SRC_USERMOD_C += $(MODXEN_DIR)/ring.c $(MODXEN_DIR)/xsframe.c

# _xenboard: the host REPL terminal, with MicroPython's own pyexec.c (raw
# REPL, raw-paste), taken from the MicroPython tree ($(TOP)), which the unix
# port of 1.25 does not build.
SRC_USERMOD_C += $(MODXEN_DIR)/board/repl.c $(MODXEN_DIR)/board/unix.c
SRC_USERMOD_LIB_C += shared/runtime/pyexec.c
# its banner names the compiler, a macro of extmod/modplatform.h (the ports'
# main.c include it; pyexec.c itself does not)
$(BUILD)/shared/runtime/pyexec.o: CFLAGS += -include py/mpconfig.h -include extmod/modplatform.h
