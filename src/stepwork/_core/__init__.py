"""The pure core: ticks, commands, run state, the reducer, routing, graph checks, retry maths.

Nothing in this package performs I/O, reads a clock or imports asyncio; a test enforces it.
"""

__all__: list[str] = []
