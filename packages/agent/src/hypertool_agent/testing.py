"""Test helpers for code instrumented with hypertool_agent: record in memory, read back.

``capture_telemetry`` makes an in-memory Telemetry the current one for the duration of a
``with`` block; everything the code under test records can be read back as plain values,
with no collector and no network::

    from hypertool_agent import PersonaMetricsCollector
    from hypertool_agent.testing import capture_telemetry

    def test_my_agent_spends_tokens() -> None:
        with capture_telemetry() as recorded:
            run_my_agent(PersonaMetricsCollector())
        assert recorded.tokens_used(persona="backend-engineer") == 850
        assert [s.name for s in recorded.spans("stage")] == ["stage version_bump"]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hypertool_agent import _telemetry
from hypertool_agent import names as n
from hypertool_agent._telemetry import Telemetry
from hypertool_agent.errors import ConfigurationError

__all__ = ["RecordedTelemetry", "capture_telemetry"]

#: A data point's attributes, as the keys of ``RecordedTelemetry.points``.
Attributes = frozenset[tuple[str, object]]


@dataclass
class RecordedTelemetry:
    """What the agent recorded in memory, read back as plain values."""

    telemetry: Telemetry
    reader: InMemoryMetricReader
    spans_exporter: InMemorySpanExporter
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def points(self, otel_name: str) -> dict[Attributes, Any]:
        """The value of each data point of one metric, keyed by its attributes.

        Counters read as their total so far, histograms as their data point.
        """
        data = self.reader.get_metrics_data()
        found: dict[Attributes, Any] = {}
        for rm in data.resource_metrics if data is not None else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == otel_name:
                        for point in metric.data.data_points:
                            key = frozenset((point.attributes or {}).items())
                            found[key] = getattr(point, "value", point)
        return found

    def tokens_used(self, **labels: str) -> float:
        """Tokens recorded so far under labels that include ``labels``."""
        wanted = set(labels.items())
        return sum(
            float(value)
            for key, value in self.points(n.TOKENS_USED.otel_name).items()
            if wanted <= key
        )

    def spans(self, span_type: str | None = None) -> list[ReadableSpan]:
        """Finished spans, optionally only those of one type (stage, persona, llm_call...)."""
        spans = list(self.spans_exporter.get_finished_spans())
        if span_type is None:
            return spans
        return [s for s in spans if (s.attributes or {}).get(n.SPAN_TYPE) == span_type]


@contextmanager
def capture_telemetry(*, max_label_values: int | None = None) -> Iterator[RecordedTelemetry]:
    """Make an in-memory Telemetry current inside the block; restore the previous after.

    Collectors created without an explicit ``telemetry`` record into it, whenever they
    were created; a WorkflowTracer records through the Telemetry current when it was
    created, so create tracers inside the block. At the end of the block personas still
    open are ended (their spans can still be read), and the Telemetry that was current
    before is current again.

    With ``OTEL_SDK_DISABLED=true`` the SDK records nothing, and assertions on what was
    recorded would pass or fail for the wrong reason: that raises ConfigurationError.
    """
    if _telemetry.sdk_disabled():
        raise ConfigurationError(
            "capture_telemetry: OTEL_SDK_DISABLED=true turns the OpenTelemetry SDK off, so "
            "nothing would be recorded; unset it for the tests that read telemetry"
        )
    reader = InMemoryMetricReader()  # cumulative: tests read totals, not deltas
    exporter = InMemorySpanExporter()
    # Not shut down at exit: they live as long as the RecordedTelemetry reading them.
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    telemetry = _telemetry.build(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        max_label_values=max_label_values,
    )
    previous = _telemetry.install(telemetry)
    try:
        yield RecordedTelemetry(telemetry, reader, exporter, tracer_provider, meter_provider)
    finally:
        telemetry.shutdown()
        _telemetry.install(previous)
