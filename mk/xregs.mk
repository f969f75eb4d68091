# The register tests (issue 13): the tracee and the C test share the patterns header.
$(BUILD)/tracees/xregs: c-tests/xregs_pattern.h
$(C_TEST_BIN): c-tests/xregs_pattern.h
