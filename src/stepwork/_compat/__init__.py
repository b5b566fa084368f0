"""Running code written for LlamaIndex Workflows unchanged: ``workflows`` imports resolve here."""

__all__: list[str] = []
