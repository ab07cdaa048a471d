"""Fixtures for in-process tests: fresh in-memory providers for every test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hypertool_agent import Telemetry, configure


@dataclass
class Recorded:
    """In-memory telemetry: what the agent exported, read back as plain values."""

    telemetry: Telemetry
    reader: InMemoryMetricReader
    spans_exporter: InMemorySpanExporter
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def points(self, otel_name: str) -> dict[frozenset[tuple[str, Any]], Any]:
        """Data points of one metric, keyed by their attribute sets."""
        data = self.reader.get_metrics_data()
        found: dict[frozenset[tuple[str, Any]], Any] = {}
        if data is None:
            return found
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == otel_name:
                        for point in metric.data.data_points:
                            key = frozenset((point.attributes or {}).items())
                            found[key] = getattr(point, "value", point)
        return found

    def spans(self, span_type: str | None = None) -> list[ReadableSpan]:
        """Finished spans, optionally only those of one hypertool span type."""
        spans = list(self.spans_exporter.get_finished_spans())
        if span_type is None:
            return spans
        return [s for s in spans if (s.attributes or {}).get("hypertool.span.type") == span_type]


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """A Telemetry over fresh in-memory providers, installed as the process default."""
    reader = InMemoryMetricReader()
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = configure(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield Recorded(telemetry, reader, exporter, tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()


def attrs(**labels: str) -> frozenset[tuple[str, str]]:
    """An attribute set as Recorded.points keys it."""
    return frozenset(labels.items())
