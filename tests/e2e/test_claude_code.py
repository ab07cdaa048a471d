"""Claude Code, run for real and headless against a fake Anthropic API, counted exactly."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypertool_agent import load_budgets
from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import LOOPBACK, NativeStack, Sample, running_stack
from tests.fakes.llm_api import Call, FakeLLM
from tests.producers import claude_code

pytestmark = pytest.mark.e2e

JOB = f'job="{c.JOB_COLLECTOR_EXPORTER}"'
CHATMODE = "claude-code"
#: Claude Code's service.name, the persona of runs that name none.
SERVICE_NAME = "claude-code"
#: Per-test usage (input, output, cache read, cache creation), distinct so that one
#: test's tokens showing up in another's series cannot go unnoticed.
DELTA_USAGE = (12, 6, 100, 20)
CUMULATIVE_USAGE = (7, 3, 50, 9)
FALLBACK_USAGE = (5, 2, 30, 4)
RUNS = 3
#: How long each cumulative run stays up after its answer: its 1 s periodic reader then
#: exports the same cumulative totals two or three times before the export at exit.
CUMULATIVE_LINGER_SECONDS = 2.5


@dataclass(frozen=True)
class Truth:
    """What a batch of runs cost: the fake provider's ledger and Claude Code's own view."""

    calls: list[Call]
    runs: list[claude_code.Run]

    def tokens_by_model(self) -> dict[tuple[str, ...], float]:
        """Every token the provider reported, per (model,) (cached ones included)."""
        totals: Counter[tuple[str, ...]] = Counter()
        for call in self.calls:
            totals[(call.model,)] += call.total_tokens
        return {key: float(v) for key, v in totals.items()}

    def tokens_by_model_and_type(self) -> dict[tuple[str, ...], float]:
        """Input (cached included, as the library counts it) and output, per model."""
        totals: Counter[tuple[str, ...]] = Counter()
        for call in self.calls:
            cached = call.cache_read_tokens + call.cache_creation_tokens
            totals[(call.model, n.TOKEN_TYPE_INPUT)] += call.input_tokens + cached
            totals[(call.model, n.TOKEN_TYPE_OUTPUT)] += call.output_tokens
        return {key: float(v) for key, v in totals.items()}

    def total_tokens(self) -> float:
        """Every token the provider reported."""
        return float(sum(call.total_tokens for call in self.calls))

    def cost_usd(self) -> float:
        """What Claude Code itself said the runs cost."""
        return sum(run.cost_usd for run in self.runs)


@pytest.fixture(scope="module")
def claude() -> Path:
    """The pinned Claude Code binary; its absence fails the module with the fix."""
    binary = claude_code.binary()
    if not binary.is_file():
        # Not a skip: scripts/test installs it, so a missing binary is a broken set-up.
        pytest.fail(
            f"Claude Code {claude_code.version()} is not installed at {binary}: "
            f"{claude_code.INSTALL_HINT}"
        )
    return binary


#: A persona whose budget one run overspends, for the alert test.
OVERSPENDER = "claude-budget-probe"
OVERSPENDER_BUDGET = 100
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """One stack for the module, scraped and evaluated every second.

    Its budgets are the repository's, plus a small one that a single run overspends.
    """
    folder = tmp_path_factory.mktemp("claude-code-stack")
    budgets = folder / "budgets.yaml"
    budgets.write_text(
        (ROOT / "budgets.yaml").read_text()
        + f"  - persona: {OVERSPENDER}\n    tokens: {OVERSPENDER_BUDGET}\n"
    )
    with running_stack(folder / "state", "1s", budgets_file=budgets) as native:
        yield native


def run_batch(
    claude: Path,
    stack: NativeStack,
    usage: tuple[int, int, int, int],
    count: int,
    *,
    resource_attributes: Mapping[str, str] | None,
    temporality: str | None = None,
    linger: float = 0.0,
) -> Truth:
    """``count`` parallel runs against a fresh fake provider answering with ``usage``."""
    input_tokens, output_tokens, cache_read, cache_creation = usage
    with FakeLLM(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_creation_tokens=cache_creation,
    ) as llm:
        runs = claude_code.run_parallel(
            claude,
            count,
            base_url=llm.url,
            otlp_endpoint=stack.stack.otlp_grpc_endpoint,
            resource_attributes=resource_attributes,
            temporality=temporality,
            stop_hook_seconds=linger,
        )
    truth = Truth(llm.ledger.snapshot(), runs)
    assert len(truth.calls) >= count, llm.requests
    # Claude Code read the usage the fake sent: its own per-model view matches the ledger.
    own: Counter[tuple[str, ...]] = Counter()
    for run in runs:
        for model, u in run.model_usage.items():
            own[(model,)] += (
                u["inputTokens"]
                + u["outputTokens"]
                + u["cacheReadInputTokens"]
                + u["cacheCreationInputTokens"]
            )
    assert {m: float(v) for m, v in own.items()} == truth.tokens_by_model()
    return truth


def persona_attributes(persona: str) -> dict[str, str]:
    """OTEL_RESOURCE_ATTRIBUTES naming the persona and chatmode of a run."""
    return {n.ATTR_PERSONA: persona, n.ATTR_CHATMODE: CHATMODE}


@pytest.fixture(scope="module")
def delta_runs(claude: Path, stack: NativeStack) -> Truth:
    """Three parallel runs as backend-engineer with Claude Code's default (delta) export."""
    return run_batch(
        claude,
        stack,
        DELTA_USAGE,
        RUNS,
        resource_attributes=persona_attributes("backend-engineer"),
    )


Key = tuple[str, ...]


def keyed(samples: list[Sample], *labels: str) -> dict[Key, float]:
    """Samples keyed by the values of ``labels``."""
    return {tuple(s.labels.get(k, "") for k in labels): s.value for s in samples}


def wait_for_equal(
    stack: NativeStack, promql: str, expected: Mapping[Key, float], *labels: str
) -> dict[Key, float]:
    """Poll ``promql`` until its samples keyed by ``labels`` equal ``expected``; return them."""
    samples = stack.prometheus.wait_for(
        promql, lambda r: keyed(r, *labels) == dict(expected), timeout=30
    )
    return keyed(samples, *labels)


def assert_counted(stack: NativeStack, persona: str, truth: Truth) -> None:
    """The persona's tokens per model and per token type, and its cost, equal the truth."""
    tokens = f'{c.TOKENS_USED.prometheus_name}{{{JOB},persona="{persona}"}}'
    by_model = wait_for_equal(stack, f"sum by (model) ({tokens})", truth.tokens_by_model(), n.MODEL)
    assert by_model == truth.tokens_by_model()
    llm_tokens = f'{c.LLM_TOKENS.prometheus_name}{{{JOB},persona="{persona}"}}'
    by_type = wait_for_equal(
        stack,
        f"sum by (model, token_type) ({llm_tokens})",
        truth.tokens_by_model_and_type(),
        n.MODEL,
        n.TOKEN_TYPE,
    )
    assert by_type == truth.tokens_by_model_and_type()
    # What Claude Code reports it was charged, kept as reported: never estimated again.
    cost = f'sum by ({n.COST_SOURCE}) ({c.LLM_COST.prometheus_name}{{{JOB},persona="{persona}"}})'
    samples = stack.prometheus.wait_for(
        cost, lambda r: bool(r) and math.isclose(r[0].value, truth.cost_usd(), rel_tol=1e-9)
    )
    assert truth.cost_usd() > 0
    assert [s.value for s in samples] == [pytest.approx(truth.cost_usd(), rel=1e-9)]
    assert [s.labels[n.COST_SOURCE] for s in samples] == [n.COST_REPORTED]


def test_delta_runs_are_counted_exactly(stack: NativeStack, delta_runs: Truth) -> None:
    """Three parallel delta runs: tokens per model and type, chatmode and cost are exact."""
    assert_counted(stack, "backend-engineer", delta_runs)
    tokens = f'{c.TOKENS_USED.prometheus_name}{{{JOB},persona="backend-engineer"}}'
    by_chatmode = stack.prometheus.query(f"sum by (chatmode) ({tokens})")
    assert keyed(by_chatmode, n.CHATMODE) == {(CHATMODE,): delta_runs.total_tokens()}


def test_cumulative_runs_are_counted_once(claude: Path, stack: NativeStack) -> None:
    """Three parallel cumulative runs, each exporting its totals 3 times: counted once."""
    truth = run_batch(
        claude,
        stack,
        CUMULATIVE_USAGE,
        RUNS,
        resource_attributes=persona_attributes("testing-specialist"),
        temporality="cumulative",
        linger=CUMULATIVE_LINGER_SECONDS,
    )
    assert_counted(stack, "testing-specialist", truth)


def test_runs_without_a_persona_count_under_the_service_name(
    claude: Path, stack: NativeStack
) -> None:
    """A run naming no persona is counted under persona="claude-code", its service.name."""
    truth = run_batch(claude, stack, FALLBACK_USAGE, 1, resource_attributes=None)
    assert_counted(stack, SERVICE_NAME, truth)


def test_budget_usage_moves_with_claude_code_tokens(stack: NativeStack, delta_runs: Truth) -> None:
    """backend-engineer's budget-period usage and remaining budget follow the delta runs."""
    used = f'{c.BUDGET_USED}{{persona="backend-engineer",model="{c.ANY}",workflow="{c.ANY}"}}'
    expected = delta_runs.total_tokens()
    samples = stack.prometheus.wait_for(used, lambda r: [s.value for s in r] == [expected])
    assert [s.value for s in samples] == [expected]
    remaining = stack.prometheus.query(
        f'{c.TOKEN_BUDGET_REMAINING.prometheus_name}{{persona="backend-engineer"}}'
    )
    (budget,) = [
        b.tokens
        for b in load_budgets(ROOT / "budgets.yaml")
        if (b.persona, b.model, b.workflow) == ("backend-engineer", None, None)
    ]
    assert [s.value for s in remaining] == [budget - expected]


def collector_telemetry(stack: NativeStack, name: str) -> float | None:
    """A counter of the collector's own telemetry summed over its labels; None if absent."""
    url = f"http://127.0.0.1:{stack.stack.ports.collector_telemetry}/metrics"
    with LOOPBACK.open(url, timeout=10) as response:
        text = response.read().decode()
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.split("{", 1)[0].split(" ", 1)[0] in (name, f"{name}_total")
    ]
    return sum(values) if values else None


def test_log_events_are_accepted(stack: NativeStack, delta_runs: Truth) -> None:
    """Claude Code's OTLP log events reach the collector and none is refused."""
    accepted = "otelcol_receiver_accepted_log_records"
    # Each run sends at least user_prompt, api_request and assistant_response.
    at_least = 3 * len(delta_runs.runs)
    deadline = time.monotonic() + 15
    value = collector_telemetry(stack, accepted)
    while (value or 0) < at_least and time.monotonic() < deadline:
        time.sleep(0.25)
        value = collector_telemetry(stack, accepted)
    assert value is not None, f"{accepted} is absent: the collector has no logs pipeline"
    assert value >= at_least
    assert collector_telemetry(stack, "otelcol_receiver_refused_log_records") in (None, 0.0)


def test_a_budget_alert_moves_for_claude_code(claude: Path, stack: NativeStack) -> None:
    """One run past a small budget: its used ratio passes 1 and the exhausted alert starts."""
    truth = run_batch(
        claude, stack, DELTA_USAGE, 1, resource_attributes=persona_attributes(OVERSPENDER)
    )
    ratio = f'{c.BUDGET_USED_RATIO}{{persona="{OVERSPENDER}",model="{c.ANY}"}}'
    expected = truth.total_tokens() / OVERSPENDER_BUDGET
    samples = stack.prometheus.wait_for(ratio, lambda r: [s.value for s in r] == [expected])
    assert expected > 1
    assert [s.value for s in samples] == [expected]
    # Pending at the first evaluation past the limit, firing after its `for`.
    alert = f'ALERTS{{alertname="HypertoolTokenBudgetExhausted",persona="{OVERSPENDER}"}}'
    (state,) = stack.prometheus.wait_for(alert, bool)
    assert state.labels["alertstate"] in {"pending", "firing"}
