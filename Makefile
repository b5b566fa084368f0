# Every target bootstraps .venv from pyproject.toml, so a fresh clone needs nothing installed by hand.
# The oldest and newest Python the package supports (pyproject.toml's classifiers): .venv runs
# the oldest when it is installed (else python3), and `make test` runs the suite again on the
# newest, in .venv-$(PY_NEWEST), when that is installed (scripts/pytest-python.sh).
PY_OLDEST := 3.11
PY_NEWEST := 3.13
PY ?= $(shell bash scripts/find-python.sh $(PY_OLDEST) || echo python3)
VENV := .venv
# The suite runs on this many pytest-xdist workers, the multi-process tests (marked slow) one at
# a time on one of them (tests/conftest.py). `make test PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= 2
PYTEST_DIST := -n $(PYTEST_WORKERS)
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest clean bench bench-once bench-limits bench-http bench-scale test-deps

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
	@v=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  [ "$$v" = "$(PY_OLDEST)" ] || echo "note: Python $(PY_OLDEST) is not installed here; $(VENV) runs $$v" >&2
	$(BIN)/pytest $(PYTEST_DIST) --cov --cov-report=term -q -p no:cacheprovider
	bash scripts/pytest-python.sh $(PY_NEWEST) $(VENV)-$(PY_NEWEST) $(PYTEST_DIST)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) $(VENV)-$(PY_NEWEST) .venv-dbos .coverage .mypy_cache .ruff_cache

# The single-process ratios against the anchor, then what the durable primitives cost next to a
# step (a ctx.once call, a limit's slot) on SQLite and PostgreSQL.
bench: $(STAMP) test-deps
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.once --json benchmarks/once_results.json
	$(BIN)/python -m benchmarks.limits --json benchmarks/limits_results.json

# The anchor on DBOS needs versions of its own (dbos 3.x fails at launch with
# llama-agents-dbos 0.7.0), so it lives in .venv-dbos, measured in the same run as stepwork.
DBOS_STAMP := .venv-dbos/.installed
$(DBOS_STAMP):
	test -x .venv-dbos/bin/python || $(PY) -m venv .venv-dbos
	.venv-dbos/bin/python -m pip install -q --upgrade pip
	.venv-dbos/bin/python -m pip install -q 'llama-index-workflows==2.26.1' 'llama-agents-dbos==0.7.0' 'dbos==2.31.1'
	touch $(DBOS_STAMP)

bench-scale: $(STAMP) $(DBOS_STAMP) test-deps
	$(BIN)/python -m benchmarks.scale --runs 200 --repeat 3 --json benchmarks/scale_results.json

bench-once: $(STAMP)
	$(BIN)/python -m benchmarks.once --json benchmarks/once_results.json

bench-limits: $(STAMP)
	$(BIN)/python -m benchmarks.limits --json benchmarks/limits_results.json

bench-http: $(STAMP)
	$(BIN)/python -m benchmarks.http_load --json benchmarks/http_results.json
