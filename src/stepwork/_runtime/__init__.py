"""Runtime layer: the asyncio driver, handlers, contexts and resource resolution."""

__all__: list[str] = []
