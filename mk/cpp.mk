# The C++ wrapper include/ptrace_dbg.hpp and the README's C quick start (issue 7).
#   make cpp-test         builds c-tests/cpp/test_wrapper.cpp (C++17) and runs it against the
#                         tracee; it also checks that the wrapper compiles as C++20
#   make quickstart-test  compiles the ```c block under "Quick start in C" in README.md exactly
#                         as written and runs it (c-tests/cpp/quickstart-test.sh)
# Both are in EXTRA_TESTS, so `make test` runs them. `make install` also installs the wrapper
# next to ptrace_dbg.h.

CXX_WARN := -Wall -Wextra -Wpedantic -Werror
CPP_TEST_CXXFLAGS := $(CXX_WARN) -g -pthread -Iinclude -Ic-tests
CPP_BUILD := $(BUILD)/cpp
# Two levels below build/, so tracee_path() (tracee_util.c) finds build/tracees/tracee.
CPP_TEST_BIN := $(CPP_BUILD)/test_wrapper
.PHONY: cpp-test quickstart-test install-cpp-header

# tracee_util.c (ELF symbols, spawning tracees) stays C; the test links its object.
$(CPP_BUILD)/tracee_util.o: c-tests/tracee_util.c c-tests/tracee_util.h c-tests/runner.h $(HEADER)
	@mkdir -p $(@D)
	$(CC) $(C_TEST_CFLAGS) -c -o $@ $<

$(CPP_TEST_BIN): c-tests/cpp/test_wrapper.cpp include/ptrace_dbg.hpp $(CPP_BUILD)/tracee_util.o \
		$(DEV_SO) $(HEADER) mk/cpp.mk
	@mkdir -p $(@D)
	$(CXX) -std=c++20 -fsyntax-only $(CPP_TEST_CXXFLAGS) $<
	$(CXX) -std=c++17 $(CPP_TEST_CXXFLAGS) -o $@ $< $(CPP_BUILD)/tracee_util.o $(C_TEST_LDFLAGS)

cpp-test: $(CPP_TEST_BIN) tracees
	timeout 300 $(CPP_TEST_BIN)

quickstart-test: $(DEV_SO) $(HEADER) tracees
	CC="$(CC)" CXX="$(CXX)" BUILD="$(BUILD)" DEV_LIB="$(DEV_LIB)" timeout 120 c-tests/cpp/quickstart-test.sh

EXTRA_TESTS += cpp-test quickstart-test

# The wrapper is header-only: installing it is copying it beside the C header.
install: install-cpp-header
install-cpp-header:
	install -d $(DESTDIR)$(INCLUDEDIR)
	install -m 644 include/ptrace_dbg.hpp $(DESTDIR)$(INCLUDEDIR)/ptrace_dbg.hpp
uninstall: uninstall-cpp-header
.PHONY: uninstall-cpp-header
uninstall-cpp-header:
	rm -f $(DESTDIR)$(INCLUDEDIR)/ptrace_dbg.hpp
