"""Agent telemetry set-up: standard variables, no-op when disabled, bounded exit.

In-process; how a real agent process exits (collector down, hanging or absent, the
application's own providers) is in tests/integration/test_agent_processes.py.
"""

from __future__ import annotations

import gc
import socket
import weakref

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hypertool_agent import (
    ConfigurationError,
    ObservableLLM,
    PersonaMetricsCollector,
    Usage,
    WorkflowTracer,
    configure,
    get_telemetry,
)
from hypertool_agent.testing import no_current_telemetry, refusing_endpoint
from tests.conftest import free_ports
from tests.unit.conftest import Recorded


def test_sdk_disabled_makes_everything_a_noop(monkeypatch: pytest.MonkeyPatch) -> None:
    """With OTEL_SDK_DISABLED=true the agent records nothing and every call still works."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    telemetry = configure()
    assert telemetry.enabled is False
    collector = PersonaMetricsCollector(telemetry=telemetry)
    collector.switch_persona(None, "backend-engineer", "code-gen")
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 10)
    with collector.track_stage("wf", "stage", "backend-engineer") as span:
        assert span.is_recording() is False
    assert collector.get_remaining_budget("backend-engineer") == 1990
    with WorkflowTracer("wf", collector, telemetry=telemetry) as tracer:
        assert tracer.run_stage("s", "backend-engineer", lambda: 7) == 7
    with ObservableLLM(collector).call("gpt-4o") as call:
        assert call.record(usage=Usage(1, 2)) == Usage(1, 2)


def test_a_refusal_is_only_what_a_refused_connection_says() -> None:
    """Per-signal endpoints, malformed endpoints and listening ones are not called refusing."""
    (port,) = free_ports(1)
    cases = {
        f"http://127.0.0.1:{port}": f"http://127.0.0.1:{port}",
        f"127.0.0.1:{port}": f"127.0.0.1:{port}",
        "http://127.0.0.1:notaport": None,
        "http://": None,
    }
    with pytest.MonkeyPatch.context() as mp:
        for endpoint, expected in cases.items():
            mp.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            assert refusing_endpoint() == expected, endpoint
        mp.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"http://127.0.0.1:{port}")
        assert refusing_endpoint() is None
        mp.delenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        with socket.socket() as listening:
            listening.bind(("127.0.0.1", 0))
            listening.listen(1)
            mp.setenv(
                "OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{listening.getsockname()[1]}"
            )
            assert refusing_endpoint() is None


def test_implicit_setup_with_a_bad_setting_records_nothing_but_never_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without configure(), a bad variable is logged and the agent turns into a no-op."""
    monkeypatch.setenv("HYPERTOOL_SHUTDOWN_TIMEOUT", "-1")
    with no_current_telemetry():
        collector = PersonaMetricsCollector()
        collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 5)
        assert get_telemetry().enabled is False
    assert "HYPERTOOL_SHUTDOWN_TIMEOUT='-1'" in caplog.text
    assert "recording nothing in this process" in caplog.text


def test_bad_shutdown_timeout_fails_at_configuration_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed HYPERTOOL_SHUTDOWN_TIMEOUT is a configuration error naming the variable."""
    monkeypatch.setenv("HYPERTOOL_SHUTDOWN_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="HYPERTOOL_SHUTDOWN_TIMEOUT='soon'"):
        configure()


def test_telemetry_owns_instruments_and_the_personas_left_open(recorded: Recorded) -> None:
    """Collectors share one set of instruments; a persona left open is ended at shutdown."""
    idle, busy = PersonaMetricsCollector(), PersonaMetricsCollector()
    idle.record_token_usage("backend-engineer", "code-gen", "gpt-4", 1)
    busy.switch_persona(None, "backend-engineer", "code-gen")
    assert recorded.telemetry.instruments is recorded.telemetry.instruments
    idle_ref, busy_ref = weakref.ref(idle), weakref.ref(busy)
    del idle, busy
    gc.collect()
    assert idle_ref() is None  # nothing open: nothing keeps it
    assert busy_ref() is not None  # its persona is still being timed
    recorded.telemetry.shutdown()
    assert [s.name for s in recorded.spans("persona")] == ["persona backend-engineer"]
    gc.collect()
    assert busy_ref() is None


def test_a_replaced_telemetry_ends_its_personas_and_is_freed() -> None:
    """configure() again: the old Telemetry ends what was opened through it and is let go."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    old = weakref.ref(configure(tracer_provider=tracer_provider, meter_provider=MeterProvider()))
    collector = PersonaMetricsCollector()
    collector.switch_persona(None, "backend-engineer", "code-gen")
    configure(tracer_provider=tracer_provider, meter_provider=MeterProvider())
    assert [s.name for s in exporter.get_finished_spans()] == ["persona backend-engineer"]
    collector.switch_persona(None, "testing-specialist", "review")
    gc.collect()
    assert old() is None
    assert collector.current_persona == "testing-specialist"


def test_exit_hooks_run_once_at_shutdown_after_open_personas_end(recorded: Recorded) -> None:
    """add_exit_hook: run at shutdown, after personas are ended, and only once."""
    collector = PersonaMetricsCollector()
    collector.switch_persona(None, "backend-engineer", "code-gen")
    seen: list[int] = []
    recorded.telemetry.add_exit_hook(lambda: seen.append(len(recorded.spans("persona"))))
    recorded.telemetry.shutdown()
    recorded.telemetry.shutdown()
    assert seen == [1]
