"""The real openai SDK under Arize OpenInference, a producer that reports usage on spans only.

The app (tests/producers/openai_app.py) is the one OpenLLMetry instruments in
test_genai_python.py; here `opentelemetry-instrument` adds `openinference-instrumentation-openai`
from its own pinned venv. It sends no metric at all: each call's usage is on its
`ChatCompletion` span (`llm.token_count.prompt` / `completion`, and the GenAI conventions'
`gen_ai.usage.*` as well with OPENINFERENCE_ENABLE_GENAI_SEMCONV=true), and it captures the
whole request and response by default. The collector counts each span's usage once, prices
it, and drops the text before it forwards the spans.
"""

from __future__ import annotations

import json
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
CHAT_SPAN = "ChatCompletion"
SCOPE = "openinference.instrumentation.openai"
REQUIREMENTS = genai_python.OPENINFERENCE_REQUIREMENTS
#: What OpenInference captures by default: the bodies and the messages.
CONTENT_PREFIXES = ("input.value", "output.value", "llm.input_messages", "llm.output_messages")


@pytest.fixture(scope="module")
def producer_venv() -> Path:
    """The pinned OpenInference venv; a missing one fails the tests, with the fix."""
    why = genai_python.missing(REQUIREMENTS)
    if why is not None:
        pytest.fail(why)
    return genai_python.venv_dir(REQUIREMENTS)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sink: OtlpSink) -> Iterator[NativeStack]:
    """One stack for the module; its collector forwards traces to the sink."""
    env = forwarding_to(sink)
    with running_stack(tmp_path_factory.mktemp("openinference"), "1s", collector_env=env) as native:
        yield native


def run(
    stack: NativeStack, llm: FakeLLM, *app_args: str, persona: str, **extra: str
) -> genai_python.AppRun:
    """One instrumented app process against ``llm``, exporting to ``stack``."""
    env = genai_python.app_env(
        base_url=llm.url,
        otlp_endpoint=stack.stack.otlp_grpc_endpoint,
        service_name="openinference-tests",
        persona=persona,
        **extra,
    )
    return genai_python.run_app(env, *app_args, requirements=REQUIREMENTS, timeout=200)


def test_span_usage_counted_exactly_and_priced(producer_venv: Path, stack: NativeStack) -> None:
    """Usage only on spans, plain and streamed: tokens exact, cost genai-prices' price."""
    with FakeLLM(input_tokens=31, output_tokens=11) as llm:
        app = run(stack, llm, "--calls", "3", "--model", MODEL, persona="span-counter")
        run(stack, llm, "--calls", "2", "--model", "gpt-4.1", "--stream", persona="span-counter")
    assert app.input_tokens == 3 * 31  # what the SDK returned
    assert llm.ledger.by_model() == {MODEL: 3 * 42, "gpt-4.1": 2 * 42}
    assert_counted(stack, "span-counter", llm.ledger)
    assert_cost_estimated(stack, "span-counter", llm.ledger)


def test_both_attribute_sets_count_once(
    producer_venv: Path, stack: NativeStack, sink: OtlpSink
) -> None:
    """With the GenAI conventions on, each span has its usage twice: counted once."""
    with FakeLLM(input_tokens=17, output_tokens=4) as llm:
        run(
            stack,
            llm,
            *("--calls", "4", "--model", MODEL),
            persona="semconv-both",
            OPENINFERENCE_ENABLE_GENAI_SEMCONV="true",
        )
    assert llm.ledger.total_tokens() == 84
    assert_counted(stack, "semconv-both", llm.ledger)
    # The spans did carry the same usage under both names.
    spans = chat_spans(sink, CHAT_SPAN, "semconv-both", 4)
    assert len(spans) == 4
    for span in spans:
        attrs = span.attributes
        assert attrs[n.GEN_AI_USAGE_INPUT_TOKENS] == attrs["llm.token_count.prompt"] == 17


def test_parallel_short_lived_processes_add_up(producer_venv: Path, stack: NativeStack) -> None:
    """8 instrumented processes at once, one or two calls each: exact totals."""
    plans = ["1", "2", "1", "2", "2", "1", "1", "2"]
    with FakeLLM(input_tokens=5, output_tokens=3) as llm, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda calls: run(stack, llm, "--calls", calls, persona="span-fleet"), plans))
    assert len(llm.ledger.snapshot()) == 12
    assert_counted(stack, "span-fleet", llm.ledger)


def test_a_model_without_a_price_counts_as_unpriced(
    producer_venv: Path, stack: NativeStack
) -> None:
    """A model genai-prices does not know: its span usage counts, as unpriced tokens."""
    with FakeLLM(input_tokens=9, output_tokens=2) as llm:
        run(stack, llm, "--calls", "2", "--model", "house-model-7b", persona="span-house")
    sel = f'{JOB},{n.PERSONA}="span-house"'
    unpriced = f"sum by ({n.MODEL}) ({c.LLM_UNPRICED_TOKENS.prometheus_name}{{{sel}}})"
    assert_settled(stack, [(unpriced, n.MODEL, {"house-model-7b": 22.0})])
    assert stack.prometheus.query(f"{c.LLM_COST.prometheus_name}{{{sel}}}") == []


def test_captured_text_never_leaves_the_collector(
    producer_venv: Path, stack: NativeStack, sink: OtlpSink
) -> None:
    """OpenInference's bodies and messages are dropped; the usage stays on the span."""
    with FakeLLM(input_tokens=19, output_tokens=3) as llm:
        run(stack, llm, "--calls", "1", "--model", MODEL, persona="span-privacy")
        run(stack, llm, "--calls", "1", "--model", MODEL, "--stream", persona="span-privacy")
    spans = chat_spans(sink, CHAT_SPAN, "span-privacy", 2)
    assert len(spans) == 2, [s.name for s in sink.spans()]
    for span in spans:
        attrs = span.attributes
        assert [k for k in attrs if k.startswith(CONTENT_PREFIXES)] == [], attrs
        assert (attrs["llm.token_count.prompt"], attrs["llm.token_count.completion"]) == (19, 3)
        # The collector reads the usage; it adds nothing to the stored span.
        assert not [k for k in attrs if k.startswith("hypertool.")], attrs
    assert PROMPT_MARKER.encode() not in sink.raw()
    series = stack.prometheus.api("/api/v1/series", **{"match[]": '{__name__=~".+"}'})
    assert PROMPT_MARKER not in json.dumps(series)


def test_usage_spans_are_not_counted_as_unused(producer_venv: Path, stack: NativeStack) -> None:
    """Counted spans make no unused count; the producer's other spans would (none here)."""
    with FakeLLM() as llm:
        run(stack, llm, "--calls", "2", "--model", MODEL, persona="span-unused")
    assert_counted(stack, "span-unused", llm.ledger)
    unused = c.PIPELINE_UNUSED.prometheus_name
    samples = stack.prometheus.query(f'{unused}{{signal="traces",producer="{SCOPE}"}}')
    assert [s.labels for s in samples if s.value > 0] == []
