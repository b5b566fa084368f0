"""Drawing layer: the workflow graph model and its renderers (Mermaid, DOT, HTML)."""

__all__: list[str] = []
