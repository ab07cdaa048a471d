"""WorkflowTracer: one span per workflow run, with a child span per stage."""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, ExitStack
from contextvars import Token
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar, cast, overload

from opentelemetry.trace import Span

from hypertool_agent import names as n
from hypertool_agent._persona import PersonaMetricsCollector, WorkflowRun, current_workflow_run
from hypertool_agent._spans import SyncAndAsync, mark_error
from hypertool_agent._telemetry import Telemetry, get_telemetry

T = TypeVar("T")
P = ParamSpec("P")

_default_collector: PersonaMetricsCollector | None = None
_default_lock = threading.Lock()


def _shared_collector(telemetry: Telemetry) -> PersonaMetricsCollector:
    global _default_collector  # noqa: PLW0603 - one collector shared by tracers that name none
    with _default_lock:
        if _default_collector is None or _default_collector.telemetry is not telemetry:
            _default_collector = PersonaMetricsCollector(telemetry=telemetry)
        return _default_collector


def _reset_run(token: Token[Any]) -> None:
    # A run exited in another context than it was entered in (an async generator
    # fixture, another task) cannot restore the variable there, and need not.
    with contextlib.suppress(ValueError):
        current_workflow_run.reset(token)


class _StageContext(SyncAndAsync[Span]):
    """A stage span usable with both ``with`` and ``async with``."""

    def __init__(self, tracer: WorkflowTracer, stage: str, persona: str) -> None:
        self._tracer = tracer
        self._stage = stage
        self._persona = persona
        self._cm: AbstractContextManager[Span] | None = None

    def __enter__(self) -> Span:
        self._cm = self._tracer.collector.track_stage(
            self._tracer.workflow_name, self._stage, self._persona
        )
        return self._cm.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._cm is not None  # noqa: S101 - __exit__ follows __enter__
        return self._cm.__exit__(exc_type, exc, tb)


class WorkflowTracer(SyncAndAsync["WorkflowTracer"]):
    """Traces a workflow run; each stage is a child span that also records stage metrics."""

    def __init__(
        self,
        workflow_name: str,
        collector: PersonaMetricsCollector | None = None,
        *,
        telemetry: Telemetry | None = None,
    ) -> None:
        """Prepare a run of ``workflow_name``; stages record through ``collector``."""
        self.workflow_name = workflow_name
        self._telemetry = telemetry if telemetry is not None else get_telemetry()
        self.collector = collector if collector is not None else _shared_collector(self._telemetry)
        self._stack: ExitStack | None = None
        self._span: Span | None = None
        self._run: WorkflowRun | None = None
        self._depth = 0

    @property
    def span(self) -> Span | None:
        """The workflow span while the run is open."""
        return self._span

    def __enter__(self) -> Self:
        if self._stack is not None:
            # One run per tracer at a time; a nested `with` of the same tracer is the same run.
            self._depth += 1
            return self
        stack = ExitStack()
        self._span = stack.enter_context(
            self._telemetry.tracer.start_as_current_span(
                f"{n.GEN_AI_OPERATION_INVOKE_WORKFLOW} {self.workflow_name}",
                attributes={
                    n.SPAN_TYPE: n.SPAN_TYPE_WORKFLOW,
                    n.ATTR_WORKFLOW: self.workflow_name,
                    n.GEN_AI_OPERATION_NAME: n.GEN_AI_OPERATION_INVOKE_WORKFLOW,
                },
                record_exception=False,
                set_status_on_exception=False,
            )
        )
        self._run = WorkflowRun(self.workflow_name)
        token = current_workflow_run.set(self._run)
        stack.callback(_reset_run, token)
        self._stack = stack
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._depth:
            self._depth -= 1
            return
        span, stack, run = self._span, self._stack, self._run
        self._span, self._stack, self._run = None, None, None
        if span is None or stack is None or run is None:
            return
        # The last persona of a run is timed up to the end of the run.
        run.end_personas()
        if exc is not None:
            mark_error(span, exc)
        span.set_attribute(
            n.ATTR_WORKFLOW_RESULT, n.WORKFLOW_FAILED if exc is not None else n.WORKFLOW_SUCCEEDED
        )
        stack.close()

    def stage_context(self, stage: str, persona: str) -> _StageContext:
        """A stage span for ``with`` or ``async with``; the gate fails if an exception escapes."""
        return _StageContext(self, stage, persona)

    @overload
    async def trace_stage(
        self,
        stage: str,
        persona: str,
        func: Callable[P, Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T: ...

    @overload
    async def trace_stage(
        self, stage: str, persona: str, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T: ...

    async def trace_stage(
        self,
        stage: str,
        persona: str,
        func: Callable[P, T] | Callable[P, Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``func`` (sync or async) as a traced stage and return its result."""
        with self.stage_context(stage, persona):
            result = func(*args, **kwargs)
            if inspect.isawaitable(result):
                return cast(T, await result)
            return result

    def run_stage(
        self,
        stage: str,
        persona: str,
        func: Callable[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run the sync ``func`` as a traced stage, for code without an event loop."""
        with self.stage_context(stage, persona):
            return func(*args, **kwargs)
