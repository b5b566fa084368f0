"""Numbered SQL migrations of the journal stores, one package per database dialect."""

__all__: list[str] = []
