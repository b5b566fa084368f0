"""Which incoming trace headers a server keeps for the runs it enqueues."""

from __future__ import annotations

import pytest

from stepwork._runtime.observe_context import incoming_trace, parent_from_headers, trace_headers
from stepwork._runtime.trace_journal import caller_trace

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    "traceparent",
    [
        "",
        "garbage",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  # upper case
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero span id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # forbidden version
        TP + "-extra",  # version 00 has exactly four fields
    ],
)
def test_a_malformed_traceparent_is_dropped_with_its_tracestate(traceparent: str) -> None:
    assert trace_headers({"traceparent": traceparent, "tracestate": "a=1"}) == {}


def test_a_valid_one_is_kept_with_its_tracestate_unless_that_is_too_long() -> None:
    assert trace_headers({"traceparent": TP, "tracestate": "a=1"}) == {
        "traceparent": TP,
        "tracestate": "a=1",
    }
    assert trace_headers({"traceparent": TP, "tracestate": "a" * 513}) == {"traceparent": TP}
    later = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more"
    assert trace_headers({"traceparent": later}) == {"traceparent": later}


def test_a_request_context_is_what_a_run_enqueued_inside_it_journals() -> None:
    assert incoming_trace() == {}
    with parent_from_headers({"traceparent": TP, "tracestate": "a=1"}):
        assert incoming_trace() == {"traceparent": TP, "tracestate": "a=1"}
        assert caller_trace() == {"traceparent": TP, "tracestate": "a=1"}
    assert incoming_trace() == {}
    with parent_from_headers({"traceparent": "garbage"}):
        assert incoming_trace() == {}
