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

# The README's Python example, extracted and run as written (on the demo's sample).
.PHONY: readme-python-test
readme-python-test: $(DEV_SO) $(BUILD)/demo/sample
	@mkdir -p $(BUILD)/python
	awk '/^## Using it from Python/{s=1} s&&/^```python/{c=1;next} c&&/^```/{exit} c{print}' \
		README.md > $(BUILD)/python/readme_example.py
	@test -s $(BUILD)/python/readme_example.py || { echo "no python block in README"; exit 1; }
	PYTHONPATH=$(abspath $(PY_BINDING)/src) PTRACE_DBG_LIBRARY=$(abspath $(DEV_SO)) \
		timeout 60 $(PY_BINDING_PYTHON) -B $(BUILD)/python/readme_example.py \
		| tee $(BUILD)/python/readme_example.out
	grep -Eq '^thread [0-9]+ at compute\(worker=[123], step=1\)$$' $(BUILD)/python/readme_example.out

EXTRA_TESTS += python-test readme-python-test
