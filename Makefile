# modelfs — one GNU Makefile.  `make` builds, `make check` tests, `make demo` demos.
# `make SANITIZE=address,undefined` builds with sanitizers into build-san/.

CC      ?= cc
PKGS    := fuse3 libcurl openssl inih libarchive
SANITIZE ?=

ifeq ($(SANITIZE),)
BUILD   := build
SANFLAGS :=
else
BUILD   := build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
           -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter \
           -Iinclude $(SANFLAGS)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS  := $(PKG_LIBS) -lpthread
LDFLAGS += $(SANFLAGS)

# Every fs/*.c except the programs' entry points and the FUSE adapter is
# library code, unit-testable without FUSE or a network.
PROGRAM_SRCS := fs/modelfs.c fs/modelfsctl.c fs/fuse_adapter.c
LIB_SRCS  := $(filter-out $(PROGRAM_SRCS),$(wildcard fs/*.c))
LIB_OBJS  := $(LIB_SRCS:fs/%.c=$(BUILD)/fs/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/modelfs $(BUILD)/modelfsctl $(UNIT_BINS)

$(BUILD)/fs/%.o: fs/%.c $(wildcard include/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/libmfs.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/modelfs: $(BUILD)/fs/modelfs.o $(BUILD)/fs/fuse_adapter.o $(BUILD)/libmfs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/modelfsctl: $(BUILD)/fs/modelfsctl.o $(BUILD)/libmfs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libmfs.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libmfs.a $(LDLIBS)

# Installs missing Debian packages (as root) so a fresh machine can build.
deps:
	@scripts/deps

check: deps
	$(MAKE) all
	$(MAKE) SANITIZE=address,undefined all
	tests/run

demo: deps all
	scripts/demo

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/modelfs $(BUILD)/modelfsctl $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build build-san

.PHONY: all deps check demo install clean
