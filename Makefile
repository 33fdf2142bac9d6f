# The README's two commands (demo, test), and test-fast for the edit loop. Each does the whole
# set-up first (scripts/setup.sh).
VENV := .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_ENABLE_ONEDNN_OPTS := 0

.PHONY: setup demo test test-fast bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/afkd demo --out build/demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# The unit tests: everything not marked slow (no training, TensorFlow export, firmware build or
# emulator). The tiny test models' TFLite conversions are kept in build/test-cache between runs,
# keyed by the code that makes them; `make test` converts afresh.
test-fast: setup
	AFKD_TEST_CACHE=build/test-cache $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: setup
	$(PY) -m benchmarks.run_all

clean:
	rm -rf build .pytest_cache
