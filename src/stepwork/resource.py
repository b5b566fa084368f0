"""Resources: values built once and injected into steps with ``Annotated``.

Example:
    >>> from typing import Annotated
    >>> from stepwork.resource import Resource
    >>> def get_client() -> dict[str, str]:
    ...     return {"endpoint": "https://example.invalid"}
    >>> Client = Annotated[dict[str, str], Resource(get_client)]
"""

from stepwork._definition.resource_config import ResourceConfig, ResourceConfigFileNotFoundError
from stepwork._definition.resources import Resource, ResourceDefinition, ResourceDescriptor
from stepwork._runtime.resources import ResourceManager

# LlamaIndex Workflows names the classes behind its Resource()/ResourceConfig() factories with a
# leading underscore, and its users' tests import them for isinstance checks; keep those names.
_Resource = Resource
_ResourceConfig = ResourceConfig

__all__ = [
    "Resource",
    "ResourceConfig",
    "ResourceConfigFileNotFoundError",
    "ResourceDefinition",
    "ResourceDescriptor",
    "ResourceManager",
]
