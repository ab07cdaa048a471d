"""PersonaMetricsCollector: persona switches, token usage, budgets, stages and quality gates."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from opentelemetry import trace
from opentelemetry.trace import Span

from hypertool_agent import _telemetry as _telemetry_module
from hypertool_agent import names as n
from hypertool_agent._budgets import (
    DEFAULT_BUDGETS,
    ENV_BUDGETS_FILE,
    load_budgets,
    persona_budgets,
)
from hypertool_agent._guard import MAX_TOKENS, Guard
from hypertool_agent._instruments import Instruments
from hypertool_agent._spans import mark_error
from hypertool_agent._sums import ThreadTotals
from hypertool_agent._telemetry import Telemetry, get_telemetry
from hypertool_agent.errors import ConfigurationError


@dataclass
class _ActivePersona:
    persona: str
    chatmode: str
    span: Span
    #: Whose shutdown ends the persona if nothing else does first.
    telemetry: Telemetry
    #: The workflow run the persona was entered in, if any: its end ends the persona.
    workflow_run: WorkflowRun | None


class WorkflowRun:
    """One open run of a workflow, and the collectors whose persona was entered during it."""

    def __init__(self, workflow_name: str) -> None:
        """Start tracking a run of ``workflow_name``."""
        self.workflow_name = workflow_name
        #: Weak: a collector that is gone has nothing left to end.
        self._collectors: weakref.WeakSet[PersonaMetricsCollector] = weakref.WeakSet()

    def entered_in(self, collector: PersonaMetricsCollector) -> None:
        """``collector`` entered a persona during this run: end it with the run."""
        self._collectors.add(collector)

    def end_personas(self) -> None:
        """The run is over: its last persona, in each collector, is timed up to now."""
        for collector in list(self._collectors):
            collector._end_persona_of(self)


#: Labels of one (persona, chatmode, model), and whether the persona has a budget.
_Usage = tuple[tuple[str, str, str], bool]
#: Raw label triples remembered per collector: the guard bounds the distinct labels, not
#: the distinct spellings that clean into them.
_MAX_REMEMBERED_USAGES: Final = 10_000


class _Binding:
    """What a collector records through while its Telemetry stays the same."""

    __slots__ = ("instruments", "local", "telemetry", "usage_labels")

    def __init__(self, telemetry: Telemetry, instruments: Instruments) -> None:
        self.telemetry = telemetry
        self.instruments = instruments
        #: (persona, chatmode, model) as given -> what record_token_usage makes of them.
        self.usage_labels: dict[tuple[str, str, str], _Usage] = {}
        #: ``totals``: this thread's ThreadTotals in ``instruments.sums``.
        self.local = threading.local()


#: The innermost workflow run on this thread or task, set by WorkflowTracer.
current_workflow_run: ContextVar[WorkflowRun | None] = ContextVar(
    "hypertool_current_workflow_run", default=None
)


def _checked_budgets(budgets: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(budgets, Mapping):
        raise ConfigurationError(
            f"budgets: expected a mapping of persona name to tokens, got {type(budgets).__name__}"
        )
    checked = {}
    for persona, tokens in budgets.items():
        if not isinstance(persona, str) or not persona.strip():
            raise ConfigurationError(f"budgets: key {persona!r}: expected a persona name")
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            raise ConfigurationError(
                f"budgets[{persona!r}]: expected a whole number of tokens >= 0, got {tokens!r}"
            )
        checked[persona] = tokens
    return checked


class PersonaMetricsCollector:
    """Records what agents do per persona: the design note's API, exported as OTLP.

    Bad input never raises: label values are cleaned (empty -> "unknown", over 128
    characters truncated, beyond the cardinality limit -> "other") and invalid token
    counts are dropped, each kind logged once and counted.
    """

    def __init__(
        self,
        budgets: Mapping[str, int] | None = None,
        *,
        budgets_file: str | Path | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        """Create a collector.

        Budgets start from the design note's defaults, then the persona-wide entries of the
        budgets file (``budgets_file``, else ``$HYPERTOOL_BUDGETS_FILE``), then
        ``budgets``. A malformed file or mapping raises ConfigurationError here.
        """
        self._budgets = dict(DEFAULT_BUDGETS)
        budgets_file = budgets_file or os.environ.get(ENV_BUDGETS_FILE) or None
        if budgets_file is not None:
            self._budgets.update(persona_budgets(load_budgets(budgets_file)))
        if budgets:
            self._budgets.update(_checked_budgets(budgets))
        # Without an explicit Telemetry, every call uses the current one, so that a
        # configure() after this collector was created still takes effect.
        self._explicit_telemetry = telemetry
        self._binding: _Binding | None = None
        #: Every thread's running totals, for this process's usage per persona.
        self._totals: list[ThreadTotals] = []
        #: Tokens per persona of the totals whose thread has ended.
        self._retired: dict[str, int] = {}
        #: Tokens per persona when reset_budget was called.
        self._reset_at: dict[str, int] = {}
        self._active: _ActivePersona | None = None
        self._lock = threading.Lock()

    @property
    def telemetry(self) -> Telemetry:
        """What this collector records through: the one it was given, else the current one."""
        return self._explicit_telemetry or _telemetry_module.current() or get_telemetry()

    def _bound(self) -> _Binding:
        # One identity check while the telemetry stays the same.
        telemetry = self.telemetry
        binding = self._binding
        if binding is not None and binding.telemetry is telemetry:
            return binding
        return self._adopt(telemetry)

    @property
    def _instruments(self) -> Instruments:
        return self._bound().instruments

    def _adopt(self, telemetry: Telemetry) -> _Binding:
        # Each Telemetry has its own guard: budgeted names are kept out of its cardinality
        # limit whichever Telemetry the collector records through.
        found = telemetry.instruments
        found.guard.reserve(n.PERSONA, self._budgets)
        self._binding = _Binding(telemetry, found)
        return self._binding

    def _thread_totals(self, binding: _Binding) -> ThreadTotals:
        try:
            totals: ThreadTotals = binding.local.totals
        except AttributeError:  # this thread's first measurement through this binding
            totals = binding.local.totals = binding.instruments.sums.new_totals(owner=self)
            with self._lock:
                self._retire_finished()
                self._totals.append(totals)
        return totals

    def _retire_finished(self) -> None:
        # A thread that ended adds nothing more: keep its usage, not its totals.
        for totals in [t for t in self._totals if t.finished()]:
            for labels, count in totals.tokens_used.copy().items():
                self._retired[labels[0]] = self._retired.get(labels[0], 0) + count
            self._totals.remove(totals)

    @property
    def _guard(self) -> Guard:
        return self._instruments.guard

    @property
    def _tracer(self) -> trace.Tracer:
        return self.telemetry.tracer

    # Persona switches and time in persona -------------------------------------------------

    @property
    def current_persona(self) -> str | None:
        """The persona the agent is in now, if any."""
        active = self._active
        return None if active is None else active.persona

    @property
    def current_chatmode(self) -> str | None:
        """The chatmode the current persona was entered with, if any."""
        active = self._active
        return None if active is None else active.chatmode

    def switch_persona(self, from_persona: str | None, to_persona: str, chatmode: str) -> None:
        """Record a switch and start timing ``to_persona``; the persona left is timed now."""
        binding = self._bound()  # once: a configure() meanwhile cannot split it
        telemetry, instruments = binding.telemetry, binding.instruments
        label = instruments.guard.label
        left_name = n.NO_PERSONA if from_persona is None else label(n.PERSONA, from_persona)
        self._warn_if_not_current(instruments.guard, left_name)
        to_name, mode = label(n.PERSONA, to_persona), label(n.CHATMODE, chatmode)
        switches = self._thread_totals(binding).switches
        key = (left_name, to_name, mode)
        switches[key] = switches.get(key, 0) + 1
        trace.get_current_span().add_event(
            "hypertool.persona.switch",
            {
                "hypertool.persona.from": left_name,
                "hypertool.persona.to": to_name,
                n.ATTR_CHATMODE: mode,
            },
        )
        span = telemetry.tracer.start_span(
            f"persona {to_name}",
            attributes={
                n.SPAN_TYPE: n.SPAN_TYPE_PERSONA,
                n.ATTR_PERSONA: to_name,
                n.ATTR_CHATMODE: mode,
                n.GEN_AI_OPERATION_NAME: n.GEN_AI_OPERATION_INVOKE_AGENT,
                n.GEN_AI_AGENT_NAME: to_name,
            },
        )
        self._enter(_ActivePersona(to_name, mode, span, telemetry, current_workflow_run.get()))

    def _warn_if_not_current(self, guard: Guard, left_name: str) -> None:
        current = self._active
        if current is not None and left_name != current.persona:
            guard.warn_once(
                "switch:from",
                "switch_persona(from_persona=%r) while the current persona is %r: the switch "
                "is counted as given, and the time of %r ends now",
                left_name,
                current.persona,
                current.persona,
            )

    def _enter(self, entered: _ActivePersona) -> None:
        with self._lock:
            left, self._active = self._active, entered
            # Under the same lock as the persona itself, so that an end racing with this
            # switch cannot leave an open persona its Telemetry does not know to end.
            if left is None or left.telemetry is not entered.telemetry:
                entered.telemetry.persona_opened(self)
                if left is not None:
                    left.telemetry.persona_closed(self)
        if entered.workflow_run is not None:
            entered.workflow_run.entered_in(self)
        if left is not None:
            left.span.end()

    def end_persona(self) -> None:
        """Stop timing the current persona (done for you when its workflow or process ends)."""
        self._end_if(lambda _active: True)

    def end_persona_opened_by(self, telemetry: Telemetry) -> None:
        """End the current persona if it was entered through ``telemetry`` (it shuts down)."""
        self._end_if(lambda active: active.telemetry is telemetry)

    def _end_persona_of(self, workflow_run: WorkflowRun) -> None:
        self._end_if(lambda active: active.workflow_run is workflow_run)

    def _end_if(self, ends: Callable[[_ActivePersona], bool]) -> None:
        with self._lock:
            active = self._active
            if active is None or not ends(active):
                return
            self._active = None
            active.telemetry.persona_closed(self)
        active.span.end()

    # Tokens and budgets ------------------------------------------------------------------

    def record_token_usage(self, persona: str, chatmode: str, model: str, tokens: int) -> None:
        """Add ``tokens`` to the persona's usage and report what is left of its budget."""
        # The one call agents make in loops: _bound() and _thread_totals() are inlined, and
        # labels seen before cost one dict lookup (see _sums for the rest of the way).
        telemetry = self._explicit_telemetry or _telemetry_module.current() or get_telemetry()
        binding = self._binding
        if binding is None or binding.telemetry is not telemetry:
            binding = self._adopt(telemetry)
        count = tokens if type(tokens) is int and 0 <= tokens <= MAX_TOKENS else None
        if count is None and (count := binding.instruments.guard.tokens(tokens)) is None:
            return
        usage = None
        if type(persona) is str and type(chatmode) is str and type(model) is str:
            usage = binding.usage_labels.get((persona, chatmode, model))
        if usage is None:
            usage = self._usage_of(binding, (persona, chatmode, model))
        labels, budgeted = usage
        try:
            totals: ThreadTotals = binding.local.totals
        except AttributeError:
            totals = self._thread_totals(binding)
        used = totals.tokens_used
        used[labels] = used.get(labels, 0) + count
        run = current_workflow_run.get()
        if run is not None:  # for budgets narrowed to a workflow
            by_run = totals.workflow_tokens
            workflow = binding.instruments.guard.label(n.WORKFLOW, run.workflow_name)
            key = (workflow, labels[0], labels[2])
            by_run[key] = by_run.get(key, 0) + count
        if not budgeted:
            binding.instruments.guard.warn_once(
                "budget:unknown",
                "persona %r has no token budget: its usage is recorded, its remaining "
                "budget is not (add it to the budgets file)",
                labels[0],
            )

    def _usage_of(self, binding: _Binding, raw: tuple[object, object, object]) -> _Usage:
        """Clean labels of a usage, and whether it has a budget; remembered when bounded."""
        guard = binding.instruments.guard
        persona, chatmode, model = raw
        # Budgets go by name, and a budgeted name is reserved: never folded into "other".
        name = guard.text(n.PERSONA, persona)
        labels = (
            guard.label(n.PERSONA, name),
            guard.label(n.CHATMODE, chatmode),
            guard.label(n.MODEL, model),
        )
        usage = (labels, name in self._budgets)
        # A folded label stays folded and an accepted one stays accepted, so the answer
        # holds as long as the guard, that is the binding, does.
        remembered = binding.usage_labels
        if all(type(v) is str for v in raw) and len(remembered) < _MAX_REMEMBERED_USAGES:
            remembered[cast(tuple[str, str, str], raw)] = usage
        return usage

    def _tokens_since_start(self, name: str) -> int:
        """Tokens this collector recorded as persona ``name``, in every thread."""
        with self._lock:
            self._retire_finished()
            total = self._retired.get(name, 0)
            for totals in self._totals:
                total += sum(c for k, c in totals.tokens_used.copy().items() if k[0] == name)
        return total

    def get_remaining_budget(self, persona: str) -> int | None:
        """Tokens this process may still spend as ``persona``; None if it has no budget.

        Per-process: it counts only this process's usage since it started (or since
        ``reset_budget``), against the budgets this collector was given. The fleet-wide
        remaining budget, across every agent process and per budget period, is the
        Prometheus series ``hypertool_persona_token_budget_remaining`` (recording rules
        rendered from budgets.yaml); budgets and alerts go by that one::

            collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 850)
            collector.get_remaining_budget("backend-engineer")  # 1150 with the defaults
        """
        name = self._guard.text(n.PERSONA, persona)
        budget = self._budgets.get(name)
        if budget is None:
            return None
        return budget - (self._tokens_since_start(name) - self._reset_at.get(name, 0))

    def reset_budget(self, persona: str) -> None:
        """Forget the persona's usage in this process, restoring its full budget."""
        name = self._guard.text(n.PERSONA, persona)
        self._reset_at[name] = self._tokens_since_start(name)

    # Stages and quality gates ------------------------------------------------------------

    def record_quality_gate(self, workflow: str, stage: str, passed: bool) -> None:
        """Record one quality-gate result for a stage."""
        binding = self._bound()
        label = binding.instruments.guard.label
        result = n.RESULT_PASSED if passed else n.RESULT_FAILED
        key = (label(n.WORKFLOW, workflow), label(n.STAGE, stage), result)
        gates = self._thread_totals(binding).quality_gate
        gates[key] = gates.get(key, 0) + 1

    @contextmanager
    def track_stage(self, workflow: str, stage: str, persona: str) -> Iterator[Span]:
        """Time a stage as a span; its quality gate passes unless an exception escapes."""
        label = self._guard.label
        workflow, stage, persona = (
            label(n.WORKFLOW, workflow),
            label(n.STAGE, stage),
            label(n.PERSONA, persona),
        )
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
                mark_error(span, exc)
                span.set_attribute(n.ATTR_QUALITY_GATE, n.RESULT_FAILED)
                self.record_quality_gate(workflow, stage, passed=False)
                raise
            span.set_attribute(n.ATTR_QUALITY_GATE, n.RESULT_PASSED)
            self.record_quality_gate(workflow, stage, passed=True)
