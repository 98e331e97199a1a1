# hagw: an HA pair of userspace IPsec (ESP) gateways.
#
#   make            build every program into build/bin/
#   make deps       install the Debian packages the build and the tests need (root)
#   make check      unit tests (cmocka), netns tests (root), each fuzz harness
#                   for CHECK_FUZZ_SECONDS (0: none); SANITIZE=1 for ASan+UBSan
#                   (NETNS_TESTS: which netns tests, default all; with
#                   SANITIZE=1 all but the strongSwan one)
#   make fuzz       FUZZ_SECONDS=N: every libFuzzer harness for N seconds
#   make demo       set up, run and tear down the lab (root)
#   make bench      run the benchmarks under bench/ (root)
#   V=1             show the full compiler command lines

CC      ?= cc
BUILD   ?= build
PKGS    := libsodium libmnl libuv msgpack inih
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wimplicit-fallthrough -Wshadow \
           -Wno-unused-parameter -Icommon -MMD -MP $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm -lrt

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
BUILD   := build-san
# Any report fails the run: ASan (leaks included) and UBSan stop the
# process with status 86, which the unit loop and netns-tests/lib.sh's
# `stop` see; netns-tests/run.sh also sends every report to a file in the
# test's directory and fails the test if one appears (a daemon killed
# with KILL, or a gwctl whose status a test ignores, still counts).
export ASAN_OPTIONS ?= halt_on_error=1:detect_leaks=1:exitcode=86:print_summary=1
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1:exitcode=86
# The strongSwan interop test exercises the same gwd code as ike-gwd.sh
# and is the slowest: it runs in the plain pass only.
NETNS_TESTS ?= $(filter-out ike-strongswan.sh,$(notdir $(filter-out %/lib.sh %/run.sh,$(wildcard netns-tests/*.sh))))
endif

# Fuzzing: clang with libFuzzer; `make fuzz` sets this itself.
ifeq ($(FUZZ),1)
CC      := clang
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=fuzzer,address,undefined
BUILD   := build-fuzz
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Every directory with a main.c is a program; its other .c files also form
# a library that the unit tests link against.
PROGS   := $(patsubst %/main.c,%,$(wildcard */main.c))
COMMON_SRC := $(wildcard common/*.c)
COMMON_LIB := $(BUILD)/lib/libcommon.a
BINS    := $(PROGS:%=$(BUILD)/bin/%)
PROGLIBS := $(PROGS:%=$(BUILD)/lib/lib%.a)
TEST_SRC := $(wildcard tests/test_*.c)
TESTS   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
FUZZERS := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 10
CHECK_FUZZ_SECONDS ?= 10

all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(COMMON_LIB): $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

define prog_rules
$(BUILD)/lib/lib$(1).a: $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out $(1)/main.c,$(wildcard $(1)/*.c)))
	@mkdir -p $$(dir $$@)
	@$$(if $(Q),echo "  AR      $$@")
	$(Q)rm -f $$@ && ar rcs $$@ $$^ $$(if $$^,,$(BUILD)/obj/common/log.o)
$(BUILD)/bin/$(1): $(BUILD)/obj/$(1)/main.o $(BUILD)/lib/lib$(1).a $(COMMON_LIB)
	@mkdir -p $$(dir $$@)
	@$$(if $(Q),echo "  LD      $$@")
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rules,$(p))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(PROGLIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(PROGLIBS) $(COMMON_LIB) $(LDLIBS) -lcmocka

$(BUILD)/fuzz/%: $(BUILD)/obj/fuzz/%.o $(PROGLIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(PROGLIBS) $(COMMON_LIB) $(LDLIBS)

tests: $(TESTS)

fuzzers: $(FUZZERS)

# make fuzz FUZZ_SECONDS=N: build every harness with clang and run each for
# N seconds; fails on any crash, leak or sanitizer report.
fuzz:
	$(MAKE) --no-print-directory FUZZ=1 fuzzers
	BUILD=build-fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

unit: $(TESTS)
	@fail=0; for t in $(TESTS); do echo "== $$t"; $$t || fail=1; done; \
	 if [ $$fail -ne 0 ]; then echo "unit tests: FAILED"; exit 1; fi; echo "unit tests: all passed"

netns: $(BINS)
	BUILD=$(BUILD) netns-tests/run.sh $(NETNS_TESTS)

check: all tests
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory netns
	$(if $(filter-out 0,$(CHECK_FUZZ_SECONDS)),$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS))

demo: all
	BUILD=$(BUILD) examples/lab.sh demo

# The benchmarks measure peers (strongSwan, wireguard-go) in the same run;
# their packages are listed in bench/packages.txt and installed here.
bench: all
	DEPS_EXTRA="$$(grep -v '^#' bench/packages.txt | tr '\n' ' ')" ./scripts/deps.sh
	@for b in bench/*.sh; do echo "== $$b"; BUILD=$(BUILD) $$b || exit 1; done

deps:
	./scripts/deps.sh

clean:
	rm -rf build build-san build-fuzz

.PHONY: all tests unit netns check demo bench deps clean fuzz fuzzers
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
