"""Values compared side by side: event models (dynamic fields, private attributes, dumps),
the delays retry policies compute, and what the test runner collects.
"""

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
import workflows
import workflows.collect
import workflows.errors
import workflows.events
import workflows.retry_policy
import workflows.testing
from both_libs import ANCHOR, STEPWORK, Lib, both, names
from pydantic import Field, PrivateAttr

import stepwork
import stepwork.collect
import stepwork.errors
import stepwork.events
import stepwork.retry_policy
import stepwork.testing


@both()
def test_event_dynamic_fields_and_mapping_api(lib: Lib) -> None:
    class E(lib.Event):
        a: int

    ev = E(a=1, b=2)
    assert (ev.a, ev.b, ev["b"]) == (1, 2, 2)
    assert "b" in ev and "a" not in ev
    assert (len(ev), list(ev), list(ev.keys()), list(ev.values()), list(ev.items())) == (
        1,
        ["b"],
        ["b"],
        [2],
        [("b", 2)],
    )
    assert ev.get("a") is None and ev.get("b") == 2 and ev.get("zz", 9) == 9
    with pytest.raises(KeyError):
        ev["a"]
    ev.c = 3
    ev["d"] = 4
    ev.a = 5
    assert ev.to_dict() == {"b": 2, "c": 3, "d": 4}
    assert ev.model_dump() == {"a": 5, "_data": {"b": 2, "c": 3, "d": 4}}
    assert E(a=1).model_dump() == {"a": 1}
    assert bool(lib.Event()) is True
    with pytest.raises(AttributeError, match="'E' object has no attribute 'nope'"):
        ev.nope  # noqa: B018


@both()
def test_event_private_attributes_and_required_fields(lib: Lib) -> None:
    class P(lib.Event):
        _secret: int = PrivateAttr(default=0)
        visible: str = "v"

    p = P(_secret=5, extra=1)
    assert p._secret == 5 and p.visible == "v" and p.extra == 1
    assert p.model_dump() == {"visible": "v", "_data": {"extra": 1}}

    class R(lib.Event):
        needed: int

    with pytest.raises(ValueError):
        R()


@both()
def test_stop_event_dump_str_and_result(lib: Lib) -> None:
    stop = lib.StopEvent(result={"x": 1}, extra="dropped")
    assert stop.result == {"x": 1}
    assert stop.model_dump() == {"result": {"x": 1}}
    assert str(stop) == "{'x': 1}"
    assert lib.StopEvent().model_dump() == {}
    assert lib.StopEvent().result is None

    class Done(lib.StopEvent):
        value: int

    assert Done(value=3).model_dump() == {"value": 3}
    assert Done(value=3, result=4).model_dump() == {"value": 3, "result": 4}


@both()
def test_framework_event_fields(lib: Lib) -> None:
    timed_out = lib.WorkflowTimedOutEvent(timeout=1.5, active_steps=["a"])
    assert timed_out.model_dump() == {"timeout": 1.5, "active_steps": ["a"]}
    assert isinstance(lib.WorkflowCancelledEvent(), lib.StopEvent)
    changed = lib.StepStateChanged(
        name="s", step_state=lib.StepState.RUNNING, worker_id="0", input_event_name="A"
    )
    assert changed.model_dump(mode="json") == {
        "name": "s",
        "step_state": "running",
        "worker_id": "0",
        "input_event_name": "A",
        "output_event_name": None,
    }
    assert [s.value for s in lib.StepState] == ["preparing", "running", "not_running"]


@both()
async def test_workflow_test_runner(lib: Lib) -> None:
    runner_class = (
        workflows.testing.WorkflowTestRunner
        if lib is ANCHOR
        else stepwork.testing.WorkflowTestRunner
    )

    class A(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> A:
            ctx.write_event_to_stream(lib.Event(m=1))
            return A()

        @lib.step
        async def t(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result="r")

    full = await runner_class(W()).run()
    assert full.result == "r"
    assert names(full.collected) == [
        "StepStateChanged",
        "Event",
        "StepStateChanged",
        "StepStateChanged",
        "StepStateChanged",
        "StopEvent",
    ]
    assert {k.__name__: v for k, v in full.event_types.items()} == {
        "StepStateChanged": 4,
        "Event": 1,
        "StopEvent": 1,
    }
    public = await runner_class(W()).run(expose_internal=False)
    assert names(public.collected) == ["Event", "StopEvent"]
    excluded = await runner_class(W()).run(exclude_events=[lib.StepStateChanged])
    assert names(excluded.collected) == ["Event", "StopEvent"]
    assert isinstance(full.ctx, lib.Context)


def _policy_table(lib: Lib) -> dict[str, list[float | None]]:
    policies = {
        "default": lib.retry_policy(),
        "exponential": lib.retry_policy(
            wait=lib.wait_exponential(multiplier=1, min=0, max=10), stop=lib.stop_after_attempt(8)
        ),
        "incrementing": lib.retry_policy(
            wait=lib.wait_incrementing(start=1, increment=2, max=6), stop=lib.stop_after_attempt(6)
        ),
        "chain": lib.retry_policy(
            wait=lib.wait_chain(lib.wait_fixed(1), lib.wait_fixed(2)),
            stop=lib.stop_after_attempt(5),
        ),
        "after_delay": lib.retry_policy(wait=lib.wait_fixed(1), stop=lib.stop_after_delay(3)),
        "before_delay": lib.retry_policy(wait=lib.wait_fixed(1), stop=lib.stop_before_delay(3)),
        "combine": lib.retry_policy(
            wait=lib.wait_combine(lib.wait_fixed(1), lib.wait_fixed(0.5)),
            stop=lib.stop_any(lib.stop_after_attempt(3), lib.stop_after_delay(100)),
        ),
        "message": lib.retry_policy(
            retry=lib.retry_if_exception_message(match="x"),
            wait=lib.wait_none(),
            stop=lib.stop_never(),
        ),
        "never": lib.retry_policy(retry=lib.retry_never(), stop=lib.stop_after_attempt(3)),
        "not_type": lib.retry_policy(retry=lib.retry_if_not_exception_type(KeyError)),
        "unless": lib.retry_policy(retry=lib.retry_unless_exception_type(ValueError)),
    }
    return {
        key: [
            policy.next(elapsed, attempts, error)
            for attempts in range(1, 8)
            for elapsed in (0.0, 2.5, 4.0)
            for error in (ValueError("x"), KeyError("y"))
        ]
        for key, policy in policies.items()
    }


def test_retry_policies_compute_the_same_delays() -> None:
    assert _policy_table(STEPWORK) == _policy_table(ANCHOR)


def _event_table(lib: Lib) -> dict[str, Any]:
    class E(lib.Event):
        a: int

    class Outer(lib.Event):
        inner: E
        things: list[E] = Field(default_factory=list)

    def attempt(make: Callable[[], Any]) -> Any:
        try:
            return make()
        except Exception as error:
            return ("raised", type(error).__name__, str(error))

    cases: dict[str, Callable[[], Any]] = {
        "equality": lambda: (E(a=1, b=2) == E(a=1, b=2), E(a=1, b=2) == E(a=1, b=3)),
        "model_copy": lambda: E(a=1, b=2).model_copy().model_dump(),
        "deepcopy": lambda: copy.deepcopy(E(a=1, b=[1])).model_dump(),
        "model_validate": lambda: E.model_validate({"a": 1, "b": 2}).model_dump(),
        "model_dump_json": lambda: E(a=1, b=2).model_dump_json(),
        "nested": lambda: Outer(inner=E(a=1, z=3), things=[E(a=2)]).model_dump(mode="json"),
        "repr": lambda: repr(E(a=1, b=2)),
        "str": lambda: str(E(a=1, b=2)),
        "stop_repr": lambda: repr(lib.StopEvent(result=5)),
        "stop_str_none": lambda: str(lib.StopEvent()),
        "stop_dynamic_attr": lambda: lib.StopEvent(result=1, x=2).x,
        "stop_event_result_dump": lambda: lib.StopEvent(result=E(a=1)).model_dump(mode="json"),
        "schema": lambda: sorted(E.model_json_schema()["properties"]),
        "start_dump": lambda: lib.StartEvent(x=1).model_dump(),
        "input_required_dump": lambda: lib.InputRequiredEvent(prefix="p").model_dump(),
        "human_response_dump": lambda: lib.HumanResponseEvent(response="r").model_dump(),
        "dict_of_event": lambda: dict(E(a=1, b=2, c=3)),
        "delete_item": lambda: E(a=1, b=2).__delitem__("b"),
        "pickle": lambda: pickle.loads(pickle.dumps(lib.Event(x=1))).model_dump(),
        "step_failed_fields": lambda: sorted(lib.StepFailedEvent.model_fields),
        "workflow_failed_fields": lambda: sorted(lib.WorkflowFailedEvent.model_fields),
        "unhandled_fields": lambda: sorted(lib.UnhandledEvent.model_fields),
        "timed_out_fields": lambda: sorted(lib.WorkflowTimedOutEvent.model_fields),
    }
    return {key: attempt(make) for key, make in cases.items()}


def test_events_behave_the_same_side_by_side() -> None:
    assert _event_table(STEPWORK) == _event_table(ANCHOR)
