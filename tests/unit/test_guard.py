"""Bad input never crashes: each kind is logged once, then dropped or fixed as documented."""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from hypertool_agent import PersonaMetricsCollector, configure
from hypertool_agent import names as n
from tests.unit.conftest import Recorded, attrs

TOKENS = n.TOKENS_USED.otel_name
DROPPED = n.DROPPED_MEASUREMENTS.otel_name


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (-5, "negative"),
        (-0.5, "negative"),
        (math.nan, "not_finite"),
        (math.inf, "not_finite"),
        ("lots", "not_a_number"),
        (True, "not_a_number"),
        (None, "not_a_number"),
        ([850], "not_a_number"),
    ],
)
def test_invalid_token_counts_are_dropped_and_counted(
    recorded: Recorded, given: object, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A token count that is not a number >= 0 records nothing but a dropped measurement."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", given)  # type: ignore[arg-type]
    assert recorded.points(TOKENS) == {}
    assert recorded.points(DROPPED) == {attrs(reason=reason): 1}
    assert collector.get_remaining_budget("backend-engineer") == 2000
    assert f"({reason})" in caplog.text


@pytest.mark.parametrize(
    ("given", "recorded_as"),
    [
        (850, 850),
        ("850", 850),
        (" 12 ", 12),
        (12.4, 12),
        (12.6, 13),
        ("7.0", 7),
        (Decimal(9), 9),
        (Fraction(5, 2), 2),
        (0, 0),
    ],
)
def test_usable_token_counts_are_recorded_as_whole_numbers(
    recorded: Recorded, given: object, recorded_as: int
) -> None:
    """Numeric strings are parsed and fractions rounded to the nearest whole number."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", given)  # type: ignore[arg-type]
    assert recorded.points(TOKENS) == {
        attrs(persona="backend-engineer", chatmode="code-gen", model="gpt-4"): recorded_as
    }
    assert collector.get_remaining_budget("backend-engineer") == 2000 - recorded_as


def test_each_kind_of_bad_input_is_logged_once(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    """A thousand negative counts produce one warning, and all thousand are counted."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    with caplog.at_level(logging.WARNING, logger="hypertool_agent"):
        for _ in range(1000):
            collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", -1)
    assert len([r for r in caplog.records if "negative" in r.getMessage()]) == 1
    assert recorded.points(DROPPED) == {attrs(reason="negative"): 1000}


@pytest.mark.parametrize(
    ("persona", "label"),
    [
        (None, "unknown"),
        ("", "unknown"),
        ("   ", "unknown"),
        (42, "42"),
        (b"bytes-persona", "bytes-persona"),
        ("  padded  ", "padded"),
        ("x" * 10_000, "x" * 128),
    ],
)
def test_odd_persona_names_become_usable_labels(
    recorded: Recorded, persona: object, label: str
) -> None:
    """Empty, non-string, padded and huge names are recorded under a clean label."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.record_token_usage(persona, "code-gen", "gpt-4", 10)  # type: ignore[arg-type]
    collector.switch_persona(None, persona, "code-gen")  # type: ignore[arg-type]
    assert recorded.points(TOKENS) == {attrs(persona=label, chatmode="code-gen", model="gpt-4"): 10}
    switches = recorded.points(n.PERSONA_SWITCHES.otel_name)
    assert switches == {attrs(from_persona="none", to_persona=label, chatmode="code-gen"): 1}


def test_unknown_personas_are_recorded_without_a_budget(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    """Usage of a persona with no budget counts; it has no remaining budget and one warning."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.record_token_usage("security-auditor", "audit", "gpt-4", 300)
    collector.record_token_usage("release-manager", "audit", "gpt-4", 200)
    assert recorded.points(TOKENS) == {
        attrs(persona="security-auditor", chatmode="audit", model="gpt-4"): 300,
        attrs(persona="release-manager", chatmode="audit", model="gpt-4"): 200,
    }
    assert collector.get_remaining_budget("security-auditor") is None
    assert caplog.text.count("has no token budget") == 1


def test_ten_thousand_distinct_names_fold_into_other(recorded: Recorded) -> None:
    """Beyond the limit, new persona and model names are recorded as "other"."""
    telemetry = configure(
        tracer_provider=recorded.tracer_provider,
        meter_provider=recorded.meter_provider,
        max_label_values=50,
    )
    collector = PersonaMetricsCollector(telemetry=telemetry)
    for i in range(10_000):
        collector.record_token_usage(f"persona-{i}", "bulk", f"model-{i}", 1)
    points = recorded.points(TOKENS)
    personas = {dict(k)["persona"] for k in points}
    models = {dict(k)["model"] for k in points}
    assert len(personas) == 51
    assert len(models) == 51
    assert "other" in personas
    assert "other" in models
    assert sum(points.values()) == 10_000  # folded, never lost
    telemetry.shutdown()


def test_bad_label_limit_fails_at_configuration_time() -> None:
    """A label limit below one is refused when configuring, naming the setting."""
    from hypertool_agent import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_label_values=0"):
        configure(max_label_values=0)


def test_absurdly_large_counts_are_dropped_so_exports_keep_working(recorded: Recorded) -> None:
    """A count too large for an exact double is dropped, and later counts still export."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 10**30)
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", "1e30")  # type: ignore[arg-type]
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 5)
    assert recorded.points(DROPPED) == {attrs(reason="too_large"): 2}
    assert recorded.points(TOKENS) == {
        attrs(persona="backend-engineer", chatmode="code-gen", model="gpt-4"): 5
    }
    assert collector.get_remaining_budget("backend-engineer") == 1995


def test_budgets_follow_the_clean_name_whatever_the_label_limit(recorded: Recorded) -> None:
    """Padded names and personas beyond the label limit still spend their own budget."""
    telemetry = configure(
        tracer_provider=recorded.tracer_provider,
        meter_provider=recorded.meter_provider,
        max_label_values=3,
    )
    collector = PersonaMetricsCollector(telemetry=telemetry)
    for i in range(10):
        collector.record_token_usage(f"filler-{i}", "x", "gpt-4", 1)
    collector.record_token_usage(" data-scientist ", "x", "gpt-4", 500)
    assert collector.get_remaining_budget("data-scientist") == 1200
    assert collector.get_remaining_budget("  data-scientist") == 1200
    # Budgeted personas are never folded into "other", whatever the limit.
    personas = {dict(k)["persona"] for k in recorded.points(TOKENS)}
    assert "data-scientist" in personas
    assert collector.get_remaining_budget(["not", "a", "name"]) is None  # type: ignore[arg-type]
    collector.reset_budget({})  # type: ignore[arg-type]
    telemetry.shutdown()


def test_a_name_whose_str_raises_is_recorded_as_unknown(recorded: Recorded) -> None:
    """An object with a broken __str__ as a persona cannot break the caller."""

    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.record_token_usage(Broken(), "x", "gpt-4", 1)  # type: ignore[arg-type]
    assert recorded.points(TOKENS) == {attrs(persona="unknown", chatmode="x", model="gpt-4"): 1}


def test_budgeted_personas_stay_unfolded_after_configure(recorded: Recorded) -> None:
    """A collector made before configure() still keeps its budgeted personas out of "other"."""
    collector = PersonaMetricsCollector()  # follows the current Telemetry
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = configure(
        tracer_provider=recorded.tracer_provider, meter_provider=meter_provider, max_label_values=2
    )
    after = Recorded(
        telemetry, reader, recorded.spans_exporter, recorded.tracer_provider, meter_provider
    )
    for i in range(5):
        collector.record_token_usage(f"filler-{i}", "x", "gpt-4", 1)
    collector.record_token_usage("data-scientist", "x", "gpt-4", 500)
    by_persona = {dict(k)["persona"]: v for k, v in after.points(TOKENS).items()}
    assert by_persona == {"filler-0": 1, "filler-1": 1, "other": 3, "data-scientist": 500}
