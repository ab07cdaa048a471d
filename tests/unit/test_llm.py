"""LLM call tracking: usage from real response shapes, cost, spans, and no content by default."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from hypertool_agent import (
    ObservableLLM,
    PersonaMetricsCollector,
    Price,
    PriceTable,
    Usage,
    extract_usage,
)
from hypertool_agent import names as n
from hypertool_agent.testing import capture_telemetry
from tests.unit.conftest import Recorded, attrs


def openai_chat(prompt: int, completion: int, cached: int = 0) -> SimpleNamespace:
    """A response shaped like OpenAI's chat.completions.create result."""
    return SimpleNamespace(
        model="gpt-4o-2024-08-06",
        choices=[SimpleNamespace(message=SimpleNamespace(content="Sure, here is the plan."))],
        usage=SimpleNamespace(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            prompt_tokens_details=SimpleNamespace(cached_tokens=cached),
        ),
    )


def anthropic_message(inp: int, out: int, read: int = 0, write: int = 0) -> dict[str, Any]:
    """A response shaped like Anthropic's messages.create result, as a dict."""
    return {
        "model": "claude-sonnet-4-20250514",
        "content": [{"type": "text", "text": "Done."}],
        "usage": {
            "input_tokens": inp,
            "output_tokens": out,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
        },
    }


@pytest.mark.parametrize(
    ("response", "usage"),
    [
        (openai_chat(100, 20), Usage(100, 20)),
        (openai_chat(100, 20, cached=60), Usage(100, 20, cache_read_tokens=60)),
        (anthropic_message(10, 50, read=300, write=40), Usage(350, 50, 300, 40)),
        ({"usage": {"input_tokens": 7, "output_tokens": 3}}, Usage(7, 3)),
        ({"prompt_tokens": 5, "completion_tokens": 1}, Usage(5, 1)),
        (
            SimpleNamespace(usage_metadata={"prompt_token_count": 9, "candidates_token_count": 2}),
            Usage(9, 2),
        ),
        ({"usage": {"input_tokens": -1, "output_tokens": 3}}, None),
        ({"text": "no usage here"}, None),
        ("a plain string", None),
    ],
)
def test_usage_is_read_from_the_response(response: object, usage: Usage | None) -> None:
    """OpenAI, Anthropic (with cache tokens) and dict shapes give input and output tokens."""
    assert extract_usage(response) == usage


def test_decorated_call_records_tokens_cost_and_span(recorded: Recorded) -> None:
    """A decorated sync call records the seed token series, tokens by type and cost."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.switch_persona(None, "backend-engineer", "backend-dev")
    llm = ObservableLLM(collector, prices={"gpt-4o": Price(2.50, 10.0)})

    @llm.observe(model="gpt-4o")
    def ask(question: str) -> SimpleNamespace:
        return openai_chat(1000, 200)

    assert ask("plan the release").usage.total_tokens == 1200
    assert recorded.points(n.TOKENS_USED.otel_name) == {
        attrs(persona="backend-engineer", chatmode="backend-dev", model="gpt-4o"): 1200
    }
    # Priced here at your price: the collector does not price these tokens again.
    own = {n.ATTR_PRICED_BY: n.PRICED_BY_USER}
    assert recorded.points(n.LLM_TOKENS.otel_name) == {
        attrs(persona="backend-engineer", model="gpt-4o", token_type="input", **own): 1000,
        attrs(persona="backend-engineer", model="gpt-4o", token_type="output", **own): 200,
    }
    cost = (1000 * 2.50 + 200 * 10.0) / 1e6
    assert recorded.points(n.LLM_COST.otel_name) == {
        attrs(persona="backend-engineer", model="gpt-4o", cost_source="estimated"): (
            pytest.approx(cost)
        )
    }
    assert collector.get_remaining_budget("backend-engineer") == 800
    (span,) = recorded.spans(n.SPAN_TYPE_LLM_CALL)
    assert span.name == "chat gpt-4o"
    assert span.attributes is not None
    assert span.attributes[n.GEN_AI_OPERATION_NAME] == "chat"
    assert span.attributes[n.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert span.attributes[n.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    assert span.attributes[n.GEN_AI_USAGE_INPUT_TOKENS] == 1000
    assert span.attributes[n.GEN_AI_USAGE_OUTPUT_TOKENS] == 200
    assert span.attributes[n.GEN_AI_AGENT_NAME] == "backend-engineer"
    assert span.attributes[n.ATTR_MODEL] == "gpt-4o"
    assert span.attributes[n.ATTR_COST_USD] == pytest.approx(cost)
    assert span.events == ()  # no prompt or completion text unless asked


def test_async_context_manager_call_with_model_from_the_response(recorded: Recorded) -> None:
    """`async with llm.call()` records an Anthropic response, model taken from it."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    llm = ObservableLLM(collector)

    async def run() -> None:
        async with llm.call(persona="testing-specialist", chatmode="qa") as call:
            await asyncio.sleep(0)
            call.record(anthropic_message(100, 10))

    asyncio.run(run())
    assert recorded.points(n.LLM_TOKENS.otel_name) == {
        attrs(
            persona="testing-specialist", model="claude-sonnet-4-20250514", token_type="input"
        ): 100,
        attrs(
            persona="testing-specialist", model="claude-sonnet-4-20250514", token_type="output"
        ): 10,
    }


def test_async_decorator(recorded: Recorded) -> None:
    """A decorated coroutine function is awaited and its response recorded."""
    llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))

    @llm.observe
    async def ask() -> dict[str, Any]:
        return {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 4, "completion_tokens": 6}}

    assert asyncio.run(ask())["model"] == "gpt-4o-mini"
    assert sum(recorded.points(n.LLM_TOKENS.otel_name).values()) == 10


def test_failed_call_marks_the_span_and_records_no_tokens(recorded: Recorded) -> None:
    """An exception from the provider is re-raised, recorded on the span, and costs nothing."""
    llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))

    @llm.observe(model="gpt-4o", persona="backend-engineer")
    def ask() -> None:
        raise TimeoutError("provider timed out")

    with pytest.raises(TimeoutError):
        ask()
    (span,) = recorded.spans(n.SPAN_TYPE_LLM_CALL)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[n.ATTR_MODEL] == "gpt-4o"
    assert recorded.points(n.LLM_TOKENS.otel_name) == {}


def test_response_without_usage_is_not_estimated(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    """No usage means no tokens recorded (never a guess from text), and one warning."""
    llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))
    with llm.call("gpt-4o", persona="a") as call:
        call.record({"text": "x" * 4000})
    assert recorded.points(n.TOKENS_USED.otel_name) == {}
    assert "carries no usable token usage" in caplog.text


def test_list_priced_models_are_left_to_the_collector(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    """A model you did not price has tokens and no cost here: the collector prices it."""
    llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))
    with llm.call("gpt-4o-mini", persona="a") as call:
        call.record(usage=Usage(10, 5))
    assert call.cost_usd is None
    assert recorded.points(n.LLM_TOKENS.otel_name) == {
        attrs(persona="a", model="gpt-4o-mini", token_type="input"): 10,
        attrs(persona="a", model="gpt-4o-mini", token_type="output"): 5,
    }
    assert recorded.points(n.LLM_COST.otel_name) == {}
    assert recorded.points(n.LLM_UNPRICED_TOKENS.otel_name) == {}
    assert "no price" not in caplog.text


def test_without_list_prices_an_unpriced_model_counts_as_unpriced(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    """include_defaults=False: a model with no price of yours counts as unpriced, here."""
    llm = ObservableLLM(
        PersonaMetricsCollector(telemetry=recorded.telemetry),
        prices=PriceTable(include_defaults=False),
    )
    with llm.call("house-model", persona="a") as call:
        call.record(usage=Usage(10, 5))
    assert sum(recorded.points(n.LLM_TOKENS.otel_name).values()) == 15
    assert recorded.points(n.LLM_COST.otel_name) == {}
    assert recorded.points(n.LLM_UNPRICED_TOKENS.otel_name) == {
        attrs(persona="a", model="house-model"): 15
    }
    assert "no price for model 'house-model'" in caplog.text


def test_content_is_captured_only_when_enabled(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With capture on, prompt and completion text go on the span as events."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))
    with llm.call("gpt-4o", persona="a") as call:
        call.record(openai_chat(3, 4), prompt="What is 2+2?")
    (span,) = recorded.spans(n.SPAN_TYPE_LLM_CALL)
    events = {e.name: dict(e.attributes or {}) for e in span.events}
    assert events == {
        "gen_ai.content.prompt": {"gen_ai.prompt": "What is 2+2?"},
        "gen_ai.content.completion": {"gen_ai.completion": "Sure, here is the plan."},
    }


def test_bad_input_to_llm_calls_never_raises(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Odd model names, bad usage values and non-text content are cleaned or dropped."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))
    with llm.call(123, persona="a") as call:  # type: ignore[arg-type]
        call.record(usage=Usage(10, 5), prompt=5)  # type: ignore[arg-type]
    with llm.call(["gpt"], persona="a") as call:  # type: ignore[arg-type]
        call.record(usage=Usage("ten", 5))  # type: ignore[arg-type]
    with llm.call("gpt-4o", persona="a") as call:
        call.record(usage=Usage(float("nan"), 5))  # type: ignore[arg-type]
    assert recorded.points(n.LLM_TOKENS.otel_name) == {
        attrs(persona="a", model="123", token_type="input"): 10,
        attrs(persona="a", model="123", token_type="output"): 5,
    }
    assert recorded.points(n.DROPPED_MEASUREMENTS.otel_name) == {
        attrs(reason="not_a_number"): 1,
        attrs(reason="not_finite"): 1,
    }


def test_recording_twice_counts_once(recorded: Recorded) -> None:
    """A second record() of the same call is ignored, not counted again."""
    llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))
    with llm.call("gpt-4o", persona="a") as call:
        call.record(usage=Usage(10, 0))
        call.record(usage=Usage(10, 0))
    assert sum(recorded.points(n.LLM_TOKENS.otel_name).values()) == 10


def test_duration_keeps_the_response_model_without_usage(recorded: Recorded) -> None:
    """A response with a model but no usage still labels the call span with that model."""
    llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))
    with llm.call(persona="a") as call:
        call.record({"model": "gpt-4o-mini", "choices": []})
    (span,) = recorded.spans(n.SPAN_TYPE_LLM_CALL)
    assert (span.attributes or {})[n.ATTR_MODEL] == "gpt-4o-mini"


def test_provider_name_follows_the_model(recorded: Recorded) -> None:
    """Known model families name their provider in gen_ai.provider.name."""
    llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))
    for model in ("gpt-4o", "claude-sonnet-4", "local-llama"):
        with llm.call(model, persona="a"):
            pass
    providers = [
        (s.attributes or {}).get(n.GEN_AI_PROVIDER_NAME)
        for s in recorded.spans(n.SPAN_TYPE_LLM_CALL)
    ]
    assert providers == ["openai", "anthropic", None]


def test_calls_follow_configure_and_keep_budgeted_personas(recorded: Recorded) -> None:
    """After configure(), a call records through the new Telemetry with its persona unfolded."""
    llm = ObservableLLM(PersonaMetricsCollector())  # follows the current Telemetry
    with capture_telemetry(max_label_values=1) as after:
        llm.collector.record_token_usage("filler", "x", "gpt-4", 1)
        with llm.call("gpt-4", persona="backend-engineer") as call:
            call.record(usage=Usage(10, 5))
    (span,) = after.spans(n.SPAN_TYPE_LLM_CALL)
    assert (span.attributes or {})[n.ATTR_PERSONA] == "backend-engineer"
    assert after.tokens_used(persona="backend-engineer") == 15
    assert recorded.spans(n.SPAN_TYPE_LLM_CALL) == []
