"""Log records carry the run id, step and trace id (``RunContextFilter``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stepwork import StartEvent, StopEvent, Workflow, step
from stepwork.observe import RunContextFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from live_server import serving


class Collected(logging.Handler):
    """Keeps the records it handles, with the run filter on."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RunContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[Collected]:
    handler = Collected()
    logger = logging.getLogger("observe-test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def fields(record: logging.LogRecord) -> tuple[str, str, str, str]:
    values = record.__dict__
    return values["run_id"], values["step"], values["trace_id"], values["span_id"]


class Logs(Workflow):
    @step
    async def speak(self, ev: StartEvent) -> StopEvent:
        logging.getLogger("observe-test").info("inside")
        return StopEvent()


async def test_a_step_s_records_say_run_step_and_span(
    collected: Collected, spans: InMemorySpanExporter
) -> None:
    await Logs().run(run_id="logged")
    logging.getLogger("observe-test").info("outside")
    inside, outside = collected.records
    (attempt,) = [span for span in spans.get_finished_spans() if span.name == "step speak"]
    assert attempt.context is not None
    trace_id, span_id = f"{attempt.context.trace_id:032x}", f"{attempt.context.span_id:016x}"
    assert fields(inside) == ("logged", "speak", trace_id, span_id)
    assert fields(outside) == ("", "", "", "")
    formatted = logging.Formatter("%(run_id)s/%(step)s %(trace_id)s %(message)s").format(inside)
    assert formatted == f"logged/speak {trace_id} inside"


def test_values_a_record_brings_are_kept(collected: Collected) -> None:
    logging.getLogger("observe-test").info("x", extra={"run_id": "mine", "trace_id": "t"})
    (record,) = collected.records
    assert fields(record) == ("mine", "", "t", "")


def test_the_server_s_failure_record_names_the_run_and_its_trace(
    tmp_path: Path, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="stepwork.server")
    with serving(f"sqlite:///{tmp_path / 'runs.db'}") as start:
        server = start()
        with httpx.Client(base_url=server.url, timeout=20) as http:
            failed = http.post("/workflows/fails/runs", json={"input": {}, "wait": True})
    run_id = failed.json()["run_id"]
    (record,) = [r for r in caplog.records if "failed in step" in r.getMessage()]
    (run,) = [s for s in spans.get_finished_spans() if s.name.startswith("run ")]
    assert run.context is not None
    assert fields(record)[:3] == (run_id, "explode", f"{run.context.trace_id:032x}")
