"""Fixtures for the whole suite: one PostgreSQL server per test process.

``postgres_server`` is session-scoped, so it is defined here once: a folder or module that
imported it again would register a fixture of its own and start a server of its own. Under
pytest-xdist each worker is a process with its own session, so each starts its own server (its
own directory and port) and names its databases after its pid: workers share nothing.
"""

from __future__ import annotations

from stores.pg_server import postgres_dsn, postgres_server

__all__ = ["postgres_dsn", "postgres_server"]
