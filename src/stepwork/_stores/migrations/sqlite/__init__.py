"""SQLite migrations of ``SqliteStore``: ``NNNN_name.sql`` files, applied in order on open."""

__all__: list[str] = []
