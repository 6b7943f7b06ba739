# pooltag - top-level GNU Makefile.
#
#   make                 libraries, CLI, examples        (into $(O), default build/)
#   make test            every test; ends with "N passed, N failed"
#   make check-asan      the tests built with ASan+UBSan (into build/asan)
#   make check-tsan      the concurrent tests built with TSan (into build/tsan)
#   make fuzz            each fuzz target for FUZZ_SECONDS (default 60)
#   make bench           the benchmarks (ratios against malloc, same run)
#   make demo            the main job: the seed's leak reproduced and diagnosed
#   make install PREFIX=/usr/local [DESTDIR=...]

PREFIX  ?= /usr/local
V       ?= 0
O       ?= build
CC      ?= cc
CLANG   ?= clang
VERSION := 0.1.0

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -fPIC -pthread -D_GNU_SOURCE
# Each part sees only the headers it may use: the library its own and the
# public one (never the CLI's, the interposer's or common/'s); the CLI and
# the interposer the library's and common/'s beside their own; common/ (what
# the CLI and the interposer share that is no part of the library) the
# public header beside its own.  Tests, fuzz targets and benchmarks reach
# inside the library and the CLI.  Programs and plugins written against
# pooltag see the public header alone.
#
# The CLI is a folder per concept, layered: a folder sees its own headers
# and those of the folders its CLI_SEES_ line names, never one above it, so
# that no two folders depend on each other (headers are included by bare
# name; tests/clidirs.sh checks every include against these lines, and that
# they form no cycle).
#   formats   the view; files and live segments read into one, and what
#             is written from one (snapshots, recordings, tables as text,
#             JSON and CSV)
#   model     what is computed from views: tallies, descriptions, trends
#   mon       the monitor: its reads, table and full-screen interface
#   exporter  the Prometheus exposition, the scrape and the HTTP server
#   cmd       the commands (parse, execute, print) and main
CLI_DIRS          := formats model mon exporter cmd
CLI_SEES_formats  :=
CLI_SEES_model    := formats
CLI_SEES_mon      := model formats
CLI_SEES_exporter := model formats
CLI_SEES_cmd      := mon exporter model formats
LIB_INC     := -Iinclude -Isrc
COMMON_INC  := -Iinclude -Icommon
# cli_inc,DIR: what the files of cli/DIR see.
cli_inc      = -Iinclude -Isrc -Icommon $(foreach d,$(1) $(CLI_SEES_$(1)),-Icli/$(d))
# cli_dir,FILE: the CLI folder of cli/DIR/NAME.c.
cli_dir      = $(word 2,$(subst /, ,$(1)))
PRELOAD_INC := -Iinclude -Isrc -Icommon -Ipreload
TEST_INC    := -Iinclude -Isrc -Icommon $(CLI_DIRS:%=-Icli/%)
USER_INC    := -Iinclude
# The library exports its documented API alone: what include/pooltag.h
# declares with PT_API (tests/exports.sh checks it).
LIB_CFLAGS  := $(ALL_CFLAGS) $(LIB_INC) -fvisibility=hidden
CLI_CFLAGS  := $(ALL_CFLAGS) \
	-DPT_TAGS_DEFAULT='"$(PREFIX)/share/pooltag/pooltag.txt"' \
	-DPT_PRELOAD_DEFAULT='"$(PREFIX)/lib/pooltag/libpooltag-preload.so"'
LDLIBS   := -pthread -ldw -ldl -lm $(EXTRA_LDFLAGS)
# The CLI's full-screen monitor (pooltag mon); the library does not link it.
CURSES_LIBS := -lncursesw

# Quiet build lines unless V=1.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @echo "  $(1)	$(2)"
endif

LIB_SRC  := $(wildcard src/*.c)
COMMON_SRC := $(wildcard common/*.c)
CLI_SRC  := $(filter-out cli/cmd/main.c,$(wildcard cli/*/*.c))
CLI_HDR  := $(wildcard cli/*/*.h)
# The CLI sources the fuzz targets build: all but the terminal monitor's
# (the full-screen interface and the command that starts it).
FUZZ_CLI_SRC := $(filter-out cli/cmd/mon.c cli/mon/monui.c,$(CLI_SRC))
TEST_SRC := $(wildcard tests/test_*.c)
EX_SRC   := $(wildcard examples/*.c)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
BENCH_SRC:= $(wildcard bench/bench_*.c)
PROG_SRC := $(wildcard tests/progs/*.c)
PLUG_SRC := $(wildcard tests/plugins/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
# Programs and plugins built without pooltag, for pooltag run (lib*.c: plugins).
UPLUG_SRC := $(wildcard tests/uprogs/lib*.c)
UPROG_SRC := $(filter-out $(UPLUG_SRC),$(wildcard tests/uprogs/*.c))
UPROG_CXX := $(wildcard tests/uprogs/*.cc)
CXX ?= g++

LIB_OBJ  := $(LIB_SRC:%.c=$(O)/%.o)
COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(O)/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(O)/tests/%)
EXAMPLES := $(EX_SRC:examples/%.c=$(O)/examples/%)
BENCHES  := $(BENCH_SRC:bench/%.c=$(O)/bench/%)
FUZZERS  := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
PROGS    := $(PROG_SRC:tests/progs/%.c=$(O)/tests/progs/%) \
	    $(PLUG_SRC:tests/plugins/%.c=$(O)/tests/plugins/%.so) \
	    $(UPROG_SRC:tests/uprogs/%.c=$(O)/tests/uprogs/%) \
	    $(UPLUG_SRC:tests/uprogs/%.c=$(O)/tests/uprogs/%.so) \
	    $(UPROG_CXX:tests/uprogs/%.cc=$(O)/tests/uprogs/%)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(O)/%.o)

# Tests that exercise threads; check-tsan runs these.
TSAN_TESTS := test_counter test_nonpaged test_stack test_unwind test_objref test_objmap test_objfork \
              test_handle test_special test_sample test_lifecycle test_track test_shard

.PHONY: all deps build-deps build-tests test check check-asan check-tsan fuzz bench demo demo-small install clean
SEED     := $(O)/examples/seed/host $(O)/examples/seed/libsey.so $(O)/examples/seed/libsey_fixed.so

all: $(O)/libpooltag.a $(O)/libpooltag.so $(O)/libpooltag.so.0 $(O)/pooltag $(O)/libpooltag-preload.so $(EXAMPLES) $(SEED)

# Each object depends on the headers it includes: the compiler writes them
# to a .d file beside it (-MMD), and -MP keeps a deleted header from
# breaking the build.
DEP_FLAGS := -MMD -MP
$(O)/src/%.o: src/%.c Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(LIB_CFLAGS) $(DEP_FLAGS) -c -o $@ $<
# common/ is built once, hidden as the library is, and linked into the
# interposer and the CLI (libptcommon.a), never into the library.
$(O)/common/%.o: common/%.c Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(COMMON_INC) $(DEP_FLAGS) -fvisibility=hidden -c -o $@ $<
$(O)/cli/%.o: cli/%.c Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CLI_CFLAGS) $(call cli_inc,$(call cli_dir,$<)) $(DEP_FLAGS) -c -o $@ $<
# The interposer of pooltag run: only its hooks are exported (the library
# inside it is hidden), so the program sees malloc, open, dlclose... and
# nothing else.
$(O)/preload/%.o: preload/%.c Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(PRELOAD_INC) $(DEP_FLAGS) -fvisibility=hidden -fno-plt -c -o $@ $<
$(O)/libpooltag-preload.so: $(PRELOAD_OBJ) $(O)/libptcommon.a $(O)/libpooltag.a
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libpooltag-preload.so -o $@ $(PRELOAD_OBJ) $(O)/libptcommon.a \
		$(O)/libpooltag.a -Wl,--exclude-libs,ALL $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(COMMON_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(PRELOAD_OBJ:.o=.d) \
	$(O)/cli/cmd/main.d

$(O)/libpooltag.a: $(LIB_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(O)/libpooltag.so: $(LIB_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libpooltag.so.0 -o $@ $^ $(LDLIBS)
# The name programs linked with -lpooltag ask for (its soname), so that they
# start against the build folder (LD_LIBRARY_PATH=build) as when installed.
$(O)/libpooltag.so.0: $(O)/libpooltag.so
	$(Q)ln -sf libpooltag.so $@
$(O)/libptcli.a: $(CLI_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(O)/libptcommon.a: $(COMMON_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(O)/pooltag: $(O)/cli/cmd/main.o $(O)/libptcli.a $(O)/libptcommon.a $(O)/libpooltag.a
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LDLIBS) $(CURSES_LIBS)
$(O)/tests/%: tests/%.c tests/pt_test.h tests/pt_libtest.h tests/pt_cmdtest.h tests/pt_oom.h tests/pt_rectest.h \
		$(wildcard tests/plugins/*.h) $(O)/libptcli.a $(O)/libptcommon.a $(O)/libpooltag.a
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_INC) -rdynamic -o $@ $< $(O)/libptcli.a $(O)/libptcommon.a \
		$(TEST_LIB) $(TEST_LDFLAGS) $(LDLIBS)
TEST_LIB = $(O)/libpooltag.a
TEST_LDFLAGS =
# Tests that fail allocations one at a time (tests/pt_oom.h): calls to the
# allocator from the program and the archives linked into it go through its
# wrappers.
OOM_TESTS := test_sampled test_suspects test_kused test_kdiff test_kscrape test_monread
$(OOM_TESTS:%=$(O)/tests/%): TEST_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
# A test that loads tests/plugins/modplug.so without calling every part of
# the API the plugin calls carries the whole library, as a host does, so
# that the plugin resolves it all from the test program (-rdynamic).
$(O)/tests/test_objref: TEST_LIB = -Wl,--whole-archive $(O)/libpooltag.a -Wl,--no-whole-archive
# The interposer's unit tests link its objects: the test program is an
# interposed program itself (its malloc, close... are the hooks), and calls
# the interposer's modules directly; what is to be counted they do through a
# plugin (tests/plugins/runplug.c), since the interposer counts nothing of
# its own module.  ASan's malloc cannot share a process with them:
# check-asan leaves these out, and they run in the plain build.
PRELOAD_TESTS := test_hooks test_fds test_report
$(PRELOAD_TESTS:%=$(O)/tests/%): $(O)/tests/%: tests/%.c tests/pt_test.h tests/pt_runtest.h \
		$(PRELOAD_OBJ) $(O)/libptcommon.a $(O)/libpooltag.a $(O)/tests/plugins/runplug.so
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(PRELOAD_INC) -o $@ $< $(PRELOAD_OBJ) $(O)/libptcommon.a \
		$(O)/libpooltag.a $(LDLIBS)
# test_unwind walks call chains built with and without frame pointers.
UW_CHAIN := $(O)/tests/unwind/chain_fp.o $(O)/tests/unwind/chain_nofp.o
$(O)/tests/unwind/chain_fp.o: tests/unwind/chain.c tests/unwind/chain.h Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(USER_INC) -O2 -fno-omit-frame-pointer -DUW_FP=1 -c -o $@ $<
$(O)/tests/unwind/chain_nofp.o: tests/unwind/chain.c tests/unwind/chain.h Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(USER_INC) -O2 -fomit-frame-pointer -DUW_FP=0 -c -o $@ $<
$(O)/tests/test_unwind: tests/test_unwind.c tests/pt_test.h tests/unwind/chain.h $(UW_CHAIN) \
		$(O)/libpooltag.a
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_INC) -Itests/unwind -o $@ $< $(UW_CHAIN) $(O)/libpooltag.a \
		$(LDLIBS)
# Programs the end-to-end tests run.
$(O)/tests/progs/%: tests/progs/%.c $(O)/libpooltag.a
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(USER_INC) -o $@ $< $(O)/libpooltag.a $(LDLIBS)
# The host of tests/e2e/numbers.bats exports its providers to the plugin.
$(O)/tests/progs/modhost: tests/progs/modhost.c tests/plugins/provider.h $(O)/libpooltag.a
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(USER_INC) -rdynamic -o $@ $< -Wl,--whole-archive $(O)/libpooltag.a \
		-Wl,--no-whole-archive $(LDLIBS)
# Plugins the tests dlopen.
$(O)/tests/plugins/%.so: tests/plugins/%.c $(wildcard tests/plugins/*.h) include/pooltag.h
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(USER_INC) -shared -o $@ $<
# Programs that know nothing of pooltag, never built with sanitizers (an
# interposed malloc and ASan's cannot be combined), and always by gcc: what
# the exit scan finds lost depends on which pointers the compiler leaves in
# live frames, and the tests name exact counts.
UCC  ?= gcc
UCXX ?= g++
$(O)/tests/uprogs/%: tests/uprogs/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(UCC) -std=gnu11 $(WARN) -g -O1 -pthread -o $@ $< -ldl
$(O)/tests/uprogs/%: tests/uprogs/%.cc
	@mkdir -p $(dir $@)
	$(call say,CXX,$@)
	$(Q)$(UCXX) -std=c++17 -Wall -Wextra -g -O1 -o $@ $<
$(O)/tests/uprogs/%.so: tests/uprogs/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(UCC) -std=gnu11 $(WARN) -g -O1 -fPIC -shared -o $@ $<
$(O)/examples/%: examples/%.c $(O)/libpooltag.a
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(USER_INC) -o $@ $< $(O)/libpooltag.a $(LDLIBS)
# The seed's scenario: a host program that exports its copy of the library
# (-rdynamic) to the driver plugins it loads; the plugins do not link it.
SEED_HDR := $(wildcard examples/seed/*.h) include/pooltag.h
$(O)/examples/seed/host: examples/seed/host.c examples/seed/ps.c $(SEED_HDR) $(O)/libpooltag.a
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(USER_INC) -rdynamic -o $@ examples/seed/host.c examples/seed/ps.c \
		$(O)/libpooltag.a $(LDLIBS)
$(O)/examples/seed/libsey.so: examples/seed/sey.c examples/seed/procpath.c $(SEED_HDR)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(USER_INC) -shared -o $@ examples/seed/sey.c examples/seed/procpath.c
$(O)/examples/seed/libsey_fixed.so: examples/seed/sey.c examples/seed/procpath.c $(SEED_HDR)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(USER_INC) -DSEY_FIXED -shared -o $@ examples/seed/sey.c \
		examples/seed/procpath.c
$(O)/bench/%: bench/%.c $(O)/libpooltag.a
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_INC) -O2 -o $@ $< $(O)/libpooltag.a $(LDLIBS)

# Fuzz targets: clang's libFuzzer with ASan+UBSan, always in build/fuzz.
# The library, common/ and CLI sources are compiled once for all of them
# into one archive (instrumented for coverage with fuzzer-no-link); each
# target links only its own file against it.
FUZZ_SAN    := address,undefined
FUZZ_DEFS   := -std=gnu11 -g -O1 -D_GNU_SOURCE -DPT_TAGS_DEFAULT='""'
FUZZ_CFLAGS := $(FUZZ_DEFS) $(TEST_INC) -fsanitize=fuzzer,$(FUZZ_SAN)
FUZZ_OBJ    := $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_CLI_SRC) $(COMMON_SRC) $(LIB_SRC))
build/fuzz/obj/src/%.o: src/%.c $(wildcard src/*.h include/*.h) Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CLANG) $(FUZZ_DEFS) $(LIB_INC) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -pthread -c -o $@ $<
build/fuzz/obj/common/%.o: common/%.c $(wildcard common/*.h include/*.h) Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CLANG) $(FUZZ_DEFS) $(COMMON_INC) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -pthread -c -o $@ $<
build/fuzz/obj/cli/%.o: cli/%.c $(CLI_HDR) $(wildcard src/*.h common/*.h include/*.h) Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CLANG) $(FUZZ_DEFS) $(call cli_inc,$(call cli_dir,$<)) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -pthread -c -o $@ $<
build/fuzz/libptfuzz.a: $(FUZZ_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
build/fuzz/%: fuzz/%.c build/fuzz/libptfuzz.a $(CLI_HDR) $(wildcard src/*.h common/*.h include/*.h)
	@mkdir -p $(dir $@)
	$(call say,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $< build/fuzz/libptfuzz.a -pthread -ldw -ldl

FUZZ_SECONDS ?= 60
fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p fuzz/corpus-$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) fuzz/corpus-$$n fuzz/seeds/$$n || exit 1; done

# Installs missing build and test dependencies (scripts/deps.sh says which).
deps:
	@sh scripts/deps.sh
build-deps:
	@sh scripts/deps.sh build

# Build everything a test run needs, then run it.  tests/run.sh prints the
# closing "N passed, N failed" line.
test: deps
	@$(MAKE) --no-print-directory build-tests $(FUZZERS)
	@sh tests/run.sh $(O) $(FUZZERS)

# What the unit and end-to-end tests need, without the fuzz targets.
build-tests: all $(TESTS) $(PROGS)

check: test

# Sanitizer builds reuse the same sources in their own build directories.
# An interposed malloc and ASan's cannot share a process: the `pooltag run`
# tests use the ASan CLI with the plain build's interposer (POOLTAG_PRELOAD)
# on programs built without sanitizers (tests/uprogs).
check-asan:
	$(MAKE) --no-print-directory build/libpooltag-preload.so
	$(MAKE) O=build/asan CC=$(CLANG) EXTRA_CFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
		EXTRA_LDFLAGS='-fsanitize=address,undefined' all \
		$(filter-out $(PRELOAD_TESTS:%=build/asan/tests/%),$(TEST_SRC:tests/%.c=build/asan/tests/%)) \
		$(subst $(O)/,build/asan/,$(PROGS))
	@ASAN_OPTIONS=detect_leaks=1 POOLTAG_PRELOAD=$(CURDIR)/build/libpooltag-preload.so \
		sh tests/run.sh build/asan
check-tsan:
	$(MAKE) O=build/tsan CC=$(CLANG) EXTRA_CFLAGS='-fsanitize=thread' EXTRA_LDFLAGS='-fsanitize=thread' \
		$(TSAN_TESTS:%=build/tsan/tests/%) $(PLUG_SRC:tests/plugins/%.c=build/tsan/tests/plugins/%.so)
	@PT_TESTS='$(TSAN_TESTS)' sh tests/run.sh build/tsan

bench: all $(BENCHES)
	@for b in $(BENCHES); do $$b || exit 1; done
	@sh bench/faults.sh $(O)
	@$(MAKE) --no-print-directory $(filter $(O)/tests/uprogs/%,$(PROGS))
	@python3 bench/leakcmp.py $(O)

# The seed's scenario reproduced and diagnosed; demo-small: a small server
# read live by the CLI.
demo: build-deps
	@$(MAKE) --no-print-directory all
	@bash examples/seed/demo.sh $(O)
demo-small: all
	@bash examples/demo.sh $(O)

# Paths are quoted: a PREFIX or DESTDIR may hold blanks.  The CLI finds
# the interposer and pooltag.txt relative to itself (../lib/pooltag/,
# ../share/pooltag/), so an install works whatever PREFIX the build saw.
install: all
	install -d "$(DESTDIR)$(PREFIX)/include" "$(DESTDIR)$(PREFIX)/lib/pkgconfig" \
		"$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/man/man1" \
		"$(DESTDIR)$(PREFIX)/share/man/man3" "$(DESTDIR)$(PREFIX)/share/pooltag" \
		"$(DESTDIR)$(PREFIX)/lib/pooltag"
	install -m 644 include/pooltag.h "$(DESTDIR)$(PREFIX)/include/"
	install -m 644 $(O)/libpooltag.a "$(DESTDIR)$(PREFIX)/lib/"
	install -m 755 $(O)/libpooltag-preload.so "$(DESTDIR)$(PREFIX)/lib/pooltag/"
	install -m 755 $(O)/libpooltag.so "$(DESTDIR)$(PREFIX)/lib/libpooltag.so.0"
	ln -sf libpooltag.so.0 "$(DESTDIR)$(PREFIX)/lib/libpooltag.so"
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' pooltag.pc.in \
		> "$(DESTDIR)$(PREFIX)/lib/pkgconfig/pooltag.pc"
	install -m 755 $(O)/pooltag "$(DESTDIR)$(PREFIX)/bin/"
	install -m 644 man/pooltag.1 "$(DESTDIR)$(PREFIX)/share/man/man1/"
	install -m 644 man/pooltag.3 "$(DESTDIR)$(PREFIX)/share/man/man3/"
	install -m 644 share/pooltag/pooltag.txt "$(DESTDIR)$(PREFIX)/share/pooltag/"

clean:
	rm -rf build
