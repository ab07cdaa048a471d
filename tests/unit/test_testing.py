"""hypertool_agent.testing: the in-memory helper users test their agents with."""

from __future__ import annotations

import pytest

from hypertool_agent import (
    ConfigurationError,
    PersonaMetricsCollector,
    WorkflowTracer,
    configure,
    get_telemetry,
)
from hypertool_agent.testing import capture_telemetry


def test_capture_reads_back_tokens_and_spans() -> None:
    """Tokens and stage spans recorded inside the block can be read back exactly."""
    collector = PersonaMetricsCollector()  # made before the block: still records into it
    with capture_telemetry() as recorded:
        with WorkflowTracer("release", collector) as run:
            collector.switch_persona(None, "backend-engineer", "code-gen")
            with run.stage_context("version_bump", "backend-engineer"):
                collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 850)
        collector.record_token_usage("testing-specialist", "review", "gpt-4", 650)
    assert recorded.tokens_used() == 1500
    assert recorded.tokens_used(persona="backend-engineer") == 850
    assert recorded.tokens_used(model="gpt-4", chatmode="review") == 650
    assert [s.name for s in recorded.spans("stage")] == ["stage version_bump"]
    assert [s.name for s in recorded.spans("persona")] == ["persona backend-engineer"]


def test_capture_restores_the_telemetry_that_was_current() -> None:
    """After the block, the Telemetry current before it is current again, still usable."""
    before = configure(service_name="outside")
    with capture_telemetry() as recorded:
        assert get_telemetry() is recorded.telemetry
    assert get_telemetry() is before
    before.shutdown()


def test_capture_applies_its_label_limit() -> None:
    """max_label_values bounds personas inside the block as configure() would."""
    with capture_telemetry(max_label_values=1) as recorded:
        collector = PersonaMetricsCollector(budgets={})
        for persona in ("a", "b", "c"):
            collector.record_token_usage(persona, "x", "m", 1)
    assert recorded.tokens_used(persona="a") == 1
    assert recorded.tokens_used(persona="other") == 2


def test_capture_refuses_to_run_with_the_sdk_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_SDK_DISABLED (common in CI) fails loudly instead of making assertions vacuous."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    with pytest.raises(ConfigurationError, match="OTEL_SDK_DISABLED"), capture_telemetry():
        pass
