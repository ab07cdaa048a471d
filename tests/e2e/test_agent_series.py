"""Varied demo traffic and bad input through the real collector: LLM series, guard, limits."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hypertool_agent import names as n
from tests.conftest import NativeStack, Sample

pytestmark = pytest.mark.e2e

JOB = 'job="hypertool-collector"'


def by(samples: list[Sample], *keys: str) -> dict[tuple[str, ...], float]:
    """Index samples by the values of ``keys``."""
    return {tuple(s.labels[k] for k in keys): s.value for s in samples}


@pytest.fixture(scope="module")
def runs(native_stack: NativeStack) -> list[dict[str, Any]]:
    """All three workflows, varied, from two processes (one of them runs twice)."""
    emitted = [
        native_stack.run_demo("--seed", "7", "--count", "2"),
        native_stack.run_demo("--seed", "8"),
    ]
    calls = sum(len(r["llm_calls"]) for r in emitted)
    native_stack.prometheus.wait_for(
        f"sum(hypertool_llm_call_duration_seconds_count{{{JOB}}})",
        lambda r: bool(r) and r[0].value == calls,
    )
    tokens = sum(t["tokens"] for r in emitted for t in r["tokens"])
    native_stack.prometheus.wait_for(
        f"sum(hypertool_persona_tokens_used_total{{{JOB}}})",
        lambda r: bool(r) and r[0].value == tokens,
    )
    return emitted


def test_varied_demo_covers_three_workflows_and_failing_gates(runs: list[dict[str, Any]]) -> None:
    """The varied demo runs all three seed workflows, with some gates failing and retried."""
    workflows = {g["workflow"] for r in runs for g in r["quality_gates"]}
    assert workflows == {"package_release", "feature_implementation", "bug_fix"}
    results = Counter(g["result"] for r in runs for g in r["quality_gates"])
    assert results[n.RESULT_FAILED] >= 1
    assert results[n.RESULT_PASSED] == 9 * 3  # every stage of every run passes in the end


def test_seed_token_series_sums_llm_usage_exactly(
    native_stack: NativeStack, runs: list[dict[str, Any]]
) -> None:
    """Tokens the LLM wrapper read from responses land in the seed series, label set by set."""
    expected: Counter[tuple[str, ...]] = Counter()
    for r in runs:
        for t in r["tokens"]:
            expected[(t["persona"], t["chatmode"], t["model"])] += t["tokens"]
    got = native_stack.prometheus.query(f"hypertool_persona_tokens_used_total{{{JOB}}}")
    assert by(got, n.PERSONA, n.CHATMODE, n.MODEL) == {k: float(v) for k, v in expected.items()}


def test_llm_tokens_by_type_and_cost(native_stack: NativeStack, runs: list[dict[str, Any]]) -> None:
    """Input and output tokens and the USD cost per persona and model equal what was spent."""
    tokens: Counter[tuple[str, ...]] = Counter()
    cost: Counter[tuple[str, ...]] = Counter()
    for r in runs:
        for t in r["llm_tokens"]:
            tokens[(t["persona"], t["model"], t["token_type"])] += t["tokens"]
        for call in r["llm_calls"]:
            cost[(call["persona"], call["model"])] += call["cost_usd"]
    prom = native_stack.prometheus
    got_tokens = by(
        prom.query(f"hypertool_llm_tokens_total{{{JOB}}}"), n.PERSONA, n.MODEL, n.TOKEN_TYPE
    )
    assert got_tokens == {k: float(v) for k, v in tokens.items()}
    got_cost = by(prom.query(f"hypertool_llm_cost_usd_total{{{JOB}}}"), n.PERSONA, n.MODEL)
    assert got_cost.keys() == cost.keys()
    for key, usd in cost.items():
        assert got_cost[key] == pytest.approx(usd, rel=1e-9)


def test_llm_call_durations(native_stack: NativeStack, runs: list[dict[str, Any]]) -> None:
    """Each LLM call is one observation of its persona and model's duration histogram."""
    counts: Counter[tuple[str, ...]] = Counter()
    sums: Counter[tuple[str, ...]] = Counter()
    for r in runs:
        for call in r["llm_calls"]:
            counts[(call["persona"], call["model"])] += 1
            sums[(call["persona"], call["model"])] += call["seconds"]
    prom = native_stack.prometheus
    got_counts = by(
        prom.query(f"hypertool_llm_call_duration_seconds_count{{{JOB}}}"), n.PERSONA, n.MODEL
    )
    got_sums = by(
        prom.query(f"hypertool_llm_call_duration_seconds_sum{{{JOB}}}"), n.PERSONA, n.MODEL
    )
    assert got_counts == {k: float(v) for k, v in counts.items()}
    for key, seconds in sums.items():
        assert got_sums[key] == pytest.approx(seconds, abs=1e-6)


def test_bad_input_is_dropped_and_counted_and_never_crashes(native_stack: NativeStack) -> None:
    """A process feeding garbage exits 0; its valid tokens count, its invalid ones are counted."""
    native_stack.run_python(
        """
        from hypertool_agent import PersonaMetricsCollector
        c = PersonaMetricsCollector()
        for bad in (-5, float("nan"), "lots", None, True, -1):
            c.record_token_usage("guard-persona", "bad", "gpt-4", bad)
        c.record_token_usage("guard-persona", "bad", "gpt-4", "40")
        c.record_token_usage("guard-persona", "bad", "gpt-4", 2.4)
        c.record_token_usage(None, "bad", "gpt-4", 1)
        """,
    )
    prom = native_stack.prometheus
    dropped = prom.wait_for(
        f"hypertool_agent_dropped_measurements_total{{{JOB}}}",
        lambda r: sum(s.value for s in r) == 6,
    )
    assert by(dropped, n.REASON) == {
        ("negative",): 2.0,
        ("not_finite",): 1.0,
        ("not_a_number",): 3.0,
    }
    tokens = by(
        prom.query(f'hypertool_persona_tokens_used_total{{{JOB},chatmode="bad"}}'), n.PERSONA
    )
    assert tokens == {("guard-persona",): 42.0, ("unknown",): 1.0}


def test_label_cardinality_stays_bounded_and_totals_exact(native_stack: NativeStack) -> None:
    """500 distinct personas under a limit of 20 make 21 series, and no token is lost."""
    native_stack.run_python(
        """
        from hypertool_agent import PersonaMetricsCollector
        c = PersonaMetricsCollector()
        for i in range(500):
            c.record_token_usage(f"flood-{i}", "flood", "gpt-4", i)
        """,
        HYPERTOOL_MAX_LABEL_VALUES="20",
    )
    prom = native_stack.prometheus
    series = prom.wait_for(
        f'hypertool_persona_tokens_used_total{{{JOB},chatmode="flood"}}',
        lambda r: sum(s.value for s in r) == sum(range(500)),
    )
    assert sum(s.value for s in series) == sum(range(500))
    assert len(series) == 21
    assert by(series, n.PERSONA)[("other",)] == sum(range(20, 500))
