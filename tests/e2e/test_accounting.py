"""Exact token accounting across short-lived, parallel, churning and restarted producers."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, Sample

pytestmark = pytest.mark.e2e

JOB = 'job="hypertool-collector"'
PERSONAS = ("acct-alpha", "acct-beta", "acct-gamma", "acct-delta")
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-20250514")

# One agent process: random spends, with an export in the middle of the run so that every
# process sends several deltas per label set, then a normal exit (the exit hook flushes).
AGENT = textwrap.dedent(
    """
    import random, sys
    from hypertool_agent import PersonaMetricsCollector, get_telemetry
    rng = random.Random(int(sys.argv[1]))
    personas, models = sys.argv[2].split(","), sys.argv[3].split(",")
    collector = PersonaMetricsCollector()
    for step in range(rng.randint(1, 8)):
        collector.record_token_usage(rng.choice(personas), "acct", rng.choice(models),
                                     rng.randint(1, 5000))
        if step == 2:
            get_telemetry().flush()
    """
)


def spends(
    seed: int, personas: tuple[str, ...], models: tuple[str, ...]
) -> Counter[tuple[str, str]]:
    """What AGENT spends with ``seed``: the ground truth, computed without running it."""
    rng = random.Random(seed)
    spent: Counter[tuple[str, str]] = Counter()
    for _ in range(rng.randint(1, 8)):
        persona, model = rng.choice(personas), rng.choice(models)
        spent[(persona, model)] += rng.randint(1, 5000)
    return spent


def agent(
    native_stack: NativeStack, seed: int, personas: tuple[str, ...]
) -> subprocess.Popen[bytes]:
    """Start one agent process."""
    return subprocess.Popen(
        [sys.executable, "-c", AGENT, str(seed), ",".join(personas), ",".join(MODELS)],
        env=native_stack.agent_env(),
    )


def by_persona_model(samples: list[Sample]) -> dict[tuple[str, str], float]:
    """Index sum-by-(persona, model) samples."""
    return {(s.labels[n.PERSONA], s.labels[n.MODEL]): s.value for s in samples}


def test_totals_are_exact_for_sequential_and_32_parallel_processes(
    native_stack: NativeStack,
) -> None:
    """8 processes one after another, then 32 at once: every sum equals the ground truth."""
    truth: Counter[tuple[str, str]] = Counter()
    for seed in range(8):
        assert agent(native_stack, seed, PERSONAS).wait(60) == 0
        truth += spends(seed, PERSONAS, MODELS)
    parallel = [agent(native_stack, seed, PERSONAS) for seed in range(100, 132)]
    assert [p.wait(120) for p in parallel] == [0] * 32
    for seed in range(100, 132):
        truth += spends(seed, PERSONAS, MODELS)

    prom = native_stack.prometheus
    selector = f'hypertool_persona_tokens_used_total{{{JOB},chatmode="acct"}}'
    total = prom.wait_for(
        f"sum({selector})", lambda r: bool(r) and r[0].value == sum(truth.values())
    )
    assert total[0].value == sum(truth.values())
    per_key = prom.query(f"sum by (persona, model) ({selector})")
    assert by_persona_model(per_key) == {k: float(v) for k, v in truth.items()}
    # The windowed quantity the budgets use counts every process in full, too.
    windowed = prom.query(f"sum by (persona, model) (increase({selector}[1h] anchored))")
    assert by_persona_model(windowed) == {k: float(v) for k, v in truth.items()}


def test_a_burst_from_a_new_process_exhausts_the_budget(native_stack: NativeStack) -> None:
    """3000 tokens at once against backend-engineer's 2000 report the budget as exhausted."""
    code = textwrap.dedent(
        """
        from hypertool_agent import PersonaMetricsCollector
        PersonaMetricsCollector().record_token_usage("backend-engineer", "cli", "gpt-4", 3000)
        """
    )
    subprocess.run(
        [sys.executable, "-c", code], env=native_stack.agent_env(), check=True, timeout=60
    )
    prom = native_stack.prometheus
    remaining = prom.wait_for(
        'hypertool_persona_token_budget_remaining{persona="backend-engineer"}',
        lambda r: bool(r) and r[0].value == -1000,
    )
    assert remaining[0].value == -1000
    ratio = prom.query(f'{c.BUDGET_USED_RATIO}{{persona="backend-engineer"}}')
    assert [(s.labels["period"], s.value) for s in ratio] == [("1d", 1.5)]
    limit = prom.query(f'{c.BUDGET_LIMIT}{{persona="backend-engineer"}}')
    assert [s.value for s in limit] == [2000.0]


CHURN = textwrap.dedent(
    """
    import os, random, sys
    import hypertool_agent

    count, workers = int(sys.argv[1]), int(sys.argv[2])
    personas, models = sys.argv[3].split(","), sys.argv[4].split(",")
    running = 0
    for i in range(count):
        if running == workers:
            os.wait()
            running -= 1
        if os.fork() == 0:  # a new agent process: its own SDK, resource and instance id
            rng = random.Random(i)
            telemetry = hypertool_agent.configure()
            collector = hypertool_agent.PersonaMetricsCollector(telemetry=telemetry)
            collector.record_token_usage(rng.choice(personas), "churn", rng.choice(models),
                                         rng.randint(1, 100))
            ok = telemetry.shutdown(10)
            os._exit(0 if ok else 3)
        running += 1
    failed = 0
    while running:
        _, status = os.wait()
        failed += status != 0
        running -= 1
    sys.exit(failed)
    """
)


def test_series_stay_bounded_while_1000_processes_come_and_go(native_stack: NativeStack) -> None:
    """1000 short-lived agent processes add one series per label set, not per process."""
    prom = native_stack.prometheus
    before = prom.query('count({__name__=~"hypertool_.*"})')
    personas = ("churn-1", "churn-2", "churn-3")
    done = subprocess.run(
        [sys.executable, "-c", CHURN, "1000", "12", ",".join(personas), ",".join(MODELS)],
        env=native_stack.agent_env(),
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{done.returncode} agent processes failed to export"
    truth: Counter[tuple[str, str]] = Counter()
    for i in range(1000):
        rng = random.Random(i)
        persona, model = rng.choice(personas), rng.choice(MODELS)
        truth[(persona, model)] += rng.randint(1, 100)
    selector = f'hypertool_persona_tokens_used_total{{{JOB},chatmode="churn"}}'
    prom.wait_for(f"sum({selector})", lambda r: bool(r) and r[0].value == sum(truth.values()))
    assert by_persona_model(prom.query(f"sum by (persona, model) ({selector})")) == {
        k: float(v) for k, v in truth.items()
    }
    after = prom.query('count({__name__=~"hypertool_.*"})')
    added = after[0].value - (before[0].value if before else 0)
    # One tokens series per (persona, model) used: 3 personas x 3 models at most.
    assert added == len(truth) <= 9
    print(
        f"\\nseries added by 1000 processes: {added:.0f}; hypertool_* series in total: "
        f"{after[0].value:.0f}"
    )


def test_windowed_usage_survives_a_collector_restart(native_stack: NativeStack) -> None:
    """Usage before and after a collector restart adds up, and the raw total carries on."""
    code = textwrap.dedent(
        """
        import sys
        from hypertool_agent import PersonaMetricsCollector
        PersonaMetricsCollector().record_token_usage("devops-engineer", "ops", "gpt-4",
                                                     int(sys.argv[1]))
        """
    )
    prom = native_stack.prometheus
    used = 'persona:hypertool_tokens_used:budget_period{persona="devops-engineer"}'
    subprocess.run([sys.executable, "-c", code, "500"], env=native_stack.agent_env(), check=True)
    prom.wait_for(used, lambda r: bool(r) and r[0].value == 500)
    native_stack.stack.restart("collector")
    # The ledger restarts with its totals: the counter carries on from 500, no reset.
    subprocess.run([sys.executable, "-c", code, "900"], env=native_stack.agent_env(), check=True)
    result = prom.wait_for(used, lambda r: bool(r) and r[0].value == 1400)
    assert result[0].value == 1400
    remaining = prom.query('hypertool_persona_token_budget_remaining{persona="devops-engineer"}')
    assert remaining[0].value == 1800 - 1400
    raw = prom.query('sum(hypertool_persona_tokens_used_total{persona="devops-engineer"})')
    assert raw[0].value == 1400
    resets = prom.query(
        'sum(resets(hypertool_persona_tokens_used_total{persona="devops-engineer"}[1h]))'
    )
    assert resets[0].value == 0
