"""The real openai SDK under OpenLLMetry's zero-code instrumentation, counted exactly.

The app (tests/producers/openai_app.py) knows nothing of hypertool: `opentelemetry-instrument`
adds OpenLLMetry's `opentelemetry-instrumentation-openai` from its own pinned venv. It
reports every call's usage twice, on the `openai.chat` span (`gen_ai.usage.*`) and in the
histogram `gen_ai.client.token.usage`, and it captures prompt and completion text by
default. The collector must count the usage once, whatever the temporality, and drop the
text before it forwards the spans to a traces backend (here an OTLP sink).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import (
    JOB,
    assert_cost_estimated,
    assert_counted,
    assert_settled,
    chat_spans,
    forwarding_to,
)
from tests.fakes.llm_api import FakeLLM
from tests.fakes.otlp_sink import OtlpSink
from tests.producers import genai_python
from tests.producers.openai_app import PROMPT_MARKER

pytestmark = pytest.mark.e2e

MODEL = "gpt-4o-mini"
CHAT_SPAN = "openai.chat"
#: Span attributes that hold prompt or completion text, current and older conventions.
CONTENT_KEY = re.compile(
    r"^(gen_ai\.((input|output)\.messages|system_instructions|headers|tool\.call\.(arguments|result)"
    r"|(prompt|completion)(\..*)?)|traceloop\.entity\.(input|output))$"
)
USAGE_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
#: A short periodic export, so each process sends the same cumulative totals several times
#: before its export at exit: counting cumulative points as they come would overcount.
EXPORT_INTERVAL_MS = "200"
PAUSE_SECONDS = "0.3"


@pytest.fixture(scope="module")
def producer_venv() -> Path:
    """The pinned producer venv; a missing one fails the tests, with the fix."""
    why = genai_python.missing()
    if why is not None:
        pytest.fail(why)
    return genai_python.venv_dir()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sink: OtlpSink) -> Iterator[NativeStack]:
    """One stack for the module; its collector forwards traces to the sink."""
    env = forwarding_to(sink)
    with running_stack(tmp_path_factory.mktemp("genai-python"), "1s", collector_env=env) as native:
        yield native


def run(
    stack: NativeStack,
    llm: FakeLLM,
    *app_args: str,
    persona: str | None,
    service: str = "genai-python-tests",
    temporality: str | None = None,
    timeout: float = 60.0,
    **extra: str,
) -> genai_python.AppRun:
    """One instrumented app process against ``llm``, exporting to ``stack``."""
    env = genai_python.app_env(
        base_url=llm.url,
        otlp_endpoint=stack.stack.otlp_grpc_endpoint,
        service_name=service,
        persona=persona,
        temporality=temporality,
        **extra,
    )
    return genai_python.run_app(env, *app_args, timeout=timeout)


def test_cumulative_usage_counted_once(
    producer_venv: Path, stack: NativeStack, sink: OtlpSink
) -> None:
    """Default cumulative export, re-sent every 200 ms, and span usage: counted once."""
    with FakeLLM(input_tokens=17, output_tokens=5) as llm:
        app = run(
            stack,
            llm,
            *("--calls", "5", "--model", MODEL, "--pause", PAUSE_SECONDS),
            persona="data-scientist",
            OTEL_METRIC_EXPORT_INTERVAL=EXPORT_INTERVAL_MS,
        )
    assert (app.input_tokens, app.output_tokens) == (85, 25)  # what the SDK returned
    assert llm.ledger.total_tokens() == 110
    assert_counted(stack, "data-scientist", llm.ledger)
    assert_cost_estimated(stack, "data-scientist", llm.ledger)
    # Outside any workflow run: no workflow series, as for the library's own usage.
    workflow_tokens = c.WORKFLOW_TOKENS.prometheus_name
    assert stack.prometheus.query(f'{workflow_tokens}{{persona="data-scientist"}}') == []


def test_delta_usage_counted_exactly(producer_venv: Path, stack: NativeStack) -> None:
    """Delta temporality (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE): exact totals."""
    with FakeLLM(input_tokens=23, output_tokens=9) as llm:
        app = run(
            stack,
            llm,
            *("--calls", "5", "--model", MODEL, "--pause", PAUSE_SECONDS),
            persona="ml-engineer",
            temporality="delta",
            OTEL_METRIC_EXPORT_INTERVAL=EXPORT_INTERVAL_MS,
        )
        app_streamed = run(
            stack,
            llm,
            *("--calls", "2", "--model", "gpt-4.1", "--stream"),
            persona="ml-engineer",
            temporality="delta",
        )
    assert app.input_tokens + app_streamed.input_tokens == 7 * 23
    assert llm.ledger.by_model() == {MODEL: 5 * 32, "gpt-4.1": 2 * 32}
    assert_counted(stack, "ml-engineer", llm.ledger)
    assert_cost_estimated(stack, "ml-engineer", llm.ledger)


def test_a_model_without_a_price_counts_as_unpriced(
    producer_venv: Path, stack: NativeStack
) -> None:
    """A model genai-prices does not know: its tokens count, as unpriced, and cost nothing."""
    with FakeLLM(input_tokens=13, output_tokens=7) as llm:
        run(stack, llm, "--calls", "3", "--model", "house-model-7b", persona="house-bot")
    assert llm.ledger.by_model() == {"house-model-7b": 60}
    assert_counted(stack, "house-bot", llm.ledger)
    sel = f'{JOB},{n.PERSONA}="house-bot"'
    assert_settled(
        stack,
        [
            (
                f"sum by ({n.MODEL}) ({c.LLM_UNPRICED_TOKENS.prometheus_name}{{{sel}}})",
                n.MODEL,
                {"house-model-7b": 60.0},
            )
        ],
    )
    assert stack.prometheus.query(f"{c.LLM_COST.prometheus_name}{{{sel}}}") == []


def test_service_name_is_the_persona_when_none_is_set(
    producer_venv: Path, stack: NativeStack
) -> None:
    """Without hypertool.persona.name, the tokens count under OTEL_SERVICE_NAME."""
    with FakeLLM(input_tokens=11, output_tokens=4) as llm:
        run(stack, llm, "--calls", "3", "--model", MODEL, persona=None, service="report-bot")
    assert llm.ledger.total_tokens() == 45
    assert_counted(stack, "report-bot", llm.ledger)


def test_parallel_short_lived_processes_add_up(producer_venv: Path, stack: NativeStack) -> None:
    """20 instrumented processes at once, 1-2 calls each, cumulative: the fleet total is exact."""
    rng = random.Random(11)
    plans = [(str(rng.randint(1, 2)), rng.choice([MODEL, "gpt-4.1"])) for _ in range(20)]

    def one(plan: tuple[str, str]) -> genai_python.AppRun:
        # About 2.5 s of CPU each to start (openai's types, the instrumentation): 20 at
        # once on two cores take 30 s or more.
        calls, model = plan
        return run(
            stack, llm, "--calls", calls, "--model", model, persona="fleet-analyst", timeout=200
        )

    with FakeLLM(input_tokens=13, output_tokens=7) as llm, ThreadPoolExecutor(20) as pool:
        runs = list(pool.map(one, plans))
    calls = sum(int(calls) for calls, _ in plans)
    assert sum(len(r.calls) for r in runs) == len(llm.ledger.snapshot()) == calls
    assert_counted(stack, "fleet-analyst", llm.ledger)


def test_prompt_text_never_leaves_the_collector(
    producer_venv: Path, stack: NativeStack, sink: OtlpSink
) -> None:
    """Forwarded chat spans keep their usage and lose every prompt and completion text."""
    with FakeLLM(input_tokens=19, output_tokens=3) as llm:
        run(stack, llm, "--calls", "2", "--model", MODEL, persona="privacy-check")
        run(stack, llm, "--calls", "1", "--model", MODEL, "--stream", persona="privacy-check")
    spans = chat_spans(sink, CHAT_SPAN, "privacy-check", 3)
    assert len(spans) == 3, [s.name for s in sink.spans()]
    for span in spans:
        attrs = span.attributes
        assert [k for k in attrs if CONTENT_KEY.match(k)] == [], attrs
        assert {k: attrs.get(k) for k in USAGE_KEYS} == dict(zip(USAGE_KEYS, (19, 3), strict=True))
        assert attrs.get(n.GEN_AI_REQUEST_MODEL) == MODEL
    assert PROMPT_MARKER.encode() not in sink.raw()
    # Nor in any label of any series the stack stores.
    series = stack.prometheus.api("/api/v1/series", **{"match[]": '{__name__=~".+"}'})
    assert PROMPT_MARKER not in json.dumps(series)


def test_prompt_text_is_kept_when_the_operator_opts_in(producer_venv: Path, tmp_path: Path) -> None:
    """HYPERTOOL_STORE_GENAI_CONTENT=true forwards the captured text unchanged."""
    with OtlpSink() as backend:
        env = forwarding_to(backend, store_content=True)
        with running_stack(tmp_path / "stack", "1s", collector_env=env) as stack:
            with FakeLLM(input_tokens=19, output_tokens=3) as llm:
                run(stack, llm, "--calls", "1", "--model", MODEL, persona="keeps-text")
            spans = chat_spans(backend, CHAT_SPAN, "keeps-text", 1)
            assert len(spans) == 1, [s.name for s in backend.spans()]
            attrs = spans[0].attributes
            assert PROMPT_MARKER in str(attrs.get("gen_ai.input.messages")), attrs
            assert "ok" in str(attrs.get("gen_ai.output.messages")), attrs
            assert attrs.get("gen_ai.usage.input_tokens") == 19
            assert_counted(stack, "keeps-text", llm.ledger)
