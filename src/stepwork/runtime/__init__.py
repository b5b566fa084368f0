"""Twin of ``workflows.runtime``: only the state types ported test suites import.

stepwork's runtime is its own (a reducer and a driver, see ``docs/design.md``); this package
holds views of its state in LlamaIndex Workflows' terms, nothing that runs.
"""

__all__: list[str] = []
