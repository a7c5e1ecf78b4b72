# walship: one non-recursive Makefile.
#
#   make            build bin/walship (installs missing packages first)
#   make check      build and run every test, unit and integration
#   make check-asan the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make valgrind   the unit tests under valgrind (leak check)
#   make deps       install missing Debian and npm packages
#   make demo       replicate a demo database to a local directory and restore it
#   make bench      walship against Litestream v0.3.13, side by side
#   make install    the binary and its module, man pages, systemd unit and
#                   example configs
#                   (PREFIX=/usr/local, DESTDIR, UNITDIR; see below)

BUILD    ?= build
SANITIZE ?=
CC       ?= cc

# Every folder holding code of the binary. Sources are found by wildcard, so a
# new file needs no Makefile change.
MODULES := common config cli ipc replica sqlitewal s3 supervisor walreader \
	uploader compactor age sandbox module

PKGS := sqlite3 libcurl libcrypto libevent nanomsg yaml-0.1 liblz4 expat libseccomp

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wimplicit-fallthrough \
	-Wno-missing-field-initializers
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
OPT := -O2 -g
ifeq ($(SANITIZE),1)
OPT := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
HARDEN := -fPIE
endif
ifeq ($(NOOPT),1)
OPT := -O0 -g
HARDEN := -fPIE
endif

INCS := $(addprefix -I,$(MODULES))
CFLAGS_ALL = -std=gnu11 $(OPT) $(WARN) $(HARDEN) $(INCS) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(OPT) -pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS_ALL = $(PKG_LIBS) -lm

SRCS := $(sort $(wildcard $(addsuffix /*.c,$(MODULES))))
OBJS := $(SRCS:%.c=$(BUILD)/obj/%.o)

# What needs libcurl, OpenSSL or expat goes into walship-module.so, which the
# binary loads when it needs it (module/module.h says why). Its objects are
# position-independent with hidden symbols; the unit tests link them as they
# are. age_parse.c and bech32.c stay in the binary: config checks use them.
MODULE_SRCS := $(filter-out age/age_parse.c age/bech32.c,$(wildcard age/*.c)) \
	$(wildcard s3/*.c) replica/age_client.c replica/s3_replica.c \
	uploader/upl_s3.c module/module_table.c module/sha256.c
MODULE_OBJS := $(MODULE_SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJS := $(filter-out $(MODULE_OBJS),$(OBJS))
MODULE_CFLAGS := -fPIC -fvisibility=hidden
$(MODULE_OBJS): PIC := $(MODULE_CFLAGS)
MODULE_LIB_FLAGS := -lcurl -lcrypto -lexpat

ifeq ($(BUILD),build)
BIN := bin/walship
else
BIN := $(BUILD)/bin/walship
endif
MODULE_SO := $(dir $(BIN))walship-module.so

.PHONY: all deps check check-unit check-integ check-asan valgrind demo bench \
	clean format install

all: $(BIN) $(MODULE_SO)

# Package flags are computed once, after the packages are there, and kept in a
# file that make includes (and remakes first when missing).
DEPS_STAMP := build/.deps-stamp
$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p build
	@./scripts/install-deps.sh
	@touch $@

deps:
	@./scripts/install-deps.sh
	@mkdir -p build && touch $(DEPS_STAMP)

build/pkg.mk: $(DEPS_STAMP)
	@echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))" > $@.tmp
	@echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))" >> $@.tmp
	@mv $@.tmp $@

ifeq ($(filter clean deps format,$(MAKECMDGOALS)),)
-include build/pkg.mk
endif

# A change of compiler flags rebuilds everything (the flags stamp).
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW = $(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(MODULE_CFLAGS)
# Phony, so that .SECONDARY (below) does not let make skip it.
.PHONY: FORCE
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@
FORCE:

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP) build/pkg.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PIC) -MMD -MP -c $< -o $@

# -rdynamic: the module calls the binary's own code (logging, layout, upload).
$(BIN): $(MAIN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $(MAIN_OBJS) \
		$(filter-out $(MODULE_LIB_FLAGS),$(LIBS_ALL))

$(MODULE_SO): $(MODULE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -shared -Wl,-z,relro,-z,now -o $@ $(MODULE_OBJS) \
		$(MODULE_LIB_FLAGS)

# ---------------------------------------------------------------------------
# Unit tests: tests/unit/NAME_test.c links the objects named in UNIT_NAME and
# nothing else, so each test proves its module stands alone.
# ---------------------------------------------------------------------------
O := $(BUILD)/obj
UNIT_log      := $(O)/common/log.o
UNIT_flags    := $(O)/common/flags.o $(O)/common/log.o
UNIT_table    := $(O)/common/table.o
UNIT_supervisor := $(addprefix $(O)/supervisor/,child_fsm.o spawn.o \
	rundir.o statusmsg.o sdnotify.o) $(O)/common/child.o \
	$(O)/common/proctitle.o $(O)/common/log.o $(O)/config/credenv.o \
	$(O)/sandbox/privdrop.o $(O)/ipc/endpoints.o
UNIT_sandbox  := $(addprefix $(O)/sandbox/,roles.o privdrop.o \
	seccomp_policy.o envclean.o) $(O)/common/log.o
UNIT_shellwords := $(O)/common/shellwords.o
UNIT_report   := $(addprefix $(O)/supervisor/,metrics_text.o status_file.o \
	statusmsg.o child_fsm.o spawn.o) $(O)/common/child.o \
	$(O)/common/proctitle.o $(O)/common/io.o $(O)/common/log.o \
	$(O)/config/credenv.o
UNIT_sqlitewal := $(O)/sqlitewal/sqlitewal.o $(O)/common/io.o
UNIT_msg      := $(O)/ipc/msg.o
UNIT_nnev     := $(O)/ipc/nnev.o $(O)/ipc/msg.o $(O)/ipc/endpoints.o \
	$(O)/common/log.o
UNIT_layout   := $(O)/replica/layout.o
UNIT_lz4frame := $(O)/replica/lz4frame.o
UNIT_lz4pipe  := $(O)/replica/lz4frame.o $(O)/replica/lz4pipe.o
UNIT_sigv4    := $(O)/s3/sigv4.o
AGE_OBJS := $(addprefix $(O)/age/,age_crypto.o age_header.o age_keys.o \
	age_parse.o age_reader.o age_writer.o b64.o bech32.o)
UNIT_age      := $(AGE_OBJS)
# zlib inflates the compressed age test vectors (the binary has no use for it).
UNIT_LIBS_age := -lz
UNIT_s3xml    := $(O)/s3/s3xml.o
UNIT_s3req    := $(addprefix $(O)/s3/,s3addr.o s3policy.o s3hash.o sigv4.o)
S3_OBJS := $(addprefix $(O)/s3/,s3sync.o s3client.o s3req.o s3ops.o \
	s3list.o s3multipart.o s3err.o s3xml.o s3addr.o s3policy.o s3hash.o \
	sigv4.o)
REPLICA_CLIENT_OBJS := $(addprefix $(O)/replica/,client.o client_open.o \
	file_client.o layout.o s3_replica.o s3_keys.o age_client.o \
	age_enabled.o) $(S3_OBJS) \
	$(AGE_OBJS) $(O)/common/log.o
UNIT_file_client := $(REPLICA_CLIENT_OBJS)
UNIT_s3_keys  := $(addprefix $(O)/replica/,s3_keys.o layout.o client.o)
UNIT_restore  := $(addprefix $(O)/replica/,restore.o client.o file_client.o lz4pipe.o \
	layout.o lz4frame.o) $(O)/sqlitewal/sqlitewal.o $(O)/common/log.o \
	$(O)/common/io.o
UNIT_uploader := $(O)/common/clock.o $(addprefix $(O)/uploader/,upl_pos.o upl_plan.o upl_view.o \
	upl_buf.o upl_store.o upl_sync.o upl_ipc.o upl_s3.o upl_spool.o \
	upl_scan.o) $(addprefix $(O)/replica/,position.o \
	client.o file_client.o layout.o lz4frame.o age_client.o age_enabled.o) \
	$(AGE_OBJS) \
	$(addprefix $(O)/ipc/,\
	nnev.o msg.o endpoints.o) $(O)/sqlitewal/sqlitewal.o $(O)/common/log.o \
	$(O)/common/io.o $(S3_OBJS)
UNIT_upl_scan := $(addprefix $(O)/uploader/,upl_scan.o upl_spool.o upl_pos.o) \
	$(O)/replica/position.o \
	$(O)/replica/layout.o $(O)/replica/lz4frame.o $(O)/common/io.o
UNIT_walreader_ckpt := $(O)/walreader/ckpt_vfs.o $(O)/walreader/dbconn.o \
	$(O)/walreader/snapshot.o $(O)/sqlitewal/sqlitewal.o \
	$(O)/walreader/shadow.o $(O)/walreader/walindex.o $(O)/common/log.o \
	$(O)/common/io.o
UNIT_retain_plan := $(O)/compactor/retain_plan.o $(addprefix $(O)/replica/,\
	restore.o client.o file_client.o layout.o lz4frame.o lz4pipe.o) \
	$(O)/sqlitewal/sqlitewal.o $(O)/common/log.o $(O)/common/io.o
UNIT_config   := $(addprefix $(O)/config/,config.o duration.o envexpand.o \
	replica_url.o url_parse.o bytesize.o paths.o diag.o node.o value.o \
	parse.o resolve.o print.o age_check.o compare.o) $(AGE_OBJS) \
	$(O)/common/log.o $(O)/module/sha256.o

UNIT_SRCS := $(sort $(wildcard tests/unit/*_test.c))
UNIT_NAMES := $(UNIT_SRCS:tests/unit/%_test.c=%)
UNIT_BINS := $(UNIT_NAMES:%=$(BUILD)/tests/%_test)

$(BUILD)/obj/tests/%.o: tests/%.c $(FLAGS_STAMP) build/pkg.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -MMD -MP -c $< -o $@

.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/tests/%_test: $(BUILD)/obj/tests/unit/%_test.o $$(UNIT_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL) $(UNIT_LIBS_$*)

# Test tools: tests/tools/NAME.c links the objects named in TOOL_NAME into
# $(BUILD)/tools/NAME, for the integration scenarios.
TOOL_s3ctl := $(addprefix $(O)/s3/,s3sync.o s3client.o s3req.o s3ops.o \
	s3list.o s3multipart.o s3err.o s3xml.o s3addr.o s3policy.o s3hash.o \
	sigv4.o) $(O)/replica/layout.o $(O)/common/log.o
TOOL_replctl := $(REPLICA_CLIENT_OBJS)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,\
	$(wildcard tests/tools/*.c))

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $$(TOOL_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

check: $(BIN) $(MODULE_SO) $(UNIT_BINS) $(TOOL_BINS)
	@BUILD=$(BUILD) WALSHIP=$(abspath $(BIN)) ./tests/run-tests.sh $(UNIT_BINS)

check-unit: $(BIN) $(MODULE_SO) $(UNIT_BINS)
	@BUILD=$(BUILD) WALSHIP=$(abspath $(BIN)) ./tests/run-tests.sh --unit-only $(UNIT_BINS)

check-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 check

valgrind:
	@$(MAKE) --no-print-directory BUILD=build/noopt NOOPT=1 \
		$(addprefix build/noopt/tests/,$(UNIT_NAMES:%=%_test))
	@VALGRIND=1 ./tests/run-tests.sh --unit-only \
		$(addprefix build/noopt/tests/,$(UNIT_NAMES:%=%_test))

demo: $(BIN) $(MODULE_SO)
	@./scripts/demo.sh

bench: $(BIN) $(MODULE_SO)
	@./bench/run.sh

format:
	@git clang-format

# Installation. The unit's ExecStart names the installed binary.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
# The binary finds its module in ../lib/walship from its own directory.
# (LIBDIR follows PREFIX: keep BINDIR at PREFIX/bin.)
LIBDIR  := $(PREFIX)/lib/walship
MANDIR  ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR  ?= $(PREFIX)/share/doc/walship

install: $(BIN) $(MODULE_SO)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/walship
	install -m 644 $(MODULE_SO) $(DESTDIR)$(LIBDIR)/walship-module.so
	install -m 644 man/walship.1 $(DESTDIR)$(MANDIR)/man1/walship.1
	install -m 644 man/walship.yml.5 $(DESTDIR)$(MANDIR)/man5/walship.yml.5
	sed 's|/usr/local/bin/walship|$(BINDIR)/walship|g' \
		systemd/walship.service >$(DESTDIR)$(UNITDIR)/walship.service.tmp
	chmod 644 $(DESTDIR)$(UNITDIR)/walship.service.tmp
	mv $(DESTDIR)$(UNITDIR)/walship.service.tmp \
		$(DESTDIR)$(UNITDIR)/walship.service
	install -m 644 config/examples/production.yml \
		config/examples/development.yml systemd/example-app.service \
		$(DESTDIR)$(DOCDIR)/examples/

clean:
	rm -rf build bin

-include $(OBJS:.o=.d) $(UNIT_BINS:$(BUILD)/tests/%=$(BUILD)/obj/tests/unit/%.d) \
	$(TOOL_BINS:$(BUILD)/tools/%=$(BUILD)/obj/tests/tools/%.d)
