"""Run metrics kept in this process and written in Prometheus' text format.

:class:`RunMetrics` is a :class:`~stepwork.observe.RunObserver` that counts by itself (no
dependency): runs started and ended by status, lease takeovers, step attempt durations and
journal write latencies as histograms, and the deliveries queued in live runs (read when
rendered). The server adds one and serves :meth:`RunMetrics.render` at ``GET /metrics``. The
same numbers go to OpenTelemetry metrics when the program uses OpenTelemetry (``observe_otel``).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Iterable, Sequence

from stepwork._runtime.observe import queue_depths

__all__ = ["DEFAULT_BUCKETS", "Histogram", "RunMetrics"]

DEFAULT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds (seconds) of the duration histograms' buckets; ``+Inf`` is added."""

Labels = tuple[tuple[str, str], ...]


class Histogram:
    """Cumulative bucket counts, sum and count of observed values, per label set."""

    def __init__(self, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self.series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, labels: Labels, value: float) -> None:
        """Count ``value`` under ``labels``."""
        counts, total = self.series.setdefault(labels, ([0] * (len(self.buckets) + 1), [0.0]))
        counts[bisect.bisect_left(self.buckets, value)] += 1
        total[0] += value

    def lines(self, name: str) -> Iterable[str]:
        """The histogram's sample lines in Prometheus' text format."""
        for labels, (counts, total) in sorted(self.series.items()):
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = "+Inf" if bound == math.inf else repr(bound)
                yield f"{name}_bucket{_labels((*labels, ('le', le)))} {running}"
            yield f"{name}_sum{_labels(labels)} {total[0]!r}"
            yield f"{name}_count{_labels(labels)} {running}"


class RunMetrics:
    """Counts what runs in this process do; :meth:`render` writes Prometheus' text format.

    Example:
        >>> from stepwork.observe import RunMetrics
        >>> metrics = RunMetrics()
        >>> metrics.run_started("r1", "greeter", resumed=False)
        >>> 'stepwork_runs_started_total{workflow="greeter"} 1' in metrics.render()
        True
    """

    def __init__(self, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self._lock = threading.Lock()  # render() may be called from another thread
        self._workflows: dict[str, str] = {}
        self._steps: dict[tuple[str, int], tuple[str, float]] = {}
        self.started: dict[Labels, int] = {}
        self.ended: dict[Labels, int] = {}
        self.takeovers: dict[Labels, int] = {}
        self.step_seconds = Histogram(buckets)
        self.write_seconds = Histogram(buckets)

    def run_started(self, run_id: str, workflow: str, *, resumed: bool) -> None:
        with self._lock:
            self._workflows[run_id] = workflow
            key = (("workflow", workflow),)
            self.started[key] = self.started.get(key, 0) + 1

    def run_ended(self, run_id: str, status: str, error: BaseException | None) -> None:
        with self._lock:
            if run_id not in self._workflows:
                return  # not started under this observer, or already ended (detached first)
            workflow = self._workflows.pop(run_id)
            for key in [key for key in self._steps if key[0] == run_id]:
                del self._steps[key]
            labels = (("workflow", workflow), ("status", status))
            self.ended[labels] = self.ended.get(labels, 0) + 1

    def lease_taken_over(self, run_id: str, workflow: str, previous_owner: str) -> None:
        """Count a claim of a run whose previous holder's lease lapsed (or who died)."""
        with self._lock:
            key = (("workflow", workflow),)
            self.takeovers[key] = self.takeovers.get(key, 0) + 1

    def step_attempt_started(self, run_id: str, step: str, invocation: int, attempt: int) -> object:
        with self._lock:
            self._steps[(run_id, invocation)] = (step, time.monotonic())
        return None

    def step_code_left(self, token: object) -> None:
        return None

    def step_attempt_ended(
        self,
        run_id: str,
        invocation: int,
        error: BaseException | None,
        retry_delay: float | None,
    ) -> None:
        with self._lock:
            entry = self._steps.pop((run_id, invocation), None)
            if entry is None:
                return
            step, started = entry
            outcome = "ok" if error is None else "retried" if retry_delay is not None else "failed"
            labels = (
                ("workflow", self._workflows.get(run_id, "")),
                ("step", step),
                ("outcome", outcome),
            )
            self.step_seconds.observe(labels, time.monotonic() - started)

    def wait_started(self, run_id: str, invocation: int, waiter_id: str) -> None:
        return None

    def wait_ended(self, run_id: str, invocation: int, waiter_id: str, answered: bool) -> None:
        return None

    def journal_batch_written(
        self,
        run_id: str,
        first_seq: int,
        ticks: int,
        start_ns: int,
        end_ns: int,
        error: BaseException | None,
    ) -> None:
        with self._lock:
            labels = (("workflow", self._workflows.get(run_id, "")),)
            self.write_seconds.observe(labels, (end_ns - start_ns) / 1e9)

    def render(self) -> str:
        """Everything counted so far, in Prometheus' text exposition format (version 0.0.4)."""
        queued = queue_depths()
        with self._lock:
            out = [
                *_family("stepwork_runs_started_total", "counter", "Runs started or resumed."),
                *_samples("stepwork_runs_started_total", self.started),
                *_family("stepwork_runs_ended_total", "counter", "Runs ended, by status."),
                *_samples("stepwork_runs_ended_total", self.ended),
                *_family(
                    "stepwork_leases_takeovers_total",
                    "counter",
                    "Runs claimed after their previous holder's lease lapsed.",
                ),
                *_samples("stepwork_leases_takeovers_total", self.takeovers),
                *_family("stepwork_step_duration_seconds", "histogram", "Step attempts."),
                *self.step_seconds.lines("stepwork_step_duration_seconds"),
                *_family("stepwork_journal_write_seconds", "histogram", "Journal batch writes."),
                *self.write_seconds.lines("stepwork_journal_write_seconds"),
            ]
        out += [
            *_family("stepwork_steps_queued", "gauge", "Deliveries waiting for a free worker."),
            *_samples("stepwork_steps_queued", {(("workflow", k),): v for k, v in queued.items()}),
        ]
        return "\n".join(out) + "\n"


def _family(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _samples(name: str, values: dict[Labels, int]) -> list[str]:
    return [f"{name}{_labels(labels)} {value}" for labels, value in sorted(values.items())]


def _labels(labels: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels)
    return f"{{{inner}}}" if inner else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
