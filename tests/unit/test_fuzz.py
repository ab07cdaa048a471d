"""Property-based fuzzing: no input of any type, in any order, raises into the host.

Hypothesis draws the arguments of every public runtime method of the agent API from any
type, and the order of the calls; the provider responses ``extract_usage`` reads from
arbitrary nested dicts and objects; and the budgets file from arbitrary YAML and JSON.
Each test runs a fixed number of examples (``EXAMPLES``), derandomized, so a run is
reproducible and its size is recorded here.

The properties: a runtime call never raises (bad input is dropped, and a dropped token
count is counted in ``hypertool.agent.dropped_measurements``); ``load_budgets`` raises
nothing but ``ConfigurationError``, at configuration time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypertool_agent import (
    ConfigurationError,
    ObservableLLM,
    PersonaMetricsCollector,
    Usage,
    WorkflowTracer,
    extract_usage,
    load_budgets,
)
from hypertool_agent import names as n
from hypertool_agent.testing import RecordedTelemetry, capture_telemetry

#: Examples per test: fixed, and the figure the closing note reports.
EXAMPLES = 200
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.binary(max_size=50),
    st.sampled_from(["backend-engineer", "", " ", "a\nb", "\x00", "é" * 300, "other"]),
    st.builds(object),
    st.builds(SimpleNamespace),
)
#: Any value: scalars, and lists, tuples, sets and dicts of them, nested.
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(
            st.one_of(st.text(max_size=20), st.integers(), st.none()), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


def _token_count_is_valid(value: object) -> bool:
    """Whether the guard keeps ``value``: a whole, numeric-string or finite real count.

    As documented: non-negative, up to 2**53, fractions rounded; booleans and anything
    else are dropped.
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    if isinstance(value, int):
        return 0 <= value <= 2**53
    if isinstance(value, float):
        return math.isfinite(value) and 0 <= value <= 2**53
    return False


def _dropped(recorded: RecordedTelemetry) -> float:
    return float(sum(recorded.points(n.DROPPED_MEASUREMENTS.otel_name).values()))


def _collector_call(collector: PersonaMetricsCollector, name: str, args: list[Any]) -> None:
    """One public runtime method of the collector, with ``args`` of any type."""
    if name == "switch_persona":
        collector.switch_persona(*args[:3])
    elif name == "record_token_usage":
        collector.record_token_usage(*args[:4])
    elif name == "get_remaining_budget":
        collector.get_remaining_budget(args[0])
    elif name == "reset_budget":
        collector.reset_budget(args[0])
    elif name == "record_quality_gate":
        collector.record_quality_gate(*args[:3])
    elif name == "track_stage":
        with collector.track_stage(*args[:3]):
            pass
    elif name == "end_persona":
        collector.end_persona()


COLLECTOR_METHODS = (
    "switch_persona",
    "record_token_usage",
    "get_remaining_budget",
    "reset_budget",
    "record_quality_gate",
    "track_stage",
    "end_persona",
)


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(COLLECTOR_METHODS), st.lists(anything, min_size=4, max_size=4)),
        max_size=12,
    )
)
def test_collector_methods_never_raise(calls: list[tuple[str, list[Any]]]) -> None:
    """Any sequence of collector calls with arguments of any type returns normally."""
    with capture_telemetry() as recorded:
        collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
        invalid = 0
        for name, args in calls:
            _collector_call(collector, name, args)
            if name == "record_token_usage" and not _token_count_is_valid(args[3]):
                invalid += 1
        # Every token count that could not be recorded is counted as dropped.
        assert _dropped(recorded) == invalid


@FUZZ
@given(st.lists(anything, min_size=3, max_size=3), st.lists(anything, min_size=6, max_size=6))
def test_workflow_tracer_never_raises(names: list[Any], args: list[Any]) -> None:
    """A workflow run with any names, stages and gates of any type returns normally."""
    with capture_telemetry() as recorded:
        collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
        with WorkflowTracer(names[0], collector, telemetry=recorded.telemetry) as tracer:
            with tracer.stage_context(args[0], args[1]):
                collector.record_token_usage(args[1], names[1], names[2], 10)
            assert tracer.run_stage(args[2], args[3], lambda: args[4]) is args[4]
            assert asyncio.run(tracer.trace_stage(args[2], args[3], lambda: args[4])) is args[4]
            collector.record_quality_gate(names[0], args[2], args[5])


@FUZZ
@given(st.lists(anything, min_size=4, max_size=4), anything)
def test_llm_calls_never_raise(args: list[Any], response: object) -> None:
    """A call with any model, persona and chatmode, recording any response, returns normally."""
    with capture_telemetry() as recorded:
        llm = ObservableLLM(PersonaMetricsCollector(telemetry=recorded.telemetry))
        with llm.call(args[0], persona=args[1], chatmode=args[2]) as call:
            call.record(response, model=args[3])

        @llm.observe(model=args[0])
        def ask() -> object:
            return response

        assert ask() is response  # the host's return value passes through unchanged

        @llm.observe
        async def ask_async() -> object:
            return response

        assert asyncio.run(ask_async()) is response


usage_like = st.fixed_dictionaries(
    {},
    optional={
        key: anything
        for key in (
            "input_tokens",
            "output_tokens",
            "prompt_tokens",
            "completion_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
            "prompt_tokens_details",
            "input_tokens_details",
            "prompt_token_count",
            "candidates_token_count",
        )
    },
)
responses = st.one_of(
    anything,
    st.builds(lambda u: {"usage": u}, usage_like),
    st.builds(lambda u: SimpleNamespace(usage=SimpleNamespace(**u)), usage_like),
    st.builds(lambda u: {"usage_metadata": u}, usage_like),
    usage_like,
)


@FUZZ
@given(responses)
def test_usage_extraction_never_raises(response: object) -> None:
    """Any nested dict or object gives a usage with whole, non-negative counts, or None."""
    usage = extract_usage(response)
    if usage is not None:
        assert isinstance(usage, Usage)
        for value in (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens):
            assert isinstance(value, int)
            assert value >= 0
        assert usage.cache_read_tokens + usage.cache_write_tokens <= usage.input_tokens


budget_entry = st.fixed_dictionaries(
    {},
    optional={
        "persona": anything,
        "tokens": anything,
        "period": st.one_of(anything, st.sampled_from(["30m", "1h", "1d", "30d", "2w"])),
        "model": anything,
        "workflow": anything,
    },
)
budget_documents = st.one_of(
    anything,
    st.fixed_dictionaries({"budgets": st.one_of(anything, st.lists(budget_entry, max_size=4))}),
)


def _plain(value: object) -> object:
    """``value`` with only what YAML can write: other objects as their repr."""
    if isinstance(value, dict):
        return {
            k if isinstance(k, str | int) or k is None else repr(k): _plain(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def _text(document: object, form: str) -> str:
    if form == "json":
        return json.dumps(_plain(document), default=repr, allow_nan=True, sort_keys=False)
    return yaml.safe_dump(_plain(document), allow_unicode=True)


@FUZZ
@given(
    document=budget_documents,
    form=st.sampled_from(["yaml", "json"]),
    suffix=st.sampled_from([".yaml", ".json"]),
)
def test_budgets_loader_raises_only_configuration_errors(
    document: object, form: str, suffix: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any YAML or JSON document loads as valid budgets or raises ConfigurationError."""
    path = Path(tmp_path_factory.mktemp("budgets")) / f"budgets{suffix}"
    path.write_text(_text(document, form))
    try:
        budgets = load_budgets(path)
    except ConfigurationError:
        return
    for budget in budgets:
        assert isinstance(budget.persona, str)
        assert budget.persona
        assert isinstance(budget.tokens, int)
        assert budget.tokens >= 0
        assert not isinstance(budget.tokens, bool)
        assert math.isfinite(budget.tokens)


@FUZZ
@given(content=st.binary(max_size=200))
def test_budgets_loader_survives_any_bytes(
    content: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Bytes that are no YAML at all (or not UTF-8) raise ConfigurationError, nothing else."""
    path = Path(tmp_path_factory.mktemp("budgets")) / "budgets.yaml"
    path.write_bytes(content)
    with contextlib.suppress(ConfigurationError):
        load_budgets(path)


@FUZZ
@given(budgets=anything, prices=anything, capture=anything)
def test_configuration_raises_only_configuration_errors(
    budgets: object, prices: object, capture: object
) -> None:
    """Constructors given anything: a working object, or ConfigurationError, never another."""
    with capture_telemetry() as recorded:
        try:
            collector = PersonaMetricsCollector(budgets, telemetry=recorded.telemetry)  # type: ignore[arg-type]
        except ConfigurationError:
            collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
        with contextlib.suppress(ConfigurationError):
            ObservableLLM(collector, prices=prices, capture_content=capture)  # type: ignore[arg-type]


@FUZZ
@given(
    service_name=anything,
    shutdown_timeout=anything,
    export_interval_ms=anything,
    max_label_values=anything,
)
def test_configure_raises_only_configuration_errors(
    service_name: object,
    shutdown_timeout: object,
    export_interval_ms: object,
    max_label_values: object,
) -> None:
    """configure() given anything: a Telemetry, or ConfigurationError, never another error."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from hypertool_agent import configure

    try:
        telemetry = configure(
            service_name=service_name,  # type: ignore[arg-type]
            shutdown_timeout=shutdown_timeout,  # type: ignore[arg-type]
            export_interval_ms=export_interval_ms,  # type: ignore[arg-type]
            tracer_provider=TracerProvider(),
            meter_provider=MeterProvider(),
            max_label_values=max_label_values,  # type: ignore[arg-type]
        )
    except ConfigurationError:
        return
    telemetry.shutdown(0.1)
