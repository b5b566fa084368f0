"""Serve workflows over HTTP (needs the ``server`` extra: ``pip install 'stepwork[server]'``).

Example:
    >>> from stepwork import StartEvent, StopEvent, Workflow, step
    >>> from stepwork.server import create_app, serve
    >>> class Echo(Workflow):
    ...     @step
    ...     async def echo(self, ev: StartEvent) -> StopEvent:
    ...         return StopEvent(result=ev.text)
    >>> app = create_app({"echo": Echo()}, store="sqlite:///runs.db")  # doctest: +SKIP
    >>> serve(app, port=8000)                                          # doctest: +SKIP

The routes are described in ``docs/http-api.md`` and served as OpenAPI at ``/openapi.json``.
``WorkflowServer`` is LlamaIndex Workflows' server API (``add_workflow``, ``serve``, ``start``,
``stop``) on the same app; its routes are served too (``docs/porting.md``).
"""

from stepwork._core.errors import ServerConfigurationError
from stepwork._server.app import DEFAULT_STORE, create_app, registry_of
from stepwork._server.serving import GracefulServer, serve
from stepwork._server.workflow_server import WorkflowServer

__all__ = [
    "DEFAULT_STORE",
    "GracefulServer",
    "ServerConfigurationError",
    "WorkflowServer",
    "create_app",
    "registry_of",
    "serve",
]

# Public names for the classes exported here (see ``stepwork._core.public_names``).
import sys as _sys

from stepwork._core.public_names import publish_imported as _publish_imported

_publish_imported(_sys.modules)
