"""Twin of ``workflows.context.serializers``: value serializers with the anchor's names."""

from stepwork._runtime.serializers import (
    BaseSerializer,
    JsonPickleSerializer,
    JsonSerializer,
    PickleSerializer,
)

__all__ = ["BaseSerializer", "JsonPickleSerializer", "JsonSerializer", "PickleSerializer"]
