"""PersonaMetricsCollector: exported values, spans and budgets, read from in-memory providers."""

from __future__ import annotations

import threading

import pytest
from opentelemetry.trace import StatusCode

from hypertool_agent import DEFAULT_BUDGETS, PersonaMetricsCollector
from hypertool_agent import names as n
from tests.unit.conftest import Recorded, attrs


def test_seed_default_budgets() -> None:
    """The defaults are the seed's six personas and budgets."""
    assert dict(DEFAULT_BUDGETS) == {
        "backend-engineer": 2000,
        "frontend-engineer": 1800,
        "devops-engineer": 1800,
        "testing-specialist": 1500,
        "observability-expert": 2000,
        "data-scientist": 1700,
    }


def test_record_token_usage_exports_tokens_and_tracks_the_budget(recorded: Recorded) -> None:
    """Tokens add up per label set; the process's own budget view is budget minus usage."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 850)
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 100)
    collector.record_token_usage("backend-engineer", "code-gen", "claude", 50)

    tokens = recorded.points(n.TOKENS_USED.otel_name)
    assert tokens == {
        attrs(persona="backend-engineer", chatmode="code-gen", model="gpt-4"): 950,
        attrs(persona="backend-engineer", chatmode="code-gen", model="claude"): 50,
    }
    assert collector.get_remaining_budget("backend-engineer") == 1000
    # Outside a workflow run there is no workflow to charge.
    assert recorded.points(n.WORKFLOW_TOKENS.otel_name) == {}


def test_budget_can_go_negative_and_reset_restores_it(recorded: Recorded) -> None:
    """Overspending shows as a negative remainder; reset_budget restores the full budget."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.record_token_usage("testing-specialist", "qa", "gpt-4", 1600)
    assert collector.get_remaining_budget("testing-specialist") == -100
    collector.reset_budget("testing-specialist")
    assert collector.get_remaining_budget("testing-specialist") == 1500


def test_budgets_can_be_overridden_and_extended(recorded: Recorded) -> None:
    """Budgets given to the collector replace the defaults for those personas only."""
    collector = PersonaMetricsCollector(
        {"backend-engineer": 5000, "security-auditor": 900}, telemetry=recorded.telemetry
    )
    assert collector.get_remaining_budget("backend-engineer") == 5000
    assert collector.get_remaining_budget("security-auditor") == 900
    assert collector.get_remaining_budget("devops-engineer") == 1800
    assert collector.get_remaining_budget("no-such-persona") is None


def test_switches_count_with_none_for_the_first_persona(recorded: Recorded) -> None:
    """The first switch has from_persona "none", so every switch carries all three labels."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.switch_persona(None, "backend-engineer", "feature-dev")
    collector.switch_persona("backend-engineer", "frontend-engineer", "feature-dev")
    collector.switch_persona("frontend-engineer", "backend-engineer", "feature-dev")
    collector.switch_persona("backend-engineer", "frontend-engineer", "feature-dev")
    switches = recorded.points(n.PERSONA_SWITCHES.otel_name)
    assert switches == {
        attrs(from_persona="none", to_persona="backend-engineer", chatmode="feature-dev"): 1,
        attrs(
            from_persona="backend-engineer", to_persona="frontend-engineer", chatmode="feature-dev"
        ): 2,
        attrs(
            from_persona="frontend-engineer", to_persona="backend-engineer", chatmode="feature-dev"
        ): 1,
    }
    assert collector.current_persona == "frontend-engineer"


def test_leaving_a_persona_ends_its_span_with_its_own_chatmode(recorded: Recorded) -> None:
    """Each persona's span ends when it is left and carries the chatmode it was entered with."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.switch_persona(None, "backend-engineer", "backend-dev")
    collector.switch_persona("backend-engineer", "testing-specialist", "testing")
    ended = recorded.spans(n.SPAN_TYPE_PERSONA)
    assert [(s.attributes or {}).get(n.ATTR_PERSONA) for s in ended] == ["backend-engineer"]
    assert (ended[0].attributes or {}).get(n.ATTR_CHATMODE) == "backend-dev"
    collector.end_persona()
    ended = recorded.spans(n.SPAN_TYPE_PERSONA)
    assert [(s.attributes or {}).get(n.ATTR_CHATMODE) for s in ended] == ["backend-dev", "testing"]
    assert collector.current_persona is None


def test_the_last_persona_is_timed_at_shutdown(recorded: Recorded) -> None:
    """A persona still open when telemetry shuts down (process exit) is ended, not lost."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.switch_persona(None, "devops-engineer", "devops")
    assert recorded.spans(n.SPAN_TYPE_PERSONA) == []
    recorded.telemetry.shutdown()
    ended = recorded.spans(n.SPAN_TYPE_PERSONA)
    assert [(s.attributes or {}).get(n.ATTR_PERSONA) for s in ended] == ["devops-engineer"]


def test_track_stage_passes_its_gate_and_times_a_span(recorded: Recorded) -> None:
    """A stage without an exception records a passed gate and a stage span with its labels."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    with collector.track_stage("package_release", "version_bump", "backend-engineer"):
        pass
    gates = recorded.points(n.QUALITY_GATE.otel_name)
    assert gates == {attrs(workflow="package_release", stage="version_bump", result="passed"): 1}
    (span,) = recorded.spans(n.SPAN_TYPE_STAGE)
    assert span.attributes is not None
    assert span.attributes[n.ATTR_WORKFLOW] == "package_release"
    assert span.attributes[n.ATTR_STAGE] == "version_bump"
    assert span.attributes[n.ATTR_PERSONA] == "backend-engineer"
    assert span.attributes[n.ATTR_QUALITY_GATE] == "passed"
    assert span.status.status_code is StatusCode.UNSET


def test_track_stage_fails_its_gate_when_an_exception_escapes(recorded: Recorded) -> None:
    """An escaping exception fails the gate, marks the span as an error and is re-raised."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    with (
        pytest.raises(ValueError, match="broken build"),
        collector.track_stage("package_release", "quality_validation", "testing-specialist"),
    ):
        raise ValueError("broken build")
    gates = recorded.points(n.QUALITY_GATE.otel_name)
    assert gates == {
        attrs(workflow="package_release", stage="quality_validation", result="failed"): 1
    }
    (span,) = recorded.spans(n.SPAN_TYPE_STAGE)
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]


def test_explicit_quality_gate_results(recorded: Recorded) -> None:
    """record_quality_gate counts passed and failed results separately."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.record_quality_gate("bug_fix", "regression_tests", passed=True)
    collector.record_quality_gate("bug_fix", "regression_tests", passed=False)
    collector.record_quality_gate("bug_fix", "regression_tests", passed=False)
    assert recorded.points(n.QUALITY_GATE.otel_name) == {
        attrs(workflow="bug_fix", stage="regression_tests", result="passed"): 1,
        attrs(workflow="bug_fix", stage="regression_tests", result="failed"): 2,
    }


def test_a_persona_racing_with_its_end_is_still_ended_at_shutdown(recorded: Recorded) -> None:
    """Switches and ends from many threads leave no open persona its Telemetry forgets."""
    collector = PersonaMetricsCollector()

    def churn(i: int) -> None:
        for j in range(200):
            collector.switch_persona(None, f"p{(i + j) % 3}", "x")
            if j % 3 == i % 3:
                collector.end_persona()

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorded.telemetry.shutdown()
    assert collector.current_persona is None
    assert len(recorded.spans("persona")) == 800  # every persona entered was ended
