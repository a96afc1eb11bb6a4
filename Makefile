# Two commands for a fresh machine: `make demo` (the main job) and `make test` (all tests + lint + types).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests read the benchmark data beside the checkout when it is there (CI, developers).
ifneq ($(wildcard ../shared/data),)
export LEARNACT_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: demo test unit integration lint typecheck bench clean

# The venv's bin goes first on PATH: alfworld's engine builds with a script that runs
# `python`, and a pyenv shim there fails inside pip's isolated build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# The local model (set up on first use: ~1 GB download and a 5-15 min build); SCRIPTED=1
# runs the offline scripted stand-in instead, in seconds.
demo: $(STAMP)
	$(BIN)/learnact demo $(if $(SCRIPTED),--scripted,)

lint: $(STAMP)
	$(BIN)/ruff check learnact_langgraph tests benchmarks
	$(BIN)/ruff format --check learnact_langgraph tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit_tests tests/security tests/faults -q --disable-socket --allow-unix-socket

integration: $(STAMP)
	$(BIN)/pytest tests/integration_tests -q

test: lint typecheck unit integration

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[bench,reference]"
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
