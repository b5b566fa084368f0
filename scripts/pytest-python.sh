#!/usr/bin/env bash
# Runs the test suite on Python VERSION in a venv of its own (VENV), bootstrapped from
# pyproject.toml as .venv is, and set up again when pyproject.toml is newer than its stamp.
# A VERSION that is not installed (see find-python.sh) is skipped with a notice, not an error.
#
#   scripts/pytest-python.sh 3.13 .venv-3.13 [PYTEST-ARGS...]
set -euo pipefail
version=${1:?usage: pytest-python.sh VERSION VENV [PYTEST-ARGS...]}
venv=${2:?usage: pytest-python.sh VERSION VENV [PYTEST-ARGS...]}
shift 2
cd "$(dirname "$0")/.."
if ! python=$(bash scripts/find-python.sh "$version"); then
  echo "pytest-python: Python $version is not installed here; the suite was not run on it" >&2
  exit 0
fi
stamp=$venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
echo "pytest-python: the test suite on Python $version ($venv)"
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
