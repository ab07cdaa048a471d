"""Write cases.json: what genai-prices itself charges, for the Go engine's table test.

Each case is a provider (or none), a model name, a moment and a usage, with what
genai-prices' public ``calc_price`` makes of them: the provider and model it finds and the
input, output and total price, or that it finds no model ("no_match", LookupError) or
refuses the usage or the prices ("no_price", ValueError). The cases are chosen from the
pinned package's data: every provider, dated prices just before and at each start date,
both sides of every time-of-day window, below and above price tiers, cache tokens priced
and not, every kind of unit a model prices, unknown models and providers, and names in
other cases, with litellm prefixes and compact dates. Deterministic (no randomness, no
clock): run it again, get the same file.

Run with the repository's .venv after a genai-prices upgrade (``hypertool render`` writes
the data file; tests/unit/test_pricebook.py fails until both are current)::

    .venv/bin/python collector-config/components/genaiprices/testdata/make_cases.py
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import genai_prices
from genai_prices import Usage, calc_price
from genai_prices import types as gp
from genai_prices.data import providers as PROVIDERS
from genai_prices.data_units import unit_data as UNITS

CASES: Final = Path(__file__).resolve().parent / "cases.json"
UTC: Final = dt.UTC
MICROSECOND: Final = dt.timedelta(microseconds=1)
#: When the dated prices hold: moments spread over the data's dates, at several hours.
MOMENTS: Final = (
    dt.datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
    dt.datetime(2025, 7, 15, 18, 30, tzinfo=UTC),
    dt.datetime(2026, 2, 10, 2, 45, 30, 250000, tzinfo=UTC),
    dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
    dt.datetime(2027, 6, 1, 23, 59, 59, 999999, tzinfo=UTC),
)
LATE: Final = dt.datetime(2027, 3, 3, 12, 0, tzinfo=UTC)
#: How many models of each provider the per-provider cases take (spread over its list).
PER_PROVIDER: Final = 8
#: How many of them are also named in other cases (genai-prices lowercases names).
RECASED: Final = 2
#: Usage counts by the unit's family: a spread to draw from.
SCALE: Final[Mapping[str, int]] = {
    "tokens": 40_000,
    "characters": 20_000,
    "messages": 50,
    "durations": 900,
    "pixels": 5_000_000,
    "document_pages": 40,
    "rerank": 30,
    "tool_calls": 12,
}
#: OpenTelemetry's gen_ai.provider.name values (and older gen_ai.system ones), each with
#: a model of that provider: what the collector will be given.
OTEL: Final = (
    ("openai", "gpt-4o"),
    ("anthropic", "claude-sonnet-4-5"),
    ("gcp.gemini", "gemini-2.5-pro"),
    ("gcp.vertex_ai", "gemini-2.5-flash"),
    ("gcp.vertex_ai", "claude-opus-4-1"),
    ("gcp.gen_ai", "gemini-2.5-flash"),
    ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
    ("aws.bedrock", "amazon.nova-pro-v1:0"),
    ("azure.ai.openai", "gpt-4o"),
    ("azure.ai.inference", "gpt-4o"),
    ("azure", "gpt-4o-mini"),
    ("azure", "claude-sonnet-4-5"),
    ("cohere", "command-r-plus"),
    ("deepseek", "deepseek-chat"),
    ("groq", "llama-3.3-70b-versatile"),
    ("ibm.watsonx.ai", "granite-3-8b-instruct"),
    ("mistral_ai", "mistral-large-latest"),
    ("perplexity", "sonar-pro"),
    ("x_ai", "grok-4"),
    ("xai", "grok-4"),
    ("vertex_ai", "gemini-2.0-flash"),
    ("gemini", "gemini-2.0-flash"),
    ("az.ai.openai", "gpt-4.1"),
    ("az.ai.inference", "gpt-4.1"),
    ("aws_bedrock", "amazon.nova-lite-v1:0"),
    ("together_ai", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ("openrouter", "openai/gpt-4o"),
    ("moonshot", "kimi-k2-0905-preview"),
)
#: Names genai-prices cannot place, or places only in part.
UNKNOWN: Final[tuple[tuple[str | None, str], ...]] = (
    (None, "no-such-model"),
    (None, ""),
    (None, "gpt"),
    (None, "gpt-unknown-9000"),
    (None, "claude-unknown-1"),
    (None, "llama-3-70b"),
    (None, "o9-mini"),
    ("openai", "claude-sonnet-4-5"),
    ("anthropic", "gpt-4o"),
    ("no-such-provider", "gpt-4o"),
    ("litellm", "no-such-provider/gpt-4o"),
    ("litellm", "gpt-4o"),
    ("litellm", "openai/gpt-4o"),
    ("litellm", "anthropic/claude-3-5-haiku-latest"),
    ("LiteLLM", "Groq/llama-3.3-70b-versatile"),
    ("litellm", "/gpt-4o"),
    (" litellm", "openai/gpt-4o"),
    ("openai", ""),
    ("  OpenAI\t", "GPT-4o"),
    ("ANTHROPIC", "Claude-Sonnet-4-5"),
    ("\x1cgoogle\x1f", "gemini-2.5-pro"),
    (None, "GPT-4O-MINI"),
    (None, "Claude-3-5-Sonnet-Latest"),
    (None, "Gemini-2.5-Flash"),
    (None, "DeepSeek-Chat"),
    (None, "MISTRAL-LARGE-LATEST"),
    (None, "models/mistral-large-latest"),
    (None, "labs-mistral-small"),
    (None, "gemini-2.5-pro-preview-tts"),
    (None, "gemini-2.5-pro-preview-TTS"),
    (None, "gemini-2.5-pro-tts-x"),
    (None, "gemini-2.5-pro-ttsx"),
    (None, "gemini-3.8-flash-tts"),
    (None, "gemini-2.5-flash-lite-preview-06-17"),
    (None, "gemini-2.5-flash-lite-preview-tts"),
    (None, "gpt-4o\n"),
    (None, "gpt-5.4-2026-03-05\n"),
    (None, "gpt-5.4-20260305"),
    (None, "gpt-5.4-20260231"),
    (None, "gpt-5.4-202\u06660305"),
    (None, "gpt-5.4-20260305\n"),
    (None, "gpt-5.4-20260305-x"),
    (None, "gpt-5.4-20260305x"),
    (None, "gpt-5.4-mini-2030-01-01\n"),
    (None, "gpt-5.4-mini-2030-01-01\n\n"),
    (None, "grok-4.3-20300101\n"),
    (None, "grok-4.3-2030010\u0666"),
    (None, "claude-opus-5-2030-01-0\u0661"),
    ("openrouter", "openai/gpt-5.6-sol-20260801"),
    ("openrouter", "openai/gpt-5.6-sol-2026-08-01"),
    (None, "claude-opus-5-20260115"),
    (None, "claude-opus-5@20260115"),
    (None, "gpt-4o-\u0130"),
    (None, "\u0130gpt-4o"),
    (None, "claude-\u03a3"),
    (None, "GROK-4\u212a"),
    (None, "@cf/meta/llama-3.1-8b-instruct"),
    (None, "accounts/fireworks/models/llama-v3p1-8b-instruct"),
    (None, "composer-2.5[fast=true]"),
    (None, "command-r7b-12-2024"),
    (None, "voyage-3"),
    (None, "eleven_multilingual_v2"),
    (None, "kimi-k2-0905-preview"),
    (None, "glm-4.6"),
    (None, "MiniMax-M2"),
    (None, "jev-1.13-20260101"),
    (None, "typesafe/jev-1.14"),
    (None, "muse-spark-1"),
    (None, "databricks-claude-sonnet-4-5"),
    (None, "cerebras/llama3.1-8b"),
    (None, "o3-mini"),
    (None, "o1"),
    (None, "whisper-1"),
    (None, "tts-1-hd"),
)


@dataclass(frozen=True)
class Case:
    """One lookup and one price: the arguments of calc_price, and what it answers."""

    name: str
    provider: str | None
    model: str
    when: dt.datetime
    usage: Mapping[str, float]

    def expect(self) -> dict[str, str]:
        """What genai-prices makes of it."""
        try:
            result = calc_price(
                Usage(**self.usage),
                self.model,
                provider_id=self.provider,
                genai_request_timestamp=self.when,
            )
        except LookupError:
            return {"error": "no_match"}
        except ValueError:
            return {"error": "no_price", **_found(self.provider, self.model, self.when)}
        return {
            "provider": result.provider.id,
            "model": result.model.id,
            "input": str(result.input_price),
            "output": str(result.output_price),
            "total": str(result.total_price),
        }

    def line(self) -> str:
        """The case as one line of cases.json."""
        record = {
            "name": self.name,
            "provider": self.provider,
            "model": self.model,
            "time": self.when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "usage": dict(self.usage),
            "expect": self.expect(),
        }
        return json.dumps(record, ensure_ascii=True)


def _found(provider: str | None, model: str, when: dt.datetime) -> dict[str, str]:
    """The provider and model genai-prices finds, where it refuses to price a usage."""
    try:
        result = calc_price(Usage(), model, provider_id=provider, genai_request_timestamp=when)
    except ValueError:
        return {}
    return {"provider": result.provider.id, "model": result.model.id}


def _draw(*key: object) -> int:
    """A number below 2**32 that depends on key only."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _parts(part: str, whole: str) -> bool:
    """Unit ``part`` is part of unit ``whole``, or is it."""
    dims = UNITS[part]["dimensions"]
    return all(dims.get(k) == v for k, v in UNITS[whole]["dimensions"].items())


def _priced_keys(price: gp.ModelPrice) -> list[str]:
    """The usage keys a price set prices (not requests: one per calculation)."""
    by_price_key = {unit.get("price_key", key): key for key, unit in UNITS.items()}
    return [
        by_price_key[key]
        for key, value in vars(price).items()
        if value is not None and key in by_price_key and by_price_key[key] != "requests"
    ]


def usage_for(price: gp.ModelPrice, *key: object, tokens: int = SCALE["tokens"]) -> dict[str, int]:
    """A usage that gives each priced unit a count of its own, and input and output tokens.

    Each priced unit's own count is drawn (up to ``tokens`` for tokens); a unit's count is
    its own plus those of the priced units part of it, as genai-prices' Usage counts. Now
    and then cache reads or reasoning tokens the model has no price for ride along (priced
    as input or output).
    """
    priced = _priced_keys(price)
    scale = {**SCALE, "tokens": tokens}
    own = {
        unit: 1 + _draw(*key, unit) % scale[UNITS[unit]["dimensions"]["family"]] for unit in priced
    }
    usage = {unit: sum(own[p] for p in priced if _parts(p, unit)) for unit in priced}
    usage.setdefault("input_tokens", 1 + _draw(*key, "in") % 9_000)
    usage.setdefault("output_tokens", 1 + _draw(*key, "out") % 3_000)
    extra = _draw(*key, "extra") % 4
    if extra == 0 and "cache_read_tokens" not in usage:
        usage["cache_read_tokens"] = usage["input_tokens"] // 3 or 1
    if extra == 1 and "output_reasoning_tokens" not in usage:
        usage["output_reasoning_tokens"] = usage["output_tokens"] // 2 or 1
    return usage


Constraint = gp.StartDateConstraint | gp.TimeOfDateConstraint | None


def _prices(model: gp.ModelInfo) -> list[tuple[Constraint, gp.ModelPrice]]:
    """A model's prices with their conditions, in its order."""
    if isinstance(model.prices, gp.ModelPrice):
        return [(None, model.prices)]
    return [(c.constraint, c.prices) for c in model.prices]


def _spread(models: list[gp.ModelInfo], n: int) -> list[gp.ModelInfo]:
    """Up to n models, evenly spread over the list, first and last included."""
    if len(models) <= n:
        return models
    return [models[round(i * (len(models) - 1) / (n - 1))] for i in range(n)]


def per_provider() -> Iterator[Case]:
    """Models of every provider, named with the provider and (where it claims) without."""
    for p_index, provider in enumerate(PROVIDERS):
        for m_index, model in enumerate(_spread(provider.models, PER_PROVIDER)):
            when = MOMENTS[(p_index + m_index) % len(MOMENTS)]
            usage = usage_for(model.get_prices(when), provider.id, model.id)
            yield Case(f"provider {provider.id}", provider.id, model.id, when, usage)
            if provider.model_match is not None and m_index % 2 == 0:
                yield Case(f"claimed {provider.id}", None, model.id, when, usage)
            if m_index < RECASED:
                shouted, title = provider.id.upper(), model.id.title()
                yield Case(f"case {provider.id}", shouted, model.id.upper(), when, usage)
                yield Case(f"case {provider.id}", f" {provider.id.title()} ", title, when, usage)


def dated() -> Iterator[Case]:
    """Just before and at the start of every dated price (UTC midnight)."""
    for provider in PROVIDERS:
        for model in provider.models:
            for constraint, price in _prices(model):
                if not isinstance(constraint, gp.StartDateConstraint):
                    continue
                start = dt.datetime.combine(constraint.start_date, dt.time(), tzinfo=UTC)
                usage = usage_for(price, provider.id, model.id, start)
                for when in (start - MICROSECOND, start):
                    yield Case(f"dated {provider.id}", provider.id, model.id, when, usage)


def daily() -> Iterator[Case]:
    """Both sides of both ends of every time-of-day price window."""
    for provider in PROVIDERS:
        for model in provider.models:
            for constraint, price in _prices(model):
                if not isinstance(constraint, gp.TimeOfDateConstraint):
                    continue
                usage = usage_for(price, provider.id, model.id, "daily")
                for edge in (constraint.start_time, constraint.end_time):
                    at = dt.datetime.combine(LATE.date(), edge.replace(tzinfo=None), tzinfo=UTC)
                    for when in (at - MICROSECOND, at):
                        yield Case(f"daily {provider.id}", provider.id, model.id, when, usage)


def tiered() -> Iterator[Case]:
    """Input tokens at and one above each tier's start, for every model with tiers."""
    for provider in PROVIDERS:
        for model in provider.models:
            constraint, price = _prices(model)[-1]
            when = LATE if constraint is None else _in_force(constraint)
            tiers = [v for v in vars(price).values() if isinstance(v, gp.TieredPrices)]
            if not tiers:
                continue
            for start in sorted({t.start for tp in tiers for t in tp.tiers}):
                for input_tokens in (start, start + 1):
                    # The parts of the input (cache reads, audio...) are small: all
                    # together they stay below the input tokens, at every tier's start.
                    usage = usage_for(price, provider.id, model.id, start, tokens=1_000)
                    usage["input_tokens"] = input_tokens
                    yield Case(f"tiers {provider.id}", provider.id, model.id, when, usage)


def _in_force(constraint: gp.StartDateConstraint | gp.TimeOfDateConstraint) -> dt.datetime:
    """A moment the constraint holds at."""
    if isinstance(constraint, gp.StartDateConstraint):
        return dt.datetime.combine(constraint.start_date, dt.time(12), tzinfo=UTC)
    return dt.datetime.combine(LATE.date(), constraint.start_time.replace(tzinfo=None), tzinfo=UTC)


def named() -> Iterator[Case]:
    """OpenTelemetry's provider names, unknown names, other cases, litellm, compact dates."""
    usage = {"input_tokens": 12_345, "cache_read_tokens": 2_345, "output_tokens": 678}
    for otel_name, model in OTEL:
        yield Case("otel", otel_name, model, LATE, usage)
    for provider, model in UNKNOWN:
        yield Case("names", provider, model, LATE, usage)


def usages() -> Iterator[Case]:
    """Usage genai-prices refuses or reads in a particular way, and the units beyond tokens."""
    late = LATE
    for model, usage in (
        ("claude-sonnet-4-5", {"input_tokens": 100, "cache_read_tokens": 200}),
        ("claude-sonnet-4-5", {"cache_read_tokens": 200, "output_tokens": 5}),
        ("claude-sonnet-4-5", {"cache_write_tokens": 50, "cache_write_1h_tokens": 60}),
        ("claude-sonnet-4-5", {"input_tokens": 900, "cache_write_tokens": 300}),
        (
            "claude-sonnet-4-5",
            {"input_tokens": 900, "cache_write_tokens": 300, "cache_write_1h_tokens": 100},
        ),
        ("claude-sonnet-4-5", {"input_tokens": 900, "cache_write_1h_tokens": 100}),
        ("claude-sonnet-4-5", {"input_tokens": 900, "cache_write_5m_tokens": 100}),
        ("claude-sonnet-4-5", {"output_tokens": 900, "output_reasoning_tokens": 901}),
        ("claude-sonnet-4-5", {"output_reasoning_tokens": 10}),
        ("claude-sonnet-4-5", {"input_tokens": 10, "web_searches": 3}),
        ("claude-sonnet-4-5", {"input_audio_tokens": 10}),
        ("claude-sonnet-4-5", {"input_tokens": 10, "input_audio_tokens": 10}),
        ("claude-sonnet-4-5", {}),
        ("gpt-4o", {"input_tokens": 1000, "cache_read_tokens": 1000}),
        ("gpt-4o", {"input_tokens": 1000, "cache_write_tokens": 400}),
        ("gpt-4o", {"input_tokens": 1000, "input_audio_tokens": 400, "cache_read_tokens": 10}),
        ("gpt-4o", {"cache_read_tokens": 1, "input_text_tokens": 1}),
        ("gpt-4o", {"input_tokens": 3, "cache_read_tokens": 1, "input_text_tokens": 1}),
        ("gpt-4o-audio-preview", {"input_tokens": 5000, "input_audio_tokens": 1000}),
        (
            "gpt-4o-realtime-preview",
            {"input_tokens": 5000, "input_audio_tokens": 1000, "cache_read_tokens": 600},
        ),
        ("whisper-1", {"audio_seconds": 42}),
        ("whisper-1", {"input_audio_seconds": 42}),
        ("tts-1", {"input_characters": 5000}),
        ("gpt-4o", {"input_tokens": 1500.5, "output_tokens": 20.25}),
    ):
        yield Case("usage", None, model, late, usage)
    for provider, model, usage in (
        ("groq", "whisper-large-v3", {"audio_seconds": 4}),
        ("groq", "whisper-large-v3", {"audio_seconds": 25}),
        ("groq", "whisper-large-v3-turbo", {"input_audio_seconds": 3}),
        ("groq", "whisper-large-v3-turbo", {"audio_seconds": 5, "input_audio_seconds": 30}),
        ("groq", "whisper-large-v3", {"input_tokens": 10}),
        ("perplexity", "sonar-pro", {"input_tokens": 10, "output_tokens": 10}),
        ("perplexity", "sonar-deep-research", {"output_tokens": 10, "output_reasoning_tokens": 4}),
        ("x-ai", "grok-voice-latest", {"input_text_messages": 7}),
        ("openai", "gpt-image-1", {"input_tokens": 100, "output_image_tokens": 4000}),
    ):
        yield Case("usage", provider, model, late, usage)


def all_cases() -> list[Case]:
    """Every case, in a fixed order."""
    return [*per_provider(), *dated(), *daily(), *tiered(), *named(), *usages()]


def cases_json() -> str:
    """cases.json: the genai-prices version, its unit registry, and every case."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a usage key genai-prices ignores is a bad case
        lines = [case.line() for case in all_cases()]
    units = {
        key: {
            "price_key": unit.get("price_key", key),
            "per": unit["per"],
            "dimensions": unit["dimensions"],
        }
        for key, unit in UNITS.items()
    }
    head = {"genai_prices": genai_prices.__version__, "units": units}
    text = json.dumps(head, indent=1, sort_keys=True)[: -len("\n}")]
    return text + ',\n "cases": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n"


def main() -> None:
    """Write cases.json next to this script."""
    CASES.write_text(cases_json(), encoding="ascii")


if __name__ == "__main__":
    main()
