"""PersonaMetricsCollector: persona switches, token usage, budgets, stages and quality gates."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

from opentelemetry import trace
from opentelemetry.metrics import Counter, Meter, _Gauge
from opentelemetry.trace import Span, Status, StatusCode

from hypertool_agent import _names as n
from hypertool_agent._telemetry import Telemetry, get_telemetry

_log = logging.getLogger("hypertool_agent")

#: The seed's per-persona token budgets (tokens per process unless overridden).
DEFAULT_BUDGETS: Mapping[str, int] = {
    "backend-engineer": 2000,
    "frontend-engineer": 1800,
    "devops-engineer": 1800,
    "testing-specialist": 1500,
    "observability-expert": 2000,
    "data-scientist": 1700,
}


@dataclass(frozen=True)
class _Instruments:
    switches: Counter
    tokens_used: Counter
    quality_gate: Counter
    budget_remaining: _Gauge


def _create(meter: Meter) -> _Instruments:
    def counter(name: n.MetricName) -> Counter:
        return meter.create_counter(name.otel_name, unit=name.unit, description=name.description)

    gauge = n.TOKEN_BUDGET_REMAINING
    return _Instruments(
        switches=counter(n.PERSONA_SWITCHES),
        tokens_used=counter(n.TOKENS_USED),
        quality_gate=counter(n.QUALITY_GATE),
        budget_remaining=meter.create_gauge(
            gauge.otel_name, unit=gauge.unit, description=gauge.description
        ),
    )


@cache
def _instruments(telemetry: Telemetry) -> _Instruments:
    # One set per Telemetry: every collector in a process adds to the same streams. One
    # exit hook per Telemetry, too, holding no collector alive.
    telemetry.add_exit_hook(lambda: _end_all_personas(telemetry))
    return _create(telemetry.meter)


def _end_all_personas(telemetry: Telemetry) -> None:
    for collector in list(_collectors):
        if collector._telemetry is telemetry:
            collector.end_persona()


@dataclass
class _ActivePersona:
    persona: str
    chatmode: str
    span: Span
    #: The workflow run the persona was entered in, if any: its end ends the persona.
    workflow_run: object | None


#: The innermost WorkflowTracer run on this thread or task, set by WorkflowTracer.
current_workflow_run: ContextVar[object | None] = ContextVar(
    "hypertool_current_workflow_run", default=None
)


#: Live collectors, so that a workflow that ends can end the personas opened inside it.
_collectors: weakref.WeakSet[PersonaMetricsCollector] = weakref.WeakSet()


def end_personas_of(workflow_run: object) -> None:
    """End every active persona entered during ``workflow_run``, in any collector."""
    for collector in list(_collectors):
        collector._end_persona_of(workflow_run)


class PersonaMetricsCollector:
    """Records what agents do per persona: the seed's API, exported as OTLP."""

    def __init__(
        self,
        budgets: Mapping[str, int] | None = None,
        *,
        telemetry: Telemetry | None = None,
    ) -> None:
        """Create a collector; ``budgets`` override or extend the seed's defaults."""
        self._telemetry = telemetry if telemetry is not None else get_telemetry()
        self._instruments = _instruments(self._telemetry)
        self._tracer = self._telemetry.tracer
        self._budgets = dict(DEFAULT_BUDGETS)
        if budgets:
            self._budgets.update(budgets)
        self._used: dict[str, int] = {}
        self._active: _ActivePersona | None = None
        self._lock = threading.Lock()
        _collectors.add(self)

    # Persona switches and time in persona -------------------------------------------------

    @property
    def current_persona(self) -> str | None:
        """The persona the agent is in now, if any."""
        active = self._active
        return None if active is None else active.persona

    def switch_persona(self, from_persona: str | None, to_persona: str, chatmode: str) -> None:
        """Record a switch and start timing ``to_persona``; the persona left is timed now."""
        self._instruments.switches.add(
            1,
            {
                n.FROM_PERSONA: from_persona or n.NO_PERSONA,
                n.TO_PERSONA: to_persona,
                n.CHATMODE: chatmode,
            },
        )
        trace.get_current_span().add_event(
            "hypertool.persona.switch",
            {
                "hypertool.persona.from": from_persona or n.NO_PERSONA,
                "hypertool.persona.to": to_persona,
                n.ATTR_CHATMODE: chatmode,
            },
        )
        span = self._tracer.start_span(
            f"persona {to_persona}",
            attributes={
                n.SPAN_TYPE: n.SPAN_TYPE_PERSONA,
                n.ATTR_PERSONA: to_persona,
                n.ATTR_CHATMODE: chatmode,
                n.GEN_AI_OPERATION_NAME: n.GEN_AI_OPERATION_INVOKE_AGENT,
                n.GEN_AI_AGENT_NAME: to_persona,
            },
        )
        with self._lock:
            left, self._active = (
                self._active,
                _ActivePersona(to_persona, chatmode, span, current_workflow_run.get()),
            )
        if left is not None:
            left.span.end()

    def end_persona(self) -> None:
        """Stop timing the current persona (done for you when its workflow or process ends)."""
        with self._lock:
            left, self._active = self._active, None
        if left is not None:
            left.span.end()

    def _end_persona_of(self, workflow_run: object) -> None:
        with self._lock:
            active = self._active
            if active is None or active.workflow_run is not workflow_run:
                return
            self._active = None
        active.span.end()

    # Tokens and budgets ------------------------------------------------------------------

    def record_token_usage(self, persona: str, chatmode: str, model: str, tokens: int) -> None:
        """Add ``tokens`` to the persona's usage and report what is left of its budget."""
        self._instruments.tokens_used.add(
            tokens, {n.PERSONA: persona, n.CHATMODE: chatmode, n.MODEL: model}
        )
        with self._lock:
            used = self._used.get(persona, 0) + tokens
            self._used[persona] = used
            budget = self._budgets.get(persona)
        if budget is not None:
            self._instruments.budget_remaining.set(budget - used, {n.PERSONA: persona})

    def get_remaining_budget(self, persona: str) -> int | None:
        """Tokens this process may still spend as ``persona``; None if it has no budget.

        This is the per-process view of the seed. The fleet-wide view across all agent
        processes lives in Prometheus.
        """
        with self._lock:
            budget = self._budgets.get(persona)
            return None if budget is None else budget - self._used.get(persona, 0)

    def reset_budget(self, persona: str) -> None:
        """Forget the persona's usage in this process, restoring its full budget."""
        with self._lock:
            self._used.pop(persona, None)
            budget = self._budgets.get(persona)
        if budget is not None:
            self._instruments.budget_remaining.set(budget, {n.PERSONA: persona})

    # Stages and quality gates ------------------------------------------------------------

    def record_quality_gate(self, workflow: str, stage: str, *, passed: bool) -> None:
        """Record one quality-gate result for a stage."""
        result = n.RESULT_PASSED if passed else n.RESULT_FAILED
        self._instruments.quality_gate.add(
            1, {n.WORKFLOW: workflow, n.STAGE: stage, n.RESULT: result}
        )

    @contextmanager
    def track_stage(self, workflow: str, stage: str, persona: str) -> Iterator[Span]:
        """Time a stage as a span; its quality gate passes unless an exception escapes."""
        with self._tracer.start_as_current_span(
            f"stage {stage}",
            attributes={
                n.SPAN_TYPE: n.SPAN_TYPE_STAGE,
                n.ATTR_WORKFLOW: workflow,
                n.ATTR_STAGE: stage,
                n.ATTR_PERSONA: persona,
                n.GEN_AI_OPERATION_NAME: n.GEN_AI_OPERATION_INVOKE_AGENT,
                n.GEN_AI_AGENT_NAME: persona,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                span.set_attribute(n.ATTR_QUALITY_GATE, n.RESULT_FAILED)
                self.record_quality_gate(workflow, stage, passed=False)
                raise
            span.set_attribute(n.ATTR_QUALITY_GATE, n.RESULT_PASSED)
            self.record_quality_gate(workflow, stage, passed=True)
