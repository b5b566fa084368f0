"""Definition layer: step signatures, the Workflow class, resource descriptors."""

__all__: list[str] = []
