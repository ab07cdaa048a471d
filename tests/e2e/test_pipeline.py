"""Agent process -> real collector -> real Prometheus: the six seed series, number for number."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, Sample

pytestmark = pytest.mark.e2e

#: Per-user series: only producers that name a person write them.
USER_SERIES = (c.USER_TOKENS, c.USER_COST)

JOB = 'job="hypertool-collector"'


def by(samples: list[Sample], *keys: str) -> dict[tuple[str, ...], float]:
    """Index samples by the values of ``keys``."""
    return {tuple(s.labels[k] for k in keys): s.value for s in samples}


def total(counter: Counter[tuple[str, ...]]) -> float:
    """Sum of a Counter's values, as Prometheus returns it."""
    return float(sum(counter.values()))


@pytest.fixture(scope="module")
def runs(native_stack: NativeStack) -> list[dict[str, Any]]:
    """Two demo runs in two separate processes; the second fails one quality gate."""
    seed_run = ("--workflow", "package_release", "--exact")
    emitted = [
        native_stack.run_demo(*seed_run),
        native_stack.run_demo(*seed_run, "--fail-stage", "quality_validation"),
    ]
    expected_switches = sum(len(run["switches"]) for run in emitted)
    native_stack.prometheus.wait_for(
        f"sum(hypertool_persona_switches_total{{{JOB}}})",
        lambda r: bool(r) and r[0].value == expected_switches,
    )
    native_stack.prometheus.wait_for(
        f"count(hypertool_workflow_stage_duration_seconds_count{{{JOB}}})",
        lambda r: bool(r) and r[0].value == 3,
    )
    return emitted


def expected_tokens(runs: list[dict[str, Any]]) -> Counter[tuple[str, ...]]:
    """Tokens per (persona, chatmode, model) over all runs."""
    tokens: Counter[tuple[str, ...]] = Counter()
    for run in runs:
        for t in run["tokens"]:
            tokens[(t["persona"], t["chatmode"], t["model"])] += t["tokens"]
    return tokens


def test_prometheus_holds_exactly_the_contract_series(
    native_stack: NativeStack, runs: list[dict[str, Any]]
) -> None:
    """Every hypertool_* series is a contract family with exactly the contract's labels."""
    remaining = native_stack.prometheus.api(
        "/api/v1/series", **{"match[]": c.TOKEN_BUDGET_REMAINING.prometheus_name}
    )
    # Made by the budget rules, per persona-wide budget: exactly {persona}.
    assert {frozenset(s) - {"__name__"} for s in remaining} == {
        frozenset(c.TOKEN_BUDGET_REMAINING.labels)
    }
    series = native_stack.prometheus.api(
        "/api/v1/series", **{"match[]": f'{{__name__=~"hypertool_.*",{JOB}}}'}
    )
    found: dict[str, set[frozenset[str]]] = {}
    for labels in series:
        name = labels.pop("__name__")
        assert labels.pop("job") == "hypertool-collector"
        labels.pop("instance")
        found.setdefault(name, set()).add(frozenset(labels))
    expected: dict[str, set[frozenset[str]]] = {}
    produced = [m for m in (*c.ALL_METRICS, *c.EXTRA_METRICS) if m.source != "rule"]
    for metric in produced:
        if metric in (c.DROPPED_MEASUREMENTS, c.LLM_UNPRICED_TOKENS, *USER_SERIES):
            # The demo drops nothing, its models all have a price, and the library names
            # no user (test_llm and the producers' tests check the unpriced series,
            # test_coding_agents the per-user ones).
            continue
        if metric.kind == "histogram":
            base = metric.prometheus_name
            expected[f"{base}_bucket"] = {frozenset({*metric.labels, "le"})}
            expected[f"{base}_sum"] = {frozenset(metric.labels)}
            expected[f"{base}_count"] = {frozenset(metric.labels)}
        else:
            expected[metric.prometheus_name] = {frozenset(metric.labels)}
    assert found == expected


def test_tokens_equal_what_both_processes_emitted(
    native_stack: NativeStack, runs: list[dict[str, Any]]
) -> None:
    """Tokens per persona, chatmode and model are the sum over both agent processes."""
    result = native_stack.prometheus.query(f"hypertool_persona_tokens_used_total{{{JOB}}}")
    assert by(result, n.PERSONA, n.CHATMODE, n.MODEL) == dict(expected_tokens(runs))


def test_fleet_budget_remaining_counts_both_processes(
    native_stack: NativeStack, runs: list[dict[str, Any]]
) -> None:
    """Each process saw the seed's remainder; the fleet's is what both runs left together."""
    # The seed's per-process numbers: 2000 - 850, 1500 - 650, 1800 - 550.
    seed = {"backend-engineer": 1150, "testing-specialist": 850, "devops-engineer": 1250}
    assert all(run["budget_remaining"] == seed for run in runs)
    result = native_stack.prometheus.wait_for(
        "hypertool_persona_token_budget_remaining",
        lambda r: by(r, n.PERSONA).get(("backend-engineer",)) == 300.0,
    )
    assert {k: v for k, v in by(result, n.PERSONA).items() if k[0] in seed} == {
        ("backend-engineer",): 2000.0 - 2 * 850,
        ("testing-specialist",): 1500.0 - 2 * 650,
        ("devops-engineer",): 1800.0 - 2 * 550,
    }


def test_switches_and_quality_gates_are_counted_exactly(
    native_stack: NativeStack, runs: list[dict[str, Any]]
) -> None:
    """Switch and quality-gate counters equal the emitted events, label set by label set."""
    switches: Counter[tuple[str, ...]] = Counter(
        (s["from_persona"], s["to_persona"], s["chatmode"]) for r in runs for s in r["switches"]
    )
    gates: Counter[tuple[str, ...]] = Counter(
        (g["workflow"], g["stage"], g["result"]) for r in runs for g in r["quality_gates"]
    )
    prom = native_stack.prometheus
    got_switches = prom.query(f"hypertool_persona_switches_total{{{JOB}}}")
    got_gates = prom.query(f"hypertool_workflow_quality_gate_total{{{JOB}}}")
    assert by(got_switches, n.FROM_PERSONA, n.TO_PERSONA, n.CHATMODE) == {
        k: float(v) for k, v in switches.items()
    }
    assert by(got_gates, n.WORKFLOW, n.STAGE, n.RESULT) == {k: float(v) for k, v in gates.items()}
    assert gates[("package_release", "quality_validation", n.RESULT_FAILED)] == 1


def test_stage_durations_equal_the_stage_spans(
    native_stack: NativeStack, runs: list[dict[str, Any]]
) -> None:
    """Stage histograms count every stage once and sum the spans' exact durations."""
    counts: Counter[tuple[str, ...]] = Counter()
    sums: Counter[tuple[str, ...]] = Counter()
    for run in runs:
        for s in run["stage_seconds"]:
            key: tuple[str, ...] = (s["workflow"], s["stage"], s["persona"])
            counts[key] += 1
            sums[key] += s["seconds"]
    prom = native_stack.prometheus
    labels = (n.WORKFLOW, n.STAGE, n.PERSONA)
    got_counts = by(
        prom.query(f"hypertool_workflow_stage_duration_seconds_count{{{JOB}}}"), *labels
    )
    got_sums = by(prom.query(f"hypertool_workflow_stage_duration_seconds_sum{{{JOB}}}"), *labels)
    assert got_counts == {k: float(v) for k, v in counts.items()}
    assert got_sums.keys() == sums.keys()
    for key, seconds in sums.items():
        assert got_sums[key] == pytest.approx(seconds, abs=1e-6)
    inf = prom.query(f'hypertool_workflow_stage_duration_seconds_bucket{{{JOB},le="+Inf"}}')
    assert by(inf, *labels) == got_counts


def test_time_in_persona_is_observed_for_every_persona_including_the_last(
    native_stack: NativeStack, runs: list[dict[str, Any]]
) -> None:
    """Each persona's time is observed once per run, with its own chatmode, covering its stage."""
    prom = native_stack.prometheus
    counts = by(
        prom.query(f"hypertool_persona_duration_seconds_count{{{JOB}}}"), n.PERSONA, n.CHATMODE
    )
    sums = by(prom.query(f"hypertool_persona_duration_seconds_sum{{{JOB}}}"), n.PERSONA, n.CHATMODE)
    chatmode = {t["persona"]: t["chatmode"] for t in runs[0]["tokens"]}
    assert counts == {(p, c): float(len(runs)) for p, c in chatmode.items()}
    # Each persona is entered just before its stage and left after it, so its time over
    # both runs covers its stages' time over both runs.
    stage_time: Counter[tuple[str, ...]] = Counter()
    for run in runs:
        for stage in run["stage_seconds"]:
            stage_time[(stage["persona"], chatmode[stage["persona"]])] += stage["seconds"]
    assert sums.keys() == stage_time.keys()
    for key, seconds in stage_time.items():
        assert sums[key] >= seconds


def test_seed_promql_examples_return_correct_results(
    native_stack: NativeStack, runs: list[dict[str, Any]]
) -> None:
    """The seed's four example queries (the histogram one in its working form) are right."""
    prom = native_stack.prometheus
    switches = sum(len(r["switches"]) for r in runs)
    assert prom.query("sum(hypertool_persona_switches_total)")[0].value == switches

    per_persona: Counter[tuple[str, ...]] = Counter()
    for key, tokens in expected_tokens(runs).items():
        per_persona[(key[0],)] += tokens
    got = by(prom.query("sum by (persona) (hypertool_persona_tokens_used_total)"), n.PERSONA)
    assert got == {k: float(v) for k, v in per_persona.items()}

    gates = [g for r in runs for g in r["quality_gates"]]
    passed = sum(g["result"] == n.RESULT_PASSED for g in gates)
    rate = prom.query(
        'sum(hypertool_workflow_quality_gate_total{result="passed"})'
        " / sum(hypertool_workflow_quality_gate_total)"
    )
    assert rate[0].value == pytest.approx(passed / len(gates))

    # `avg(hypertool_workflow_stage_duration_seconds)` names a classic histogram's family,
    # which has no series of its own: Prometheus answers it with nothing. The working form
    # of "average stage duration" divides the histogram's sum by its count.
    assert prom.query("avg(hypertool_workflow_stage_duration_seconds)") == []
    durations = [s["seconds"] for r in runs for s in r["stage_seconds"]]
    mean = prom.query(
        "sum(hypertool_workflow_stage_duration_seconds_sum)"
        " / sum(hypertool_workflow_stage_duration_seconds_count)"
    )
    assert mean[0].value == pytest.approx(sum(durations) / len(durations), abs=1e-6)
