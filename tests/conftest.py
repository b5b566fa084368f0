"""Fixtures and scheduling for the whole suite.

One PostgreSQL server per test process: ``postgres_server`` is session-scoped, so it is defined
here once (a folder or module that imported it again would register a fixture of its own and
start a server of its own). Under pytest-xdist each worker is a process with its own session,
so each starts its own server (its own directory and port) and names its databases after its
pid: workers share nothing.

``make test`` runs the suite on two xdist workers with ``--dist loadscope``, which this file
refines: each module's tests run on one worker (a module-scoped Chromium or fuzzed server
starts once), and the modules marked ``slow`` (several real processes, kills, lease takeovers
with timing bounds) form one scope, so they run one after another: two at once would starve
each other of the machine's two cores. xdist's own ``--dist loadgroup`` would read
``xdist_group`` marks, but it loses them on pytest 9.2 (pytest-xdist issue 1386); the controller
sees only node ids, so the slow modules are listed here, and collection fails when that list
and the ``slow`` marks disagree.
"""

from __future__ import annotations

from typing import Any

import pytest

from stores.pg_server import postgres_dsn, postgres_server

__all__ = ["SLOW_MODULES", "postgres_dsn", "postgres_server"]

SLOW_MODULES = frozenset(
    {
        "tests/durable/test_once_processes.py",
        "tests/observe/test_trace_api_node.py",
        "tests/observe/test_trace_takeover.py",
        "tests/workers/test_chaos.py",
        "tests/workers/test_children_processes.py",
        "tests/workers/test_fleet_processes.py",
        "tests/workers/test_idle_release.py",
        "tests/workers/test_limit_processes.py",
        "tests/workers/test_schedule_processes.py",
        "tests/workers/test_worker_processes.py",
        "tests/workers/test_worker_waits.py",
    }
)
"""The modules with tests marked ``slow``: under xdist they run on one worker, one at a time."""

_SLOW_SCOPE = "slow (several real processes)"


def _module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fail the collection when :data:`SLOW_MODULES` and the ``slow`` marks disagree."""
    collected = {_module_of(item.nodeid) for item in items}
    marked = {_module_of(i.nodeid) for i in items if i.get_closest_marker("slow") is not None}
    unlisted = sorted(marked - SLOW_MODULES)
    unmarked = sorted((SLOW_MODULES & collected) - marked)
    if unlisted or unmarked:
        raise pytest.UsageError(
            "tests/conftest.py's SLOW_MODULES must list exactly the modules with tests marked "
            f"slow: add {unlisted or 'none'}, remove {unmarked or 'none'}"
        )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope``, with the slow modules in one scope (see the module docstring)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SlowTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if _module_of(nodeid) in SLOW_MODULES:
                return _SLOW_SCOPE
            return str(super()._split_scope(nodeid))

    return SlowTogether(config, log)
