"""Short-lived agent processes: nothing lost at exit, and no misconfiguration inflates totals."""

from __future__ import annotations

import pytest

from tests.conftest import NativeStack

pytestmark = pytest.mark.e2e

JOB = 'job="hypertool-collector"'


def tokens(native_stack: NativeStack, persona: str, expected: float) -> float | None:
    """The persona's total in Prometheus once it reaches ``expected`` (or the last value)."""
    result = native_stack.prometheus.wait_for(
        f'sum(hypertool_persona_tokens_used_total{{{JOB},persona="{persona}"}})',
        lambda r: bool(r) and r[0].value == expected,
        timeout=20,
    )
    return result[0].value if result else None


def test_exit_without_flush_loses_nothing(native_stack: NativeStack) -> None:
    """A process that records and simply ends has its data exported by the exit hook."""
    native_stack.run_python(
        """
        from hypertool_agent import PersonaMetricsCollector
        c = PersonaMetricsCollector()
        for tokens in (100, 250, 7):
            c.record_token_usage("exit-persona", "cli", "gpt-4", tokens)
        """,
    )
    assert tokens(native_stack, "exit-persona", 357) == 357


def test_cumulative_preference_in_the_environment_does_not_change_the_totals(
    native_stack: NativeStack,
) -> None:
    """OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative cannot double-count."""
    code = """
        from hypertool_agent import PersonaMetricsCollector, get_telemetry
        c = PersonaMetricsCollector()
        c.record_token_usage("pref-persona", "cli", "gpt-4", 40)
        get_telemetry().flush()   # an export mid-run, so a cumulative sender would resend 40
        c.record_token_usage("pref-persona", "cli", "gpt-4", 2)
        """
    for _ in range(3):
        native_stack.run_python(
            code, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative"
        )
    assert tokens(native_stack, "pref-persona", 126) == 126


def test_cumulative_counters_from_a_foreign_sdk_are_rejected_and_counted(
    native_stack: NativeStack,
) -> None:
    """Cumulative points are kept out of the totals and show up as rejected points."""
    native_stack.run_python(
        """
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        reader = PeriodicExportingMetricReader(OTLPMetricExporter())  # cumulative by default
        provider = MeterProvider(metric_readers=[reader])
        counter = provider.get_meter("foreign").create_counter("hypertool.persona.tokens_used")
        counter.add(5000, {"persona": "foreign-persona", "chatmode": "x", "model": "y"})
        provider.shutdown()
        """,
    )
    rejected = native_stack.prometheus.wait_for(
        f"sum(hypertool_pipeline_rejected_points_total{{{JOB}}})",
        lambda r: bool(r) and r[0].value >= 1,
        timeout=20,
    )
    assert rejected[0].value == 1
    assert (
        native_stack.prometheus.query(
            'hypertool_persona_tokens_used_total{persona="foreign-persona"}'
        )
        == []
    )
