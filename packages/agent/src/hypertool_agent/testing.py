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

Below it, the pieces of the library that its own tests drive directly, public so that no
test reaches into a private module; each is what the library runs, not a copy:
``build_telemetry`` (a Telemetry that is not made current), ``no_current_telemetry`` (as
in a fresh process), ``refusing_endpoint`` (the probe an exiting agent makes), the spool
(``Spool``, ``tag_delivery``, ``points_in``) and the in-process sums (``Sums``,
``SUMS_LABEL_KEYS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hypertool_agent import _spool, _sums, _telemetry
from hypertool_agent import names as n
from hypertool_agent._spool import Spool
from hypertool_agent._sums import Sums
from hypertool_agent._telemetry import Telemetry
from hypertool_agent.errors import ConfigurationError

__all__ = [
    "SUMS_LABEL_KEYS",
    "RecordedTelemetry",
    "Spool",
    "Sums",
    "build_telemetry",
    "capture_telemetry",
    "no_current_telemetry",
    "points_in",
    "refusing_endpoint",
    "tag_delivery",
]

#: The fields of a Sums' running totals, each with the label keys of its tuples in order:
#: what ``Sums(counters)`` expects ``counters`` to be keyed by.
SUMS_LABEL_KEYS = _sums.LABEL_KEYS

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


def build_telemetry(
    *,
    service_name: str | None = None,
    shutdown_timeout: float | None = None,
    export_interval_ms: int | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    max_label_values: int | None = None,
) -> Telemetry:
    """A Telemetry as ``configure`` makes it, with the same arguments, not made current.

    Pass it to collectors and tracers as ``telemetry=``; the one current stays current.
    Shut it down when done: a provider not passed in is an OTLP one it owns.
    """
    return _telemetry.build(
        service_name=service_name,
        shutdown_timeout=shutdown_timeout,
        export_interval_ms=export_interval_ms,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        max_label_values=max_label_values,
    )


@contextmanager
def no_current_telemetry() -> Iterator[None]:
    """Inside the block no Telemetry is current, as in a fresh process.

    The first use (``get_telemetry()``, a collector made without ``telemetry=``) sets one
    up from the environment, as implicit set-up does: never raising, a bad setting logged
    and nothing recorded. After the block the one set up inside, if any, is shut down, and
    the one current before is current again.
    """
    previous = _telemetry.install(None)
    try:
        yield
    finally:
        inside = _telemetry.install(previous)
        if inside is not None:
            inside.shutdown()


def refusing_endpoint() -> str | None:
    """The OTLP endpoint if nothing listens there (connection refused), else None.

    What an exiting agent asks before its last flush: when the collector refuses, the
    metrics not yet sent go to the spool at once instead of waiting out the bound. Only a
    refusal counts; per-signal endpoints, a malformed endpoint, a timeout or a name that
    does not resolve give None. Reads ``OTEL_EXPORTER_OTLP_ENDPOINT`` as the exporter does.
    """
    return _telemetry._refusing_endpoint()


def tag_delivery(request: ExportMetricsServiceRequest, delivery_id: str) -> None:
    """Name ``request``'s delivery, as every export is named before it is sent.

    Sets ``names.DELIVERY_ID`` on each resource of ``request``, replacing an earlier one;
    the spool keeps it, and the collector's ledger counts each id once.
    """
    _spool.tag(request, delivery_id)


def points_in(request: ExportMetricsServiceRequest) -> int:
    """The data points of ``request``: what the spool counts as dropped when it drops it."""
    return _spool.points_in(request)
