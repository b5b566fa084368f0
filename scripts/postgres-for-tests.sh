#!/usr/bin/env bash
# A throwaway PostgreSQL server, the one the tests use (tests/stores/pg_server.py), for
# benchmarks or for trying the durable examples by hand. Prints STEPWORK_PG_DSN=<dsn> and
# runs until Ctrl-C (or SIGTERM), then stops the server and deletes its files.
#   bash scripts/postgres-for-tests.sh
# Needs Debian's `postgresql` package (bash scripts/test-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m tests.stores.pg_server
