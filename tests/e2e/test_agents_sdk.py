"""The OpenAI Agents SDK under the official contrib instrumentation, counted exactly.

The app (tests/producers/agents_app.py) knows nothing of hypertool: `opentelemetry-instrument`
adds `opentelemetry-instrumentation-openai-agents-v2` from its own pinned venv. It reports
usage in the histogram `gen_ai.client.token.usage` (no agent name: the resource's
`hypertool.persona.name` is the persona) and each handoff as an `agent_handoff` span with
`gen_ai.handoff.from_agent` and `gen_ai.handoff.to_agent`, which the collector counts as a
persona switch. The fake provider answers the first agent with a `transfer_to_billing_agent`
tool call, so every run makes exactly one handoff and two LLM calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import JOB, assert_counted, assert_settled
from tests.fakes.llm_api import FakeLLM, Ledger
from tests.producers import genai_python
from tests.producers.agents_app import FIRST_AGENT, SECOND_AGENT

pytestmark = pytest.mark.e2e

PERSONA = "support-desk"
MODEL = "gpt-4o-mini"
RUNS = 3
INPUT_TOKENS, OUTPUT_TOKENS = 21, 8
SWITCHES = c.PERSONA_SWITCHES.prometheus_name
#: What the genai connector sets as a handoff's chatmode when neither the span nor the
#: resource carries hypertool.persona.chatmode (the app sets none).
DEFAULT_CHATMODE = "unknown"


@dataclass
class AgentsRun:
    """The instrumented app's runs and the fake provider's ledger of what it answered."""

    runs: list[dict[str, object]]
    ledger: Ledger


@pytest.fixture(scope="module")
def producer_venv() -> Path:
    """The pinned Agents SDK venv; a missing one fails the tests, with the fix."""
    why = genai_python.missing(genai_python.AGENTS_REQUIREMENTS)
    if why is not None:
        pytest.fail(why)
    return genai_python.venv_dir(genai_python.AGENTS_REQUIREMENTS)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """One stack for the module, started with the collector's handoff rule."""
    with running_stack(tmp_path_factory.mktemp("agents-sdk"), "1s") as native:
        yield native


@pytest.fixture(scope="module")
def agents(producer_venv: Path, stack: NativeStack) -> AgentsRun:
    """RUNS agent runs in one instrumented process, each a handoff, against the fake."""
    with FakeLLM(input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS) as llm:
        env = genai_python.app_env(
            base_url=llm.url,
            otlp_endpoint=stack.stack.otlp_grpc_endpoint,
            service_name="agents-sdk-tests",
            persona=PERSONA,
        )
        app = genai_python.run_app(
            env,
            *("--runs", str(RUNS), "--model", MODEL),
            timeout=120,
            app=genai_python.AGENTS_APP,
            requirements=genai_python.AGENTS_REQUIREMENTS,
        )
    return AgentsRun(app.report["runs"], llm.ledger)


def test_every_run_hands_off_once(agents: AgentsRun) -> None:
    """Each of the 3 runs ends with the second agent after 2 calls of 21 + 8 tokens."""
    assert [r["last_agent"] for r in agents.runs] == [SECOND_AGENT] * RUNS
    assert [r["requests"] for r in agents.runs] == [2] * RUNS
    assert [(r["input_tokens"], r["output_tokens"]) for r in agents.runs] == [(42, 16)] * RUNS
    assert len(agents.ledger.snapshot()) == 2 * RUNS
    assert agents.ledger.total_tokens() == 2 * RUNS * (INPUT_TOKENS + OUTPUT_TOKENS) == 174


def test_tokens_counted_once_for_the_persona(stack: NativeStack, agents: AgentsRun) -> None:
    """The persona's tokens are the ledger's 174 exactly: total, model, input 126 / output 48."""
    assert_counted(stack, PERSONA, agents.ledger)


def test_each_handoff_is_one_persona_switch(stack: NativeStack, agents: AgentsRun) -> None:
    """The 3 handoffs count as 3 switches triage_agent -> billing_agent, default chatmode."""
    handoffs = sum(1 for r in agents.runs if r["last_agent"] == SECOND_AGENT)
    assert handoffs == RUNS
    pair = f'{n.FROM_PERSONA}="{FIRST_AGENT}",{n.TO_PERSONA}="{SECOND_AGENT}"'
    assert_settled(
        stack,
        [
            (
                f"sum by ({n.CHATMODE}) ({SWITCHES}{{{JOB},{pair}}})",
                n.CHATMODE,
                {DEFAULT_CHATMODE: float(handoffs)},
            ),
            # Nothing else became a switch: no other pair, no "none" from the first agent.
            (f"sum({SWITCHES}{{{JOB}}})", None, {"": float(handoffs)}),
        ],
    )
