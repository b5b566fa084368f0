"""``store_from_url``: which store each URL makes, and the errors for the ones it cannot."""

from __future__ import annotations

import sys

import pytest

from stepwork._core.errors import StoreError
from stepwork._stores.memory import MemoryStore
from stepwork._stores.sqlite import SqliteStore
from stepwork._stores.url import store_from_url


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///runs.db", "runs.db"),
        ("sqlite:///data/runs.db", "data/runs.db"),
        ("sqlite:////var/lib/app/runs.db", "/var/lib/app/runs.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("SQLite:///runs.db", "runs.db"),
    ],
)
def test_sqlite_urls(url: str, path: str) -> None:
    store = store_from_url(url)
    assert isinstance(store, SqliteStore)
    assert (store.path, store.busy_timeout, store.synchronous) == (path, 5.0, "NORMAL")


def test_sqlite_url_parameters() -> None:
    store = store_from_url("sqlite:///runs.db?busy_timeout=1.5&synchronous=full")
    assert isinstance(store, SqliteStore)
    assert (store.busy_timeout, store.synchronous) == (1.5, "FULL")


def test_memory_url() -> None:
    assert isinstance(store_from_url("memory://"), MemoryStore)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("runs.db", "use 'sqlite:///path/runs.db'"),
        ("mysql://host/db", "use 'sqlite:///path/runs.db'"),
        ("memory://somewhere", "use 'sqlite:///path/runs.db'"),
        ("sqlite://", "a SQLite URL is"),
        ("sqlite://host/runs.db", "a SQLite URL is"),
        ("sqlite:///runs.db?mode=ro", r"unknown parameter\(s\) \['mode'\]"),
        ("sqlite:///runs.db?synchronous=off", "synchronous must be"),
        ("sqlite:///runs.db?busy_timeout=soon", "could not convert"),
    ],
)
def test_urls_it_cannot_use(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store_from_url(url)


def test_postgres_without_the_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as if asyncpg were not installed
    with pytest.raises(StoreError, match=r"pip install 'stepwork\[postgres\]'") as caught:
        store_from_url("postgresql://user:secret@localhost/db")
    assert "secret" not in str(caught.value)


def test_postgres_urls_make_a_postgres_store() -> None:
    for url in ("postgresql://user@localhost:5432/db", "postgres://localhost/db"):
        store = store_from_url(url)
        assert type(store).__name__ == "PostgresStore"
