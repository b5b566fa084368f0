"""``stepwork.compat``: code written for LlamaIndex Workflows runs unchanged on stepwork.

Each test runs a fresh interpreter, because the alias changes what ``import workflows`` means
for the whole process (and this test process has the real package imported).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

APP = textwrap.dedent(
    """
    import asyncio, sys
    from workflows import Context, Workflow, step
    from workflows.events import StartEvent, StopEvent
    from workflows.context.serializers import JsonSerializer
    from workflows.context.state_store import DictState, InMemoryStateStore
    from workflows.context.external_context import ExternalContext
    from workflows.testing.runner import WorkflowTestResult, WorkflowTestRunner
    from workflows.representation import get_workflow_representation
    import workflows.context.context, workflows.types, workflows.errors

    class Hello(Workflow):
        @step
        async def hi(self, ctx: Context, ev: StartEvent) -> StopEvent:
            await ctx.store.set("name", ev.name)
            return StopEvent(result=f"hi {ev.name}")

    async def main() -> None:
        handler = Hello().run(name=sys.argv[1])
        print(await handler, isinstance(handler.ctx, ExternalContext))
        result = await WorkflowTestRunner(Hello()).run(StartEvent(name="Bo"))
        print(type(result).__name__, result.result)

    print(Workflow.__module__, sys.modules["workflows"].__name__)
    asyncio.run(main())
    try:
        import workflows.runtime.types.ticks
    except ModuleNotFoundError as error:
        print("no twin:", error.name)
    """
)


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_python_dash_m_runs_an_unported_program_on_stepwork(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    done = _python("-m", "stepwork.compat", "app.py", "Ada", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "stepwork.workflow stepwork",
        "hi Ada True",
        "WorkflowTestResult hi Bo",
        "no twin: workflows.runtime.types.ticks",
    ]


def test_install_in_a_conftest_runs_an_unported_test_suite(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("import stepwork.compat\nstepwork.compat.install()\n")
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            import workflows
            from workflows.context.serializers import JsonSerializer

            def test_it_is_stepwork():
                assert workflows.Workflow.__module__.startswith("stepwork.")
                assert JsonSerializer().deserialize(JsonSerializer().serialize([1])) == [1]
            """
        )
    )
    done = _python("-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_python_dash_m_can_run_a_module(tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(
        "import sys, workflows.events as e\nprint(e.Event.__module__, sys.argv[1:])\n"
    )
    done = _python("-m", "stepwork.compat", "-m", "probe", "x", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stepwork.events ['x']"


def test_install_refuses_when_the_real_package_is_already_imported(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import workflows, stepwork.compat
        from stepwork.errors import CompatInstallError, StepworkError
        try:
            stepwork.compat.install()
        except CompatInstallError as error:
            print(isinstance(error, StepworkError), "already imported" in str(error))
        print(stepwork.compat.is_installed(), workflows.Workflow.__module__.split(".")[0])
        """
    )
    done = _python("-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["True True", "False workflows"]


def test_install_is_idempotent_and_uninstall_restores_the_name(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import stepwork.compat as compat
        compat.install(); compat.install()
        import workflows
        print(workflows.__name__)
        compat.uninstall()
        import workflows
        print(workflows.__name__, compat.is_installed())
        """
    )
    done = _python("-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["stepwork", "workflows False"]


def test_usage_without_a_program(tmp_path: Path) -> None:
    done = _python("-m", "stepwork.compat", cwd=tmp_path)
    assert done.returncode == 2
    assert "usage: python -m stepwork.compat SCRIPT" in done.stderr
