# SPDX-License-Identifier: BSD-3-Clause
# AltunTun: `make` builds; `make check` and `make demo` install their Debian
# build dependencies first (scripts/install-deps), so they work on a bare machine.

PREFIX ?= /usr/local
CC ?= cc
PKGS := libsodium libnl-3.0 libnl-route-3.0 libcap-ng jansson libseccomp
# The AEAD of data messages (docs/performance.md, "Which AEAD"): openssl
# (EVP ChaCha20-Poly1305 from libcrypto, about twice libsodium's speed here)
# or sodium. Handshakes always use libsodium.
AEAD ?= openssl
ifeq ($(AEAD),openssl)
PKGS += libcrypto
AEAD_CFLAGS := -DALTUNTUN_AEAD_OPENSSL
endif
CSTD := -std=c17 -D_GNU_SOURCE
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
OPT ?= -O2 -g
# Every symbol bound at start (full RELRO): hardening, and no lazy binding
# touching ld.so and the symbol tables of every library later, after the
# daemon gave back its start-up pages (docs/performance.md, "Memory").
LINK_NOW := -Wl,-z,relro -Wl,-z,now
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lb2 -lpthread
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -fPIC -Iinclude -Isrc/proto -Isrc/agent -Isrc/netns $(AEAD_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
PROTO_LIBS := -lsodium -lb2 $(if $(AEAD_CFLAGS),-lcrypto)

B := build
PROTO_SRC := $(wildcard src/proto/*.c)
AGENT_SRC := $(filter-out src/agent/cli_main.c src/agent/cni_main.c,$(wildcard src/agent/*.c)) $(wildcard src/netns/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)
PROTO_OBJ := $(PROTO_SRC:%.c=$(B)/%.o)
AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(B)/%.o)
HDRS := $(wildcard include/*.h src/proto/*.h src/agent/*.h src/netns/*.h tests/unit/*.h)

BINS := $(B)/altuntun-cli $(B)/altuntun-cni
LIBS := $(B)/libaltuntun.a $(B)/libaltuntun.so
# Test and benchmark tools (not installed): hsgen floods handshakes
# (tests/netns/handshake_flood.sh, bench/run-all); udp_garbage sends random
# datagrams at a listen port (tests/netns/udp_garbage.sh); alloc_count.so is
# preloaded into daemons to count their allocations (alloc_steady.sh).
TOOLS := $(B)/bench/hsgen $(B)/tests/netns/tools/udp_garbage $(B)/alloc_count.so

.PHONY: all deps check unit unit-asan unit-ubsan netns-tests fuzz fuzz-short demo bench install clean

all: $(LIBS) $(BINS) $(TOOLS)

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(B)/libaltuntun.a: $(PROTO_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/libaltuntun.so: $(PROTO_OBJ)
	$(CC) -shared -Wl,-soname,libaltuntun.so.0 -o $@ $^ $(PROTO_LIBS) $(LINK_NOW) $(LDFLAGS)

$(B)/libagent.a: $(AGENT_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/altuntun-cli: $(B)/src/agent/cli_main.o $(B)/libagent.a $(B)/libaltuntun.a
	$(CC) -o $@ $^ $(PKG_LIBS) $(LINK_NOW) $(LDFLAGS)

$(B)/altuntun-cni: $(B)/src/agent/cni_main.o $(B)/libagent.a $(B)/libaltuntun.a
	$(CC) -o $@ $^ $(PKG_LIBS) $(LINK_NOW) $(LDFLAGS)

$(B)/bench/hsgen: $(B)/bench/hsgen.o $(B)/libaltuntun.a
	$(CC) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

$(B)/tests/netns/tools/%: tests/netns/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CFLAGS) -o $@ $< $(LDFLAGS)

$(B)/alloc_count.so: tests/netns/tools/alloc_count.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) -fPIC -shared -o $@ $< $(LINK_NOW) $(LDFLAGS)

$(B)/unit-tests: $(UNIT_OBJ) $(B)/libagent.a $(B)/libaltuntun.a
	$(CC) -o $@ $^ $(PKG_LIBS) $(LINK_NOW) $(LDFLAGS)

deps:
	@scripts/install-deps

unit: $(B)/unit-tests
	$(B)/unit-tests

# Sanitizer builds use their own object trees.
unit-asan:
	$(MAKE) --no-print-directory B=build-asan OPT="-O1 -g -fsanitize=address -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address" build-asan/unit-tests
	ASAN_OPTIONS=detect_leaks=1 build-asan/unit-tests

unit-ubsan:
	$(MAKE) --no-print-directory B=build-ubsan OPT="-O1 -g -fsanitize=undefined -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=undefined" build-ubsan/unit-tests
	UBSAN_OPTIONS=print_stacktrace=1 build-ubsan/unit-tests

netns-tests: all
	tests/netns/run-all

fuzz-short:
	tests/fuzz/run-fuzz short

fuzz:
	tests/fuzz/run-fuzz long

check: deps
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory unit-asan
	$(MAKE) --no-print-directory unit-ubsan
	$(MAKE) --no-print-directory fuzz-short
	$(MAKE) --no-print-directory netns-tests

demo: deps
	$(MAKE) --no-print-directory all
	scripts/demo

bench: deps all
	bench/run-all

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(B)/libaltuntun.a $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(B)/libaltuntun.so $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 include/altuntun.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 docs/altuntun-cli.8 docs/altuntun-cni.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	@echo "To let ordinary users start tunnels: setcap cap_net_admin+ep $(DESTDIR)$(PREFIX)/bin/altuntun-cli (their UAPI sockets: $$XDG_RUNTIME_DIR/wireguard; see docs/namespaces.md, Rootless)"

clean:
	rm -rf build build-asan build-ubsan build-fuzz
