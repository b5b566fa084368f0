# Every target bootstraps .venv from pyproject.toml, so a fresh clone needs nothing installed by hand.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest clean bench bench-http test-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/quickstart.py

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

test-deps:
	bash scripts/test-deps.sh

pytest: $(STAMP) test-deps
	$(BIN)/pytest --cov --cov-report=term -q -p no:cacheprovider

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-http: $(STAMP)
	$(BIN)/python -m benchmarks.http_load --json benchmarks/http_results.json
