# modelfs — one GNU Makefile.  `make` builds, `make check` tests, `make demo` demos.
# `make SANITIZE=address,undefined` builds with sanitizers into build-san/;
# `make fuzz` builds the libFuzzer harnesses (clang) into build-fuzz/ and
# runs each for FUZZ_SECONDS (default 60; `make check` gives them 15).
# BUILD=DIR puts a build elsewhere (default build/ or build-san/).

CC      ?= cc
PKGS    := fuse3 libcurl openssl inih libarchive jansson
SANITIZE ?=

ifeq ($(SANITIZE),)
BUILD   ?= build
SANFLAGS :=
else
BUILD   ?= build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
           -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter
# CFLAGS and LDFLAGS are the caller's (`make CFLAGS=-O0`); what the build
# needs is added beside them.
CFLAGS  ?= -O2 -g
MFS_CFLAGS := $(WARN) -Iinclude -MMD -MP $(SANFLAGS)
MFS_LDFLAGS := $(SANFLAGS)

# The packages' flags are read when a recipe first needs them, not when
# this file is parsed: on a fresh machine `scripts/deps` (an order-only
# prerequisite of every object) installs the -dev packages first.  Each
# is computed once per make run.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)
LDLIBS     = $(PKG_LIBS) -lpthread

# Every fs/*.c except the programs' entry points and the FUSE edge is
# library code, unit-testable without FUSE or a network.
PROGRAM_SRCS := fs/modelfs.c fs/modelfsctl.c
FUSE_SRCS := $(wildcard fs/fuse_*.c)
LIB_SRCS  := $(filter-out $(PROGRAM_SRCS) $(FUSE_SRCS),$(wildcard fs/*.c))
LIB_OBJS  := $(LIB_SRCS:fs/%.c=$(BUILD)/fs/%.o)
FUSE_OBJS := $(FUSE_SRCS:fs/%.c=$(BUILD)/fs/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/modelfs $(BUILD)/modelfsctl $(UNIT_BINS)

$(BUILD)/fs/%.o: fs/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MFS_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/libmfs.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/modelfs: $(BUILD)/fs/modelfs.o $(FUSE_OBJS) $(BUILD)/libmfs.a
	$(CC) $(LDFLAGS) $(MFS_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/modelfsctl: $(BUILD)/fs/modelfsctl.o $(BUILD)/libmfs.a
	$(CC) $(LDFLAGS) $(MFS_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmfs.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MFS_CFLAGS) $(PKG_CFLAGS) -Itests/unit $(LDFLAGS) $(MFS_LDFLAGS) -o $@ $< \
		$(BUILD)/libmfs.a $(LDLIBS)

# ---------------------------------------------------------------- fuzz
# libFuzzer harnesses (tests/fuzz/fuzz_*.c) over the library, built with
# clang, ASan and UBSan.  Seeds: tests/fuzz/corpus/<harness>/.
FUZZ_BUILD   := build-fuzz
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_OBJS    := $(LIB_SRCS:fs/%.c=$(FUZZ_BUILD)/fs/%.o)

$(FUZZ_BUILD)/fs/%.o: fs/%.c | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) -Iinclude -MMD -MP $(FUZZ_FLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libmfs.a: $(FUZZ_OBJS)
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libmfs.a | deps
	$(FUZZ_CC) $(WARN) -Iinclude -MMD -MP $(FUZZ_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) \
		-o $@ $< $(FUZZ_BUILD)/libmfs.a $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run $(FUZZ_SECONDS)

# ---------------------------------------------------------------- setup, tests

# Checks the build packages (and, for check and demo, the test packages);
# as root installs what is missing, otherwise says what is.
deps:
	@scripts/deps $(if $(filter check demo fuzz fuzz-build,$(MAKECMDGOALS)),test,build)

check: deps
	$(MAKE) all
	$(MAKE) SANITIZE=address,undefined all
	$(MAKE) fuzz-build
	MFS_FUZZ_SECONDS=15 tests/run

demo: deps all
	scripts/demo

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/modelfs $(BUILD)/modelfsctl $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build build-san build-fuzz

-include $(wildcard $(BUILD)/fs/*.d $(BUILD)/tests/*.d $(FUZZ_BUILD)/fs/*.d $(FUZZ_BUILD)/*.d)

.PHONY: all deps check demo install clean fuzz fuzz-build
