# modxen: MicroPython as the Xen control domain.
#   make run    Xen (Debian's, arm64) in QEMU with the modxen firmware as dom0's
#               toolstack: its REPL on this terminal, a demo guest in /images.
#               XEN=4.17 picks the older release (default 4.20, Debian stable's).
#   make test   build everything the tests need and run the whole suite
# Other targets: run-sim (the host firmware's REPL on the simulated Xen), host, deps,
# clean, bench (every benchmark, in full), bench-sim.

SHELL := /bin/bash
TOP := $(abspath .)
BUILD ?= $(TOP)/build
HOST_BUILD ?= $(BUILD)/host

# MicroPython source: a user's checkout (e.g. a west workspace) or Debian's
# source package, fetched once into build/src.
ifdef MICROPY_DIR
MPY_DIR := $(abspath $(MICROPY_DIR))
MPY_SRC_STAMP :=
else
MPY_DIR := $(BUILD)/src/micropython
MPY_SRC_STAMP := $(MPY_DIR)/py/mpconfig.h
endif

FIRMWARE := $(HOST_BUILD)/micropython
# Python for the host tools (a venv made by scripts/deps.sh)
PYTHON := $(BUILD)/venv/bin/python
MPY_CROSS := $(HOST_BUILD)/mpy-cross/mpy-cross
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# Options shared by every unix build of the firmware.
UNIX_OPTS = MICROPY_PY_BTREE=0 MICROPY_PY_SSL=0 MICROPY_SSL_MBEDTLS=0 MICROPY_PY_FFI=0 \
	USER_C_MODULES=$(TOP) FROZEN_MANIFEST=$(TOP)/pylib/manifest.py \
	MPY_LIB_DIR=$(BUILD)/mpy-lib MICROPY_MPYCROSS=$(MPY_CROSS) \
	CFLAGS_EXTRA="-DMICROPY_SCHEDULER_STATIC_NODES=1"

.PHONY: all host run test test-host deps deps-test clean
all: host

$(BUILD)/.deps-host: scripts/deps.sh tools/requirements.txt
	bash scripts/deps.sh host
	@mkdir -p $(@D) && touch $@

$(BUILD)/.deps-test: scripts/deps.sh tests/requirements.txt
	bash scripts/deps.sh test
	@mkdir -p $(@D) && touch $@

deps: $(BUILD)/.deps-host
deps-test: $(BUILD)/.deps-test

$(BUILD)/src/micropython/py/mpconfig.h: | $(BUILD)/.deps-host
	bash scripts/fetch-micropython.sh $(BUILD)/src

$(MPY_CROSS): $(MPY_SRC_STAMP) | $(BUILD)/.deps-host
	$(MAKE) -C $(MPY_DIR)/mpy-cross -j$(JOBS) BUILD=$(HOST_BUILD)/mpy-cross

$(BUILD)/mpy-lib/README.md:
	@mkdir -p $(@D) && touch $@

# The unix port's own make decides what is stale, but it does not track
# options: when the options change (MODXEN_VERIFY, anchors, MICROPY_DIR...)
# the objects are rebuilt from scratch.
# $(call fresh-objects,DIR,OPTIONS): DIR/obj goes when it was built with other options.
fresh-objects = opts='$(2)'; \
	if [ -d $(1)/obj ] && [ "$$(cat $(1)/.options 2>/dev/null)" != "$$opts" ]; then \
	  echo "$(1): build options changed: rebuilding"; rm -rf $(1)/obj; fi; \
	mkdir -p $(1) && echo "$$opts" > $(1)/.options
host: $(MPY_CROSS) $(BUILD)/mpy-lib/README.md | $(BUILD)/.deps-host
	@$(call fresh-objects,$(HOST_BUILD),$(MPY_DIR) $(UNIX_OPTS) MODXEN_BACKEND=sim)
	GIT_CEILING_DIRECTORIES=$(BUILD)/src $(MAKE) -C $(MPY_DIR)/ports/unix -j$(JOBS) BUILD=$(HOST_BUILD)/obj $(UNIX_OPTS) MODXEN_BACKEND=sim
	@cp $(HOST_BUILD)/obj/micropython $(FIRMWARE).tmp && mv -f $(FIRMWARE).tmp $(FIRMWARE)
	@echo "host firmware: $(FIRMWARE)"

# The product in one command (scripts/run/run.sh): Debian's Xen under QEMU, a Linux
# dom0 whose toolstack is the aarch64 firmware, its REPL on this terminal and, for
# mpremote, on a local TCP socket (the command is printed). Every step says what it
# does; the first run downloads and builds, later ones print the time to `>>>`.
XEN ?= 4.20
ifneq ($(filter run,$(MAKECMDGOALS)),)
RUN_T0 := $(shell date +%s.%N)
endif
RUN_FIRMWARE = $(AARCH64_BUILD)/micropython
.PHONY: run run-sim run-firmware
run:
	@echo "make run: [1/3] dependencies (Debian packages, Python tools; once)"
	@$(MAKE) --no-print-directory $(BUILD)/.deps-host $(BUILD)/.deps-xen
	@echo "make run: [2/3] the aarch64 firmware (MicroPython + _xen + the frozen xen package)"
	@$(MAKE) --no-print-directory run-firmware
	@echo "make run: [3/3] Xen $(XEN) in QEMU with the modxen dom0"
	@bash scripts/run/run.sh --xen $(XEN) --firmware $(RUN_FIRMWARE) --t0 $(RUN_T0)

# The firmware's own make takes seconds even when nothing changed: skip it while the
# firmware is newer than every source it is built from.
run-firmware:
	@if [ -x $(RUN_FIRMWARE) ] && [ -z "$$(find modxen pylib Makefile $(MPY_SRC_STAMP) -newer $(RUN_FIRMWARE) 2>/dev/null | head -n 1)" ]; then \
	   echo "make run: $(RUN_FIRMWARE) is up to date"; \
	 else $(MAKE) --no-print-directory firmware-aarch64; fi

# The host firmware's dom0 REPL on this terminal, on the simulated Xen (no guest code
# runs), booted through the signed default policy installed by the build; its image
# store /images holds the same demo.cfg with a dummy kernel (scripts/run/sim-images.sh).
SIM_IMAGES := $(HOST_BUILD)/sim-images
$(SIM_IMAGES)/demo.cfg: scripts/run/sim-images.sh scripts/run/demo/demo.cfg scripts/run/demo/tiny.cfg
	bash scripts/run/sim-images.sh $(SIM_IMAGES)
run-sim: policy-state $(SIM_IMAGES)/demo.cfg
	@cd $(TOP) && MODXEN_STATE=$(POLICY_STATE) exec $(FIRMWARE) -X heapsize=64M -m xen.repl - --root $(BUILD)/state/flash --images $(SIM_IMAGES) --policy

test: host $(BUILD)/.deps-test
	$(BUILD)/venv/bin/python -m pytest tests $(PYTEST_ARGS)

# Every benchmark in bench/ in full -> build/bench/*.json: bench-sim (the host
# firmware's, a few minutes), then bench-xen (realxen: Xen under QEMU, longer).
# `make test` runs the bench-sim ones in their --smoke mode (tests/bench).
.PHONY: bench bench-sim
bench: bench-sim
	$(MAKE) --no-print-directory bench-xen
bench-sim: host $(BUILD)/.deps-test
	$(PYTHON) bench/xenstore.py
	$(PYTHON) bench/domain.py
	$(PYTHON) bench/console.py

clean:
	rm -rf $(HOST_BUILD)

# ---- real-Xen tier: aarch64 firmware, Xen 4.17 and 4.20 under QEMU --------------------
#   make firmware-aarch64   static aarch64 unix port with _xen (linux backend) + frozen xen
#   make test-xen           boot Xen + a toolstack-free Linux dom0 and run tests/xen/dom0
#   make bench-xen          time xen.domain_create against xl create (build/bench/realxen.json),
#                           a guest's xenstore requests against cxenstored/oxenstored (realxen-xs.json)
#   XEN_RELEASES="4.20"     the Xen releases both run (default: 4.17 4.20)
XEN_RELEASES ?= 4.17 4.20
AARCH64_BUILD ?= $(BUILD)/aarch64-linux
AARCH64_CROSS ?= aarch64-linux-gnu-
# No arm64 libmbedcrypto in the cross sysroot yet: policy signature checks stay out.
AARCH64_OPTS ?= MODXEN_VERIFY=0
# The Linux dom0 firmware is compiled for speed (-O2, as Debian builds its own
# MicroPython) where the unix port defaults to -Os: about 105 KB more text on a
# 1.5 MB static binary, and a guest's xenstore requests 8-24% faster under QEMU
# (median of same-boot pairs, docs/xenstore.md). The Zephyr firmware keeps Zephyr's own choice.
AARCH64_COPT ?= -O2 -DNDEBUG -fdata-sections -ffunction-sections
.PHONY: firmware-aarch64 test-xen deps-xen
$(BUILD)/.deps-xen: scripts/deps.sh
	bash scripts/deps.sh xen
	@mkdir -p $(@D) && touch $@
deps-xen: $(BUILD)/.deps-xen
firmware-aarch64: $(MPY_CROSS) $(BUILD)/mpy-lib/README.md | $(BUILD)/.deps-host $(BUILD)/.deps-xen
	sh scripts/xen-qemu/xen-headers.sh $(AARCH64_BUILD)/xen-public
	@$(call fresh-objects,$(AARCH64_BUILD),$(MPY_DIR) $(UNIX_OPTS) $(AARCH64_OPTS) COPT=$(AARCH64_COPT))
	$(MAKE) -C $(MPY_DIR)/ports/unix -j$(JOBS) BUILD=$(AARCH64_BUILD)/obj $(UNIX_OPTS) MODXEN_BACKEND=linux \
		CROSS_COMPILE=$(AARCH64_CROSS) LDFLAGS_EXTRA=-static MODXEN_XEN_INCLUDE=$(AARCH64_BUILD)/xen-public $(AARCH64_OPTS) \
		COPT="$(AARCH64_COPT)"
	@cp $(AARCH64_BUILD)/obj/micropython $(AARCH64_BUILD)/micropython.tmp && mv -f $(AARCH64_BUILD)/micropython.tmp $(AARCH64_BUILD)/micropython
	@echo "aarch64 firmware: $(AARCH64_BUILD)/micropython"
test-xen: firmware-aarch64
	@rc=0; for r in $(XEN_RELEASES); do bash scripts/xen-qemu/run.sh --xen $$r --firmware $(AARCH64_BUILD)/micropython || rc=1; done; exit $$rc
# bench/realxen.py: xen.domain_create against Xen's own xl create, same QEMU boot (not in make test);
# bench/realxen-xs.py: a guest's own xenstore requests, our server against cxenstored and oxenstored
.PHONY: bench-xen
bench-xen: firmware-aarch64
	MODXEN_AARCH64_FIRMWARE=$(AARCH64_BUILD)/micropython MODXEN_XEN_RELEASES="$(XEN_RELEASES)" python3 bench/realxen.py
	MODXEN_AARCH64_FIRMWARE=$(AARCH64_BUILD)/micropython MODXEN_XEN_RELEASES="$(XEN_RELEASES)" AARCH64_CC=$(AARCH64_CROSS)gcc python3 bench/realxen-xs.py

# ---- boot policies: trust anchors and the signed default policy ----------------------
#   POLICY_PUB=key.pub ...  P-256 public key(s) (PEM) compiled in as the policy trust
#                           anchors. Default: keys/test-only, a TEST key whose private
#                           half is in the repository - never ship it.
#   POLICY_KEY=key.key      signs policies/default for `make run-sim` (must match POLICY_PUB)
#   make policy-state       sign policies/default and install it, confirmed, in a fresh
#                           MODXEN_STATE directory ($(POLICY_STATE))
#   make run-policy         boot the firmware through xen.policy.boot(), then the REPL
POLICY_PUB ?= $(TOP)/keys/test-only/policy.pub
POLICY_KEY ?= $(TOP)/keys/test-only/policy.key
POLICY_VERSION ?= 1
POLICY_ANCHORS_H := $(HOST_BUILD)/policy-anchors.h
POLICY_BUNDLE := $(HOST_BUILD)/default-policy.bundle
POLICY_STATE ?= $(HOST_BUILD)/policy-state
.PHONY: policy-anchors policy-state run-policy
policy-anchors: | $(BUILD)/.deps-host
	@mkdir -p $(HOST_BUILD) && $(PYTHON) tools/policy-anchors-h $(POLICY_ANCHORS_H) $(POLICY_PUB)
host: policy-anchors
host: UNIX_OPTS += MODXEN_POLICY_ANCHORS_H=$(POLICY_ANCHORS_H)
firmware-aarch64: UNIX_OPTS += MODXEN_VERIFY=0
$(POLICY_BUNDLE): $(wildcard policies/default/*) $(POLICY_KEY) | $(BUILD)/.deps-host
	$(PYTHON) tools/modxen-policy sign --key $(POLICY_KEY) --version $(POLICY_VERSION) --counter 0 policies/default $@
$(POLICY_STATE)/.provisioned: $(POLICY_BUNDLE) $(FIRMWARE)
	rm -rf $(POLICY_STATE) && mkdir -p $(POLICY_STATE)
	MODXEN_STATE=$(POLICY_STATE) $(FIRMWARE) -c "import xen.policy as p; p.install('$(POLICY_BUNDLE)', confirm=True); print('policy:', p.status())"
	@touch $@
policy-state: host
	@$(MAKE) --no-print-directory $(POLICY_STATE)/.provisioned
run-policy: policy-state
	@cd $(TOP) && MODXEN_STATE=$(POLICY_STATE) exec $(FIRMWARE) -i -c "import xen.policy; xen.policy.boot()"
# ---- end boot policies
