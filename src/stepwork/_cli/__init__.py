"""Command-line layer: the ``stepwork`` command (typer + rich, from the ``cli`` extra)."""

__all__: list[str] = []
