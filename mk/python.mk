# The Python binding, bindings/python: a pure-Python ctypes package (stdlib only) over the
# shared library, with its examples in examples/python.
#   make python-test   the binding's unittest suite (examples included) against build/lib
# Users install it with `pip install ./bindings/python`, or use PYTHONPATH=bindings/python/src.
PY_BINDING := bindings/python
PY_BINDING_PYTHON ?= python3
PY_BINDING_TIMEOUT ?= 300
.PHONY: python-test

python-test: $(DEV_SO) tracees
	cd $(PY_BINDING)/tests && \
	PYTHONPATH=$(abspath $(PY_BINDING)/src) PTRACE_DBG_LIBRARY=$(abspath $(DEV_SO)) \
	PTRACE_DBG_TRACEE=$(abspath $(BUILD)/tracees/tracee) \
	timeout $(PY_BINDING_TIMEOUT) $(PY_BINDING_PYTHON) -B -m unittest discover -v -s . -t .

EXTRA_TESTS += python-test
