"""The workflows of the fleet test (``docs/scale-out.md``'s recipe): ``work`` takes three
steps of ~200 ms (so runs are in flight when a worker is killed), ``ask`` waits for a person."""

from __future__ import annotations

from worker_flow import Work

from stepwork import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent, Workflow, step


class Question(InputRequiredEvent):
    prompt: str


class Answer(HumanResponseEvent):
    text: str


class Ask(Workflow):
    """Ask, wait for the answer, greet."""

    @step
    async def ask(self, ev: StartEvent) -> Question:
        return Question(prompt="name?")

    @step
    async def greet(self, ev: Answer) -> StopEvent:
        return StopEvent(result=f"Hello, {ev.text}!")


workflows = {
    "work": Work(timeout=None, workflow_name="work"),
    "ask": Ask(timeout=None, workflow_name="ask"),
}
