"""Helpers the zero-code instrumented producers' end-to-end tests share: exact counts.

Each producer's tests compare what Prometheus holds with the fake provider's ledger, and
ask again a few scrapes later, so that a late duplicate cannot hide behind a right total.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence

from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, Sample
from tests.fakes.llm_api import Ledger
from tests.fakes.otlp_sink import OtlpSink, ReceivedSpan

JOB = f'job="{c.JOB_COLLECTOR_EXPORTER}"'
TOKENS = c.TOKENS_USED.prometheus_name
LLM_TOKENS = c.LLM_TOKENS.prometheus_name
#: After the expected total shows up: time for a late duplicate to show up too.
SETTLE_SECONDS = 3.0
#: The two-agent apps' (tests/producers/*_app.py) agents, by a piece of each one's system
#: prompt: what ``FakeLLM(agents=...)`` records each call's agent by.
AGENT_PROMPTS = {
    "You answer billing questions": "billing_agent",
    "Hand billing questions": "triage_agent",
}

#: A PromQL query, the label its result is keyed by (None: a plain sum), and the result.
Expectation = tuple[str, str | None, dict[str, float]]


def keyed(samples: list[Sample], label: str | None = None) -> dict[str, float]:
    """Sample values by one label's value ("" for a plain sum)."""
    return {(s.labels.get(label, "") if label else ""): s.value for s in samples}


def showing(label: str | None, want: dict[str, float]) -> Callable[[list[Sample]], bool]:
    """A wait_for predicate: the result, keyed by ``label``, is ``want``."""
    return lambda samples: keyed(samples, label) == want


def assert_settled(
    stack: NativeStack, expected: Sequence[Expectation], timeout: float = 45
) -> None:
    """Every query shows what is expected, and still does a few scrapes later."""
    for promql, label, want in expected:
        stack.prometheus.wait_for(promql, showing(label, want), timeout=timeout)
    time.sleep(SETTLE_SECONDS)
    for promql, label, want in expected:
        got = keyed(stack.prometheus.query(promql), label)
        assert got == want, f"{promql}: counted {got}, expected {want}"
        print(f"counted as expected: {promql} = {got}")  # the figures, with pytest -rP


def assert_counted(stack: NativeStack, persona: str, ledger: Ledger) -> None:
    """Prometheus holds exactly the ledger's tokens for ``persona``: total, model, type.

    Once every query shows what is expected, they are asked again a few scrapes later:
    a late duplicate (a cumulative point counted again) must not show up either.
    """
    calls = ledger.snapshot()
    assert calls, "the fake provider answered no call"
    inputs = float(sum(call.input_tokens for call in calls))
    outputs = float(sum(call.output_tokens for call in calls))
    sel = f'{JOB},{n.PERSONA}="{persona}"'
    assert_settled(
        stack,
        [
            (f"sum({TOKENS}{{{sel}}})", None, {"": inputs + outputs}),
            (
                f"sum by ({n.MODEL}) ({TOKENS}{{{sel}}})",
                n.MODEL,
                {model: float(tokens) for model, tokens in ledger.by_model().items()},
            ),
            (
                f"sum by ({n.TOKEN_TYPE}) ({LLM_TOKENS}{{{sel}}})",
                n.TOKEN_TYPE,
                {n.TOKEN_TYPE_INPUT: inputs, n.TOKEN_TYPE_OUTPUT: outputs},
            ),
        ],
    )


def estimated_cost(ledger: Ledger) -> dict[str, float]:
    """What genai-prices itself says the ledger's calls cost, in USD, per model."""
    now = dt.datetime.now(dt.UTC)
    cost: dict[str, float] = {}
    for call in ledger.snapshot():
        usage = GenaiUsage(input_tokens=call.input_tokens, output_tokens=call.output_tokens)
        price = calc_price(usage, call.model, genai_request_timestamp=now).total_price
        cost[call.model] = cost.get(call.model, 0.0) + float(price)
    return cost


def assert_cost_estimated(stack: NativeStack, persona: str, ledger: Ledger) -> None:
    """The collector's estimated cost per model is genai-prices' price of the ledger's calls."""
    want = estimated_cost(ledger)
    promql = (
        f"sum by ({n.MODEL}) ({c.LLM_COST.prometheus_name}"
        f'{{{JOB},{n.PERSONA}="{persona}",{n.COST_SOURCE}="{n.COST_ESTIMATED}"}})'
    )

    def close(samples: list[Sample]) -> bool:
        got = keyed(samples, n.MODEL)
        return got.keys() == want.keys() and all(
            math.isclose(got[m], want[m], rel_tol=1e-9) for m in want
        )

    stack.prometheus.wait_for(promql, close, timeout=45)


def chat_spans(sink: OtlpSink, name: str, persona: str, count: int) -> list[ReceivedSpan]:
    """The persona's spans named ``name`` the sink received, once ``count`` are there.

    At most 30 s: fewer come back if fewer arrived, for the caller to assert on.
    """
    deadline = time.monotonic() + 30
    while True:
        spans = [
            s for s in sink.spans() if s.name == name and s.resource.get(n.ATTR_PERSONA) == persona
        ]
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.25)


def forwarding_to(sink: OtlpSink, *, store_content: bool = False) -> dict[str, str]:
    """Collector environment that forwards spans to ``sink`` (in place of Tempo).

    Prompt and completion text is stored only with ``store_content``, whatever the
    environment running the tests says.
    """
    return {
        "HYPERTOOL_TRACES_ENDPOINT": sink.endpoint,
        "HYPERTOOL_STORE_GENAI_CONTENT": "true" if store_content else "false",
    }
