"""``python traced_order.py STORE_URL LOG BLOCK_AT``: run ``order-42`` of the durable tests'
``OrderFlow`` with OpenTelemetry tracing on (an SDK provider, no exporter: this process is
killed, so what it would export does not matter) and block inside step ``BLOCK_AT``."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "durable"))

from order_flow import main

if __name__ == "__main__":
    trace.set_tracer_provider(TracerProvider())
    os.environ["ORDER_LOG"] = sys.argv[2]
    os.environ["ORDER_BLOCK_AT"] = sys.argv[3]
    asyncio.run(main(sys.argv[1], None))
