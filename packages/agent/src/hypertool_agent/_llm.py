"""LLM call tracking: real token usage from the response, cost at your own prices.

Usage is read from what the provider returned (OpenAI-style ``prompt_tokens`` /
``completion_tokens`` or ``input_tokens`` / ``output_tokens``, Anthropic-style with cache
tokens, or a plain dict). It is never estimated from text. Prompt and completion text is
captured only when asked (``capture_content=True`` or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, ParamSpec, Self, TypeVar, cast, overload

from opentelemetry.trace import Span

from hypertool_agent import names as n
from hypertool_agent._instruments import Instruments
from hypertool_agent._persona import PersonaMetricsCollector
from hypertool_agent._pricing import Price, PriceTable
from hypertool_agent._spans import SyncAndAsync, mark_error

P = ParamSpec("P")
T = TypeVar("T")

ENV_CAPTURE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
#: Longest prompt or completion text put on a span when capture is on.
MAX_CONTENT_CHARS: Final = 8192


@dataclass(frozen=True)
class Usage:
    """Tokens of one LLM call. ``input_tokens`` includes the cached ones."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


def _field(obj: object, key: str) -> Any:  # noqa: ANN401 - provider objects are untyped
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _first(obj: object, *keys: str) -> Any:  # noqa: ANN401 - provider objects are untyped
    for key in keys:
        value = _field(obj, key)
        if value is not None:
            return value
    return None


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def extract_usage(response: object) -> Usage | None:
    """The usage in an LLM response (or usage object, or dict), or None if it has none."""
    usage = _field(response, "usage")
    if usage is None:
        usage = _field(response, "usage_metadata")
    if usage is None:
        usage = response
    prompt = _count(_first(usage, "input_tokens", "prompt_tokens", "prompt_token_count"))
    completion = _count(
        _first(usage, "output_tokens", "completion_tokens", "candidates_token_count")
    )
    if prompt is None or completion is None:
        return None
    # Anthropic reports cache tokens beside input_tokens; OpenAI counts them inside it.
    cache_read = _count(_field(usage, "cache_read_input_tokens")) or 0
    cache_write = _count(_field(usage, "cache_creation_input_tokens")) or 0
    if cache_read or cache_write:
        return Usage(prompt + cache_read + cache_write, completion, cache_read, cache_write)
    details = _first(usage, "prompt_tokens_details", "input_tokens_details")
    cached = _count(_field(details, "cached_tokens")) if details is not None else None
    return Usage(prompt, completion, cache_read_tokens=min(cached or 0, prompt))


def _provider(model: str | None) -> str | None:
    """The gen_ai.provider.name a model name implies, for the models we know."""
    if model is None:
        return None
    for prefixes, provider in _PROVIDERS:
        if model.startswith(prefixes):
            return provider
    return None


_PROVIDERS: Final = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-"), "openai"),
    (("claude-",), "anthropic"),
    (("gemini-",), "gcp.gemini"),
)


def _response_model(response: object) -> str | None:
    model = _field(response, "model")
    return model if isinstance(model, str) and model else None


def _completion_text(response: object) -> str | None:
    choices = _field(response, "choices")
    if isinstance(choices, list) and choices:
        content = _field(_field(choices[0], "message"), "content")
        return content if isinstance(content, str) else None
    content = _field(response, "content")
    if isinstance(content, list) and content:
        text = _field(content[0], "text")
        return text if isinstance(text, str) else None
    return None


class LLMCall(SyncAndAsync["LLMCall"]):
    """One LLM call as a span; ``record`` its response. Use with ``with`` or ``async with``."""

    def __init__(
        self, llm: ObservableLLM, model: str | None, persona: str | None, chatmode: str | None
    ) -> None:
        """Prepare a call; the span starts on entering the context."""
        self._llm = llm
        self._model = None if model is None else llm.instruments.guard.text(n.MODEL, model)
        collector = llm.collector
        self._persona = persona or collector.current_persona or n.UNKNOWN
        self._chatmode = chatmode or collector.current_chatmode or n.UNKNOWN
        self._stack: ExitStack | None = None
        self.span: Span | None = None
        self.usage: Usage | None = None
        self.cost_usd: float | None = None
        self._recorded = False
        self._model_label: str | None = None

    def __enter__(self) -> Self:
        guard = self._llm.instruments.guard
        persona = guard.label(n.PERSONA, self._persona)
        stack = ExitStack()
        self.span = stack.enter_context(
            self._llm.collector.telemetry.tracer.start_as_current_span(
                f"{n.GEN_AI_OPERATION_CHAT} {self._model or 'llm'}",
                attributes={
                    n.SPAN_TYPE: n.SPAN_TYPE_LLM_CALL,
                    n.GEN_AI_OPERATION_NAME: n.GEN_AI_OPERATION_CHAT,
                    n.GEN_AI_AGENT_NAME: persona,
                    n.ATTR_PERSONA: persona,
                    **({n.GEN_AI_REQUEST_MODEL: self._model} if self._model else {}),
                    **({n.GEN_AI_PROVIDER_NAME: p} if (p := _provider(self._model)) else {}),
                },
                record_exception=False,
                set_status_on_exception=False,
            )
        )
        self._stack = stack
        return self

    def record(
        self,
        response: object = None,
        *,
        usage: Usage | None = None,
        model: str | None = None,
        prompt: str | None = None,
        completion: str | None = None,
    ) -> Usage | None:
        """Record the call's response: its usage, cost and (if captured) content.

        Once per call: a second record() is ignored with a warning, never counted twice.
        Usage is read from ``response`` unless given::

            with llm.call("gpt-4o", persona="backend-engineer") as call:
                call.record(client.chat.completions.create(model="gpt-4o", messages=msgs))
        """
        guard = self._llm.instruments.guard
        if self._recorded:
            guard.warn_once("llm:twice", "LLMCall.record() called twice; the second is ignored")
            return self.usage
        self._recorded = True
        model_name = self._note_response(response, model, prompt, completion)
        if usage is None and response is not None:
            usage = extract_usage(response)
        self.usage = self._usable(usage, model_name)
        if self.usage is not None:
            self._count(self.usage, model_name)
        return self.usage

    def _note_response(
        self, response: object, model: str | None, prompt: str | None, completion: str | None
    ) -> str:
        """The model the call is counted under; the span learns what the response said."""
        guard = self._llm.instruments.guard
        response_model = _response_model(response)
        model_name = guard.text(n.MODEL, model or self._model or response_model)
        self._model_label = guard.label(n.MODEL, model_name)
        if self.span is not None:
            if response_model is not None:
                self.span.set_attribute(n.GEN_AI_RESPONSE_MODEL, response_model)
            if self._llm.capture_content:
                self._capture(self.span, prompt, completion or _completion_text(response))
        return model_name

    def _usable(self, usage: Usage | None, model_name: str) -> Usage | None:
        checked = None if usage is None else self._checked(usage)
        if checked is None:
            self._llm.instruments.guard.warn_once(
                "llm:no-usage",
                "an LLM response for model %r carries no usable token usage: its tokens are "
                "not recorded (pass usage=Usage(...) to record them)",
                model_name,
            )
        return checked

    def _count(self, usage: Usage, model_name: str) -> None:
        """Tokens to the persona (and its budget) and by type, cost, and the span's usage."""
        llm = self._llm
        llm.collector.record_token_usage(
            self._persona, self._chatmode, model_name, usage.total_tokens
        )
        labels = {
            n.PERSONA: llm.instruments.guard.label(n.PERSONA, self._persona),
            n.MODEL: self._model_label or n.UNKNOWN,
        }
        # Your own price is applied here; list prices by the collector, fleet-wide.
        own = llm.prices.decides(model_name)
        priced_by = {n.ATTR_PRICED_BY: n.PRICED_BY_USER} if own else {}
        for token_type, count in (
            (n.TOKEN_TYPE_INPUT, usage.input_tokens),
            (n.TOKEN_TYPE_OUTPUT, usage.output_tokens),
        ):
            llm.instruments.llm_tokens.add(count, {**labels, n.TOKEN_TYPE: token_type, **priced_by})
        self.cost_usd = llm.prices.cost(model_name, usage) if own else None
        if own and self.cost_usd is None:
            llm.instruments.guard.warn_once(
                f"llm:no-price:{self._model_label}",
                "no price for model %r and list prices excluded: its tokens count as "
                "unpriced (give it a price with ObservableLLM(prices={...}))",
                model_name,
            )
            llm.instruments.llm_unpriced_tokens.add(usage.total_tokens, labels)
        elif self.cost_usd is not None:
            estimated = {**labels, n.COST_SOURCE: n.COST_ESTIMATED}
            llm.instruments.llm_cost.add(self.cost_usd, estimated)
        if self.span is not None:
            self.span.set_attribute(n.GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens)
            self.span.set_attribute(n.GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens)
            if self.cost_usd is not None:
                self.span.set_attribute(n.ATTR_COST_USD, self.cost_usd)

    def _checked(self, usage: Usage) -> Usage | None:
        """``usage`` with every count valid, or None (counted as dropped) if one is not."""
        tokens = self._llm.instruments.guard.tokens
        counts = [
            tokens(getattr(usage, f))
            for f in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
        ]
        if any(c is None for c in counts):
            return None
        inp, out, read, write = cast(list[int], counts)
        return Usage(inp, out, min(read, inp), min(write, inp - min(read, inp)))

    @staticmethod
    def _capture(span: Span, prompt: object, completion: object) -> None:
        for event, key, text in (
            ("gen_ai.content.prompt", "gen_ai.prompt", prompt),
            ("gen_ai.content.completion", "gen_ai.completion", completion),
        ):
            if text is not None:
                span.add_event(event, {key: str(text)[:MAX_CONTENT_CHARS]})

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span, stack = self.span, self._stack
        self._stack = None
        if span is None or stack is None:
            return
        # The collector makes the call-duration histogram from the span's model label.
        if self._model_label is None:
            self._model_label = self._llm.instruments.guard.label(n.MODEL, self._model)
        span.set_attribute(n.ATTR_MODEL, self._model_label)
        if exc is not None:
            mark_error(span, exc)
        stack.close()


class ObservableLLM:
    """Wraps LLM calls: a span each, tokens by type, cost in USD, duration."""

    def __init__(
        self,
        collector: PersonaMetricsCollector | None = None,
        *,
        prices: PriceTable | Mapping[str, Price] | None = None,
        capture_content: bool | None = None,
    ) -> None:
        """Track calls for ``collector``'s current persona (a new collector if None)."""
        self.collector = collector if collector is not None else PersonaMetricsCollector()
        self.prices = prices if isinstance(prices, PriceTable) else PriceTable(prices)
        if capture_content is None:
            capture_content = os.environ.get(ENV_CAPTURE_CONTENT, "").lower() == "true"
        self.capture_content = capture_content

    @property
    def instruments(self) -> Instruments:
        """The instruments of the collector's current Telemetry."""
        # Through the collector, which reserves its budgeted personas on each Telemetry's
        # guard: a call's span and its token series then name the same persona.
        return self.collector._instruments

    def call(
        self, model: str | None = None, *, persona: str | None = None, chatmode: str | None = None
    ) -> LLMCall:
        """A context manager around one call; ``record`` the response inside it."""
        return LLMCall(self, model, persona, chatmode)

    @overload
    def observe(self, func: Callable[P, T], /) -> Callable[P, T]: ...

    @overload
    def observe(
        self,
        func: None = None,
        /,
        *,
        model: str | None = None,
        persona: str | None = None,
        chatmode: str | None = None,
    ) -> Callable[[Callable[P, T]], Callable[P, T]]: ...

    def observe(
        self,
        func: Callable[P, T] | None = None,
        /,
        *,
        model: str | None = None,
        persona: str | None = None,
        chatmode: str | None = None,
    ) -> Callable[P, T] | Callable[[Callable[P, T]], Callable[P, T]]:
        """Decorate a sync or async function that returns an LLM response."""

        def decorate(fn: Callable[P, T]) -> Callable[P, T]:
            if inspect.iscoroutinefunction(fn):
                async_fn = cast(Callable[P, Awaitable[Any]], fn)

                @functools.wraps(fn)
                async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:  # noqa: ANN401
                    with self.call(model, persona=persona, chatmode=chatmode) as call:
                        response = await async_fn(*args, **kwargs)
                        call.record(response)
                        return response

                return cast(Callable[P, T], async_wrapper)

            @functools.wraps(fn)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
                with self.call(model, persona=persona, chatmode=chatmode) as call:
                    response = fn(*args, **kwargs)
                    call.record(response)
                    return response

            return wrapper

        return decorate if func is None else decorate(func)
