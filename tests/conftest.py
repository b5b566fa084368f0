"""Fixtures and scheduling for the whole suite.

One PostgreSQL server per test process: ``postgres_server`` is session-scoped, so it is defined
here once (a folder or module that imported it again would register a fixture of its own and
start a server of its own). Under pytest-xdist each worker is a process with its own session,
so each starts its own server (its own directory and port) and names its databases after its
pid: workers share nothing.

``make test`` runs the suite on two xdist workers (``-n 2``, xdist's ``load`` scheduling),
which this file refines: every test of the modules marked ``slow`` (several real processes,
kills, lease takeovers with timing bounds) goes to one worker, first, so they run one after
another while the other worker deals with the rest; two at once would starve each other of the
machine's two cores. The scheduler runs in xdist's controller, which sees node ids only, so the
slow modules are listed here, and collection fails when that list and the ``slow`` marks
disagree. (xdist's ``--dist loadgroup`` would read ``xdist_group`` marks instead, but it loses
them on pytest 9.2: pytest-xdist issue 1386.)
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
    """xdist's ``load`` scheduling, with every test of the slow modules on one worker."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScheduling

    class SlowOnOneWorker(LoadScheduling):
        """The first batch sent (to the first worker) starts with all the slow tests; the other
        tests are dealt out as xdist does. By index, not node id: schemathesis's cases share one
        node id on pytest 9.2, and scheduling by node id would run one case of each."""

        slow_sent = False

        def _send_tests(self, node: Any, num: int) -> None:
            if not self.slow_sent:
                self.slow_sent = True
                assert self.collection is not None
                slow = [i for i in self.pending if _module_of(self.collection[i]) in SLOW_MODULES]
                if slow:
                    self.pending[:] = sorted(set(self.pending) - set(slow))
                    self.node2pending[node].extend(slow)
                    node.send_runtest_some(slow)
            super()._send_tests(node, num)

    return SlowOnOneWorker(config, log)
