"""Coding agents other than Claude Code, run for real and headless, counted exactly once.

Each sends every call's usage in several signals (docs/accounting.md, "One source per
kind of producer"); the collector counts it from one:

- Gemini CLI from its ``gemini_cli.api_response`` events (its two usage metrics and its
  spans repeat them), the thinking tokens as output, the user's e-mail as the user;
- Qwen Code from its ``qwen-code.llm_request`` spans, each under the ``invoke_agent``
  span of the agent that made it (the main agent, or a subagent it called);
- Codex CLI from its ``codex.sse_event`` events of kind ``response.completed`` (its
  metric, and two of its spans, repeat them), the ChatGPT login's e-mail as the user;
- OpenCode from the Vercel AI SDK's ``ai.streamText.doStream`` spans (the
  ``ai.streamText`` span above each repeats them in ``ai.usage.*``, unread), over OTLP/HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import JOB, LLM_TOKENS, TOKENS, assert_settled
from tests.fakes.llm_api import FakeLLM, Ledger
from tests.producers import codex_cli, gemini_cli, opencode, qwen_code

pytestmark = pytest.mark.e2e

UNUSED = c.PIPELINE_UNUSED.prometheus_name
USER_TOKENS = c.USER_TOKENS.prometheus_name
UNATTRIBUTED = c.PIPELINE_UNATTRIBUTED.prometheus_name
#: Gemini's usage: input, the part of it read from the cache, output, thinking.
GEMINI_INPUT, GEMINI_CACHED, GEMINI_OUTPUT, GEMINI_THOUGHTS = 101, 30, 7, 5
GEMINI_PERSONA, GEMINI_USER = "gemini-reviewer", "ana@example.com"
RUNS = 2


def installed(binary: Path, version: str, hint: str) -> Path:
    """The pinned binary; a missing one fails (scripts/test installs it), with the fix."""
    if not binary.is_file():
        pytest.fail(f"{binary.name} {version} is not installed at {binary}: {hint}")
    return binary


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """One stack for the module, scraped every second."""
    with running_stack(tmp_path_factory.mktemp("coding-agents")) as native:
        yield native


@pytest.fixture(scope="module")
def gemini_ledger(stack: NativeStack) -> Ledger:
    """RUNS Gemini CLI runs for one persona and user, against a fake Gemini API."""
    gemini = installed(gemini_cli.binary(), gemini_cli.version(), gemini_cli.INSTALL_HINT)
    with FakeLLM(
        input_tokens=GEMINI_INPUT,
        output_tokens=GEMINI_OUTPUT,
        cache_read_tokens=GEMINI_CACHED,
        thoughts_tokens=GEMINI_THOUGHTS,
    ) as llm:
        for _ in range(RUNS):
            gemini_cli.run(
                gemini,
                base_url=llm.url,
                otlp_endpoint=stack.stack.otlp_grpc_endpoint,
                persona=GEMINI_PERSONA,
                user=GEMINI_USER,
            )
    assert len(llm.ledger.snapshot()) >= RUNS, llm.requests
    return llm.ledger


def test_gemini_cli_is_counted_once_from_its_events(
    stack: NativeStack, gemini_ledger: Ledger
) -> None:
    """Every token Gemini served counts once: input with the cache, output with thinking."""
    calls = gemini_ledger.snapshot()
    inputs = float(sum(call.input_tokens + call.cache_read_tokens for call in calls))
    outputs = float(sum(call.output_tokens + call.thoughts_tokens for call in calls))
    assert inputs + outputs == sum(call.total_tokens for call in calls)
    sel = f'{JOB},{n.PERSONA}="{GEMINI_PERSONA}"'
    assert_settled(
        stack,
        [
            (f"sum({TOKENS}{{{sel}}})", None, {"": inputs + outputs}),
            (
                f"sum by ({n.MODEL}) ({TOKENS}{{{sel}}})",
                n.MODEL,
                {model: float(t) for model, t in gemini_ledger.by_model().items()},
            ),
            (
                f"sum by ({n.TOKEN_TYPE}) ({LLM_TOKENS}{{{sel}}})",
                n.TOKEN_TYPE,
                {n.TOKEN_TYPE_INPUT: inputs, n.TOKEN_TYPE_OUTPUT: outputs},
            ),
            (
                f"sum by ({n.USER}) ({USER_TOKENS}{{{sel}}})",
                n.USER,
                {GEMINI_USER: inputs + outputs},
            ),
        ],
    )


def test_gemini_clis_repeats_of_its_usage_are_counted_unused(
    stack: NativeStack, gemini_ledger: Ledger
) -> None:
    """Its usage metrics and spans are the same calls again: unused, with their reason."""
    del gemini_ledger  # the runs must have happened
    reasons = stack.prometheus.query(
        f'sum by ({n.REASON}) ({UNUSED}{{{JOB},producer="gemini-cli"}})'
    )
    got = {s.labels[n.REASON]: s.value for s in reasons}
    assert got.get(c.REASON_COUNTED_FROM_LOGS, 0) > 0, got  # gen_ai.client.token.usage
    assert got.get(c.REASON_SPAN_USAGE_IGNORED, 0) > 0, got  # llm_call spans


@pytest.fixture(scope="module")
def qwen_ledger(stack: NativeStack) -> Ledger:
    """RUNS Qwen Code runs naming no persona, against the fake OpenAI API."""
    qwen = installed(qwen_code.binary(), qwen_code.version(), qwen_code.INSTALL_HINT)
    with FakeLLM(input_tokens=101, output_tokens=7) as llm:
        for _ in range(RUNS):
            qwen_code.run(
                qwen,
                base_url=llm.url,
                otlp_endpoint=stack.stack.otlp_grpc_endpoint,
                user="bo",
            )
    assert len(llm.ledger.snapshot()) >= RUNS, llm.requests
    return llm.ledger


def test_qwen_code_is_counted_once_from_its_spans(stack: NativeStack, qwen_ledger: Ledger) -> None:
    """Its main agent's calls and its memory extractor's count once, as qwen-code's."""
    calls = qwen_ledger.snapshot()
    total = float(sum(call.total_tokens for call in calls))
    sel = f'{JOB},{n.PERSONA}="qwen-code"'
    assert_settled(
        stack,
        [
            (f"sum({TOKENS}{{{sel}}})", None, {"": total}),
            (f"sum by ({n.USER}) ({USER_TOKENS}{{{sel}}})", n.USER, {"bo": total}),
        ],
    )
    # The memory extractor's call is a trace of its own, with no agent span above it.
    unattributed = stack.prometheus.query(
        f'sum by ({n.REASON}) ({UNATTRIBUTED}{{{JOB},producer="qwen-code"}})'
    )
    assert {s.labels[n.REASON] for s in unattributed} <= {c.REASON_NO_AGENT_SPAN}, unattributed


def test_a_qwen_code_subagent_is_its_own_persona(stack: NativeStack) -> None:
    """The main agent's calls are qwen-code's, its subagent's its own, and one switch."""
    qwen = installed(qwen_code.binary(), qwen_code.version(), qwen_code.INSTALL_HINT)
    with FakeLLM(
        input_tokens=50,
        output_tokens=5,
        tool_calls={"agent": qwen_code.SUBAGENT_CALL},
        agents={"general-purpose": "general-purpose"},
    ) as llm:
        qwen_code.run(
            qwen,
            base_url=llm.url,
            otlp_endpoint=stack.stack.otlp_grpc_endpoint,
            resource_attributes={n.ATTR_CHATMODE: "qwen-subagent"},
            approval_mode="yolo",
        )
    calls = llm.ledger.snapshot()
    sub = float(sum(call.total_tokens for call in calls if call.agent == "general-purpose"))
    main = float(sum(call.total_tokens for call in calls if call.agent != "general-purpose"))
    asked = [(call.agent, call.total_tokens) for call in calls]
    assert sub > 0, asked
    assert main > 0, asked
    chatmode = f'{JOB},{n.CHATMODE}="qwen-subagent"'
    assert_settled(
        stack,
        [
            (
                f"sum by ({n.PERSONA}) ({TOKENS}{{{chatmode}}})",
                n.PERSONA,
                {"qwen-code": main, "general-purpose": sub},
            ),
            (
                f"sum by ({n.FROM_PERSONA}, {n.TO_PERSONA}) "
                f"({c.PERSONA_SWITCHES.prometheus_name}{{{chatmode}}})",
                n.TO_PERSONA,
                {"general-purpose": 1.0},
            ),
        ],
    )


#: OpenAI-style usage: input (40 of it cached), output (10 of it reasoning).
OPENAI_INPUT, OPENAI_CACHED, OPENAI_OUTPUT, OPENAI_REASONING = 100, 40, 30, 10


def openai_fake() -> FakeLLM:
    """A fake OpenAI reporting cached input and reasoning output, as OpenAI does."""
    return FakeLLM(
        input_tokens=OPENAI_INPUT,
        output_tokens=OPENAI_OUTPUT,
        cache_read_tokens=OPENAI_CACHED,
        reasoning_tokens=OPENAI_REASONING,
    )


def assert_persona_counted(stack: NativeStack, persona: str, ledger: Ledger, user: str) -> None:
    """Prometheus holds the ledger's tokens for ``persona``: total, type and user."""
    calls = ledger.snapshot()
    # OpenAI's input holds the cached part, its output the reasoning part.
    inputs = float(sum(call.input_tokens + call.cache_read_tokens for call in calls))
    outputs = float(sum(call.output_tokens for call in calls))
    sel = f'{JOB},{n.PERSONA}="{persona}"'
    assert_settled(
        stack,
        [
            (f"sum({TOKENS}{{{sel}}})", None, {"": inputs + outputs}),
            (
                f"sum by ({n.TOKEN_TYPE}) ({LLM_TOKENS}{{{sel}}})",
                n.TOKEN_TYPE,
                {n.TOKEN_TYPE_INPUT: inputs, n.TOKEN_TYPE_OUTPUT: outputs},
            ),
            (f"sum by ({n.USER}) ({USER_TOKENS}{{{sel}}})", n.USER, {user: inputs + outputs}),
        ],
    )


def test_codex_cli_is_counted_once_from_its_events(stack: NativeStack) -> None:
    """Each Responses call counts once, under the resource's persona and the login's user."""
    codex = installed(codex_cli.binary(), codex_cli.version(), codex_cli.INSTALL_HINT)
    with openai_fake() as llm:
        for _ in range(RUNS):
            codex_cli.run(
                codex,
                base_url=llm.url,
                otlp_endpoint=stack.stack.otlp_grpc_endpoint,
                persona="codex-builder",
                user="cy@example.com",
            )
    assert len(llm.ledger.snapshot()) >= RUNS, llm.requests
    assert_persona_counted(stack, "codex-builder", llm.ledger, "cy@example.com")


def test_opencode_is_counted_once_from_its_spans(stack: NativeStack) -> None:
    """Its answer's and its title's calls count once each, over OTLP/HTTP."""
    binary = installed(opencode.binary(), opencode.version(), opencode.INSTALL_HINT)
    with openai_fake() as llm:
        opencode.run(
            binary,
            base_url=llm.url,
            otlp_endpoint=f"http://127.0.0.1:{stack.stack.ports.otlp_http}",
            persona="opencode-builder",
            user="dee",
        )
    # A run asks for an answer and for a title: two calls, both real spend.
    assert len(llm.ledger.snapshot()) >= 2, llm.requests
    assert_persona_counted(stack, "opencode-builder", llm.ledger, "dee")
