"""Agent hot path: hypertool vs raw OpenTelemetry SDK vs prometheus_client, side by side.

Each contender does the same work per operation and records into a fresh, in-memory
pipeline (no network), so the figures compare the instrumentation itself. Rounds
interleave the contenders, so that machine noise hits all of them alike.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import hypertool_agent
from hypertool_agent import PersonaMetricsCollector

Op = Callable[[], None]


class _Discard(SpanExporter):
    """Ends the spans' journey without keeping them: no memory growth, no I/O."""

    def export(self, spans: Any) -> SpanExportResult:  # noqa: ANN401 - SDK signature
        return SpanExportResult.SUCCESS


def _providers() -> tuple[TracerProvider, MeterProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_Discard()))
    reader = InMemoryMetricReader(preferred_temporality=hypertool_agent.PREFERRED_TEMPORALITY)
    return tracer_provider, MeterProvider(metric_readers=[reader])


def _hypertool() -> dict[str, Op]:
    tracer_provider, meter_provider = _providers()
    telemetry = hypertool_agent.configure(
        tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    collector = PersonaMetricsCollector(telemetry=telemetry)
    personas = ("backend-engineer", "testing-specialist")
    state = {"i": 0}

    def record() -> None:
        collector.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 850)

    def switch() -> None:
        state["i"] ^= 1
        collector.switch_persona(personas[state["i"] ^ 1], personas[state["i"]], "code-gen")

    def stage() -> None:
        with collector.track_stage("package_release", "version_bump", "backend-engineer"):
            pass

    return {"record_token_usage": record, "switch_persona": switch, "stage_with_gate": stage}


def _raw_otel() -> dict[str, Op]:
    """The same signals with the SDK alone: what an expert would write by hand."""
    tracer_provider, meter_provider = _providers()
    meter = meter_provider.get_meter("raw")
    tracer = tracer_provider.get_tracer("raw")
    tokens = meter.create_counter("hypertool.persona.tokens_used")
    switches = meter.create_counter("hypertool.persona.switches")
    gates = meter.create_counter("hypertool.workflow.quality_gate")
    personas = ("backend-engineer", "testing-specialist")
    state: dict[str, Any] = {"i": 0, "span": None}

    def record() -> None:
        tokens.add(850, {"persona": "backend-engineer", "chatmode": "code-gen", "model": "gpt-4o"})

    def switch() -> None:
        state["i"] ^= 1
        to = personas[state["i"]]
        left = personas[state["i"] ^ 1]
        switches.add(1, {"from_persona": left, "to_persona": to, "chatmode": "code-gen"})
        trace.get_current_span().add_event(
            "hypertool.persona.switch",
            {
                "hypertool.persona.from": left,
                "hypertool.persona.to": to,
                "hypertool.persona.chatmode": "code-gen",
            },
        )
        span = tracer.start_span(
            f"persona {to}",
            attributes={
                "hypertool.span.type": "persona",
                "hypertool.persona.name": to,
                "hypertool.persona.chatmode": "code-gen",
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": to,
            },
        )
        if state["span"] is not None:
            state["span"].end()
        state["span"] = span

    def stage() -> None:
        with tracer.start_as_current_span(
            "stage version_bump",
            attributes={
                "hypertool.span.type": "stage",
                "hypertool.workflow.name": "package_release",
                "hypertool.stage.name": "version_bump",
                "hypertool.persona.name": "backend-engineer",
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "backend-engineer",
            },
        ) as span:
            span.set_attribute("hypertool.quality_gate.result", "passed")
            gates.add(
                1, {"workflow": "package_release", "stage": "version_bump", "result": "passed"}
            )

    return {"record_token_usage": record, "switch_persona": switch, "stage_with_gate": stage}


def _prometheus_client() -> dict[str, Op]:
    """The seed's approach: in-process prometheus_client metrics in a fresh registry."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    registry = CollectorRegistry()
    tokens = Counter(
        "hypertool_persona_tokens_used", "", ["persona", "chatmode", "model"], registry=registry
    )
    remaining = Gauge(
        "hypertool_persona_token_budget_remaining", "", ["persona"], registry=registry
    )
    switches = Counter(
        "hypertool_persona_switches",
        "",
        ["from_persona", "to_persona", "chatmode"],
        registry=registry,
    )
    durations = Histogram(
        "hypertool_persona_duration_seconds", "", ["persona", "chatmode"], registry=registry
    )
    stages = Histogram(
        "hypertool_workflow_stage_duration_seconds",
        "",
        ["workflow", "stage", "persona"],
        registry=registry,
    )
    gates = Counter(
        "hypertool_workflow_quality_gate", "", ["workflow", "stage", "result"], registry=registry
    )
    personas = ("backend-engineer", "testing-specialist")
    state: dict[str, Any] = {"i": 0, "entered": time.perf_counter(), "used": 0}

    def record() -> None:
        tokens.labels("backend-engineer", "code-gen", "gpt-4o").inc(850)
        state["used"] += 850
        remaining.labels("backend-engineer").set(2000 - state["used"])

    def switch() -> None:
        state["i"] ^= 1
        now = time.perf_counter()
        durations.labels(personas[state["i"] ^ 1], "code-gen").observe(now - state["entered"])
        state["entered"] = now
        switches.labels(personas[state["i"] ^ 1], personas[state["i"]], "code-gen").inc()

    def stage() -> None:
        started = time.perf_counter()
        stages.labels("package_release", "version_bump", "backend-engineer").observe(
            time.perf_counter() - started
        )
        gates.labels("package_release", "version_bump", "passed").inc()

    return {"record_token_usage": record, "switch_persona": switch, "stage_with_gate": stage}


def _plain_dict() -> dict[str, Op]:
    """The floor: adding to a dict keyed by the label tuple, nothing else."""
    usage: dict[tuple[str, str, str], int] = {}
    key = ("backend-engineer", "code-gen", "gpt-4o")

    def record() -> None:
        usage[key] = usage.get(key, 0) + 850

    return {"record_token_usage": record}


def _ns_per_op(op: Op, count: int) -> float:
    gc.disable()
    try:
        started = time.perf_counter_ns()
        for _ in range(count):
            op()
        return (time.perf_counter_ns() - started) / count
    finally:
        gc.enable()


def run(count: int = 20_000, rounds: int = 7) -> dict[str, dict[str, float]]:
    """Median ns/op per operation and contender, rounds interleaved."""
    contenders = {
        "hypertool": _hypertool(),
        "raw_otel": _raw_otel(),
        "prometheus_client": _prometheus_client(),
        "plain_dict": _plain_dict(),
    }
    samples: dict[str, dict[str, list[float]]] = {c: {} for c in contenders}
    for name, ops in contenders.items():  # warm-up: caches, first label sets
        for op_name, op in ops.items():
            _ns_per_op(op, count // 10)
            samples[name][op_name] = []
    names = list(contenders)
    for round_number in range(rounds):
        # Rotate who goes first, so that no contender always follows the same one.
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for op_name in contenders["hypertool"]:
            for name in order:
                if op_name in contenders[name]:
                    samples[name][op_name].append(_ns_per_op(contenders[name][op_name], count))
    return {
        name: {op: statistics.median(v) for op, v in ops.items()} for name, ops in samples.items()
    }
