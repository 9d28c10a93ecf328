# SPDX-License-Identifier: BSD-3-Clause
# Builds the libFuzzer targets and make-corpus into build-fuzz/, from the
# library sources directly. Run from the repository root (tests/fuzz/run-fuzz
# does): make -f tests/fuzz/fuzz.mk

FUZZ_CC ?= clang
B := build-fuzz
O := $(B)/obj
# The data-message AEAD backend, as the main Makefile has it.
AEAD ?= openssl
ifeq ($(AEAD),openssl)
AEAD_CFLAGS := -DALTUNTUN_AEAD_OPENSSL
AEAD_LIBS := -lcrypto
endif

SAN_COMPILE := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
SAN_LINK := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
# make-corpus has its own main(): the instrumented objects without libFuzzer.
SAN_TOOL := -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS_F := -std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -MMD -MP \
	-Iinclude -Isrc/proto -Isrc/agent -Itests/fuzz -Itests/unit $(AEAD_CFLAGS)
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
LIBS := -lsodium -lb2 $(AEAD_LIBS)

# Everything is rebuilt when the compiler or the backend changes.
CONFIG := $(FUZZ_CC) $(AEAD_CFLAGS)
$(shell mkdir -p $(B) && (echo '$(CONFIG)' | cmp -s - $(B)/config || echo '$(CONFIG)' >$(B)/config))

PROTO_OBJ := $(patsubst %.c,$(O)/%.o,$(wildcard src/proto/*.c))
UAPI_OBJ := $(O)/src/agent/uapi.o $(O)/src/agent/uapi_get.o $(O)/src/agent/uapi_parse.o
CONFIG_OBJ := $(O)/src/agent/config_json.o $(O)/src/agent/json_position.o $(UAPI_OBJ) \
	$(O)/tests/fuzz/fuzz_offline.o
CNI_OBJ := $(O)/src/agent/cni_input.o $(O)/src/agent/cni_result.o $(CONFIG_OBJ)
COMMON_OBJ := $(O)/tests/fuzz/fuzz_common.o
# The UAPI's interface side, shared with the unit tests.
FAKE_IFACE_OBJ := $(O)/tests/unit/fake_iface.o
RX_OBJ := $(O)/tests/fuzz/rx_world.o
# fuzz_inner: the agent's packet code, the target's parts, a reference checksum.
INNER_AGENT_OBJ := $(O)/src/agent/offload.o $(O)/src/agent/icmp_error.o $(O)/src/agent/loop_guard.o
INNER_PKT_OBJ := $(O)/tests/fuzz/inner_pkt.o $(O)/tests/unit/ref_csum.o
INNER_OBJ := $(O)/tests/fuzz/fuzz_inner.o $(O)/tests/fuzz/inner_coalesce.o \
	$(O)/tests/fuzz/inner_split.o $(O)/tests/fuzz/inner_icmp.o $(O)/tests/fuzz/inner_loop.o \
	$(INNER_PKT_OBJ) $(INNER_AGENT_OBJ)

TARGETS := $(B)/fuzz_receive $(B)/fuzz_send $(B)/fuzz_uapi $(B)/fuzz_config_json $(B)/fuzz_cni \
	$(B)/fuzz_inner
ALL_OBJ := $(PROTO_OBJ) $(UAPI_OBJ) $(COMMON_OBJ) $(FAKE_IFACE_OBJ) $(RX_OBJ) $(CNI_OBJ) \
	$(O)/tests/fuzz/fuzz_receive.o $(O)/tests/fuzz/fuzz_send.o \
	$(O)/tests/fuzz/fuzz_uapi.o $(O)/tests/fuzz/make-corpus.o \
	$(O)/tests/fuzz/fuzz_config_json.o $(O)/tests/fuzz/fuzz_cni.o \
	$(INNER_OBJ) $(O)/tests/fuzz/inner_seeds.o

.PHONY: all
all: $(TARGETS) $(B)/make-corpus

# The library as the project has it; our own code warnings-clean.
$(O)/src/%.o: src/%.c tests/fuzz/fuzz.mk $(B)/config
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_F) $(SAN_COMPILE) $(WARN) -c -o $@ $<

$(O)/tests/unit/%.o: tests/unit/%.c tests/fuzz/fuzz.mk $(B)/config
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_F) $(SAN_COMPILE) $(WARN) -Werror -c -o $@ $<

$(O)/tests/fuzz/%.o: tests/fuzz/%.c tests/fuzz/fuzz.mk $(B)/config
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_F) $(SAN_COMPILE) $(WARN) -Werror -c -o $@ $<

$(B)/fuzz_receive: $(O)/tests/fuzz/fuzz_receive.o $(RX_OBJ) $(COMMON_OBJ) $(PROTO_OBJ)
	$(FUZZ_CC) $(SAN_LINK) -o $@ $^ $(LIBS)

$(B)/fuzz_send: $(O)/tests/fuzz/fuzz_send.o $(COMMON_OBJ) $(PROTO_OBJ)
	$(FUZZ_CC) $(SAN_LINK) -o $@ $^ $(LIBS)

$(B)/fuzz_uapi: $(O)/tests/fuzz/fuzz_uapi.o $(FAKE_IFACE_OBJ) $(UAPI_OBJ) $(COMMON_OBJ) $(PROTO_OBJ)
	$(FUZZ_CC) $(SAN_LINK) -o $@ $^ $(LIBS)

$(B)/fuzz_config_json: $(O)/tests/fuzz/fuzz_config_json.o $(FAKE_IFACE_OBJ) $(CONFIG_OBJ) $(COMMON_OBJ) $(PROTO_OBJ)
	$(FUZZ_CC) $(SAN_LINK) -o $@ $^ $(LIBS) -ljansson -ldl

$(B)/fuzz_cni: $(O)/tests/fuzz/fuzz_cni.o $(CNI_OBJ) $(COMMON_OBJ) $(PROTO_OBJ)
	$(FUZZ_CC) $(SAN_LINK) -o $@ $^ $(LIBS) -ljansson -ldl

$(B)/fuzz_inner: $(INNER_OBJ) $(COMMON_OBJ) $(PROTO_OBJ)
	$(FUZZ_CC) $(SAN_LINK) -o $@ $^ $(LIBS)

$(B)/make-corpus: $(O)/tests/fuzz/make-corpus.o $(O)/tests/fuzz/inner_seeds.o $(INNER_PKT_OBJ) \
		$(RX_OBJ) $(COMMON_OBJ) $(PROTO_OBJ)
	$(FUZZ_CC) $(SAN_TOOL) -o $@ $^ $(LIBS)

-include $(ALL_OBJ:.o=.d)
