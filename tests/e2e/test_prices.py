"""The collector's price book against genai-prices itself, for every model it knows.

A process using the raw OpenTelemetry SDK (as a GenAI instrumentation does) reports
`gen_ai.client.token.usage` for every model the rendered book holds, by the model's own
id, plus a few names no provider claims; the collector's estimated cost per model must
be what `genai_prices.calc_price` says those tokens cost, and the unknown names must land
in the unpriced series.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import textwrap
from collections.abc import Iterator

import pytest
from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price
from genai_prices.data import providers

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, Sample, running_stack
from tests.e2e._producers import JOB, keyed

pytestmark = pytest.mark.e2e

PERSONA = "price-check"
INPUT_TOKENS, OUTPUT_TOKENS = 1_000, 200
UNKNOWN = ("house-model-7b", "acme-coder")
#: Names as producers write them: any case, a dated version of a family.
ALIASES = ("GPT-4o-Mini", "claude-sonnet-4-20250514", "gpt-4o-2024-08-06")

SEND = """
    import json, os
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality, PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import Resource

    exporter = OTLPMetricExporter(
        preferred_temporality={Histogram: AggregationTemporality.DELTA}
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"hypertool.persona.name": os.environ["PERSONA"]}),
    )
    usage = provider.get_meter("some.genai.instrumentation").create_histogram(
        "gen_ai.client.token.usage", unit="token"
    )
    counts = {"input": int(os.environ["INPUT"]), "output": int(os.environ["OUTPUT"])}
    for model in json.loads(os.environ["MODELS"]):
        for token_type, tokens in counts.items():
            usage.record(tokens, {"gen_ai.token.type": token_type, "gen_ai.response.model": model})
    provider.shutdown()
"""


def _genai_prices(model: str, when: dt.datetime) -> float | None:
    """genai-prices' cost of the usage at ``when``; None where it has no token price."""
    usage = GenaiUsage(input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS)
    try:
        result = calc_price(usage, model, genai_request_timestamp=when)
    except LookupError:
        return None
    if result.model_price.input_mtok is None:
        return None
    return float(result.total_price)


def _models() -> list[str]:
    """Every rendered model by its own id, where genai-prices prices that id by the token."""
    now = dt.datetime.now(dt.UTC)
    # The models of the providers a model name can be told from (resellers cannot).
    claimed = (m.id for p in providers if p.model_match is not None for m in p.models)
    names = set(claimed) | set(ALIASES)
    return sorted(m for m in names if _genai_prices(m, now) is not None)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """A stack of its own: hundreds of models make hundreds of series."""
    # Every model of the price book at once: far more distinct models than the collector
    # keeps by default (a real fleet uses a few), so the bound is raised for this test.
    with running_stack(
        tmp_path_factory.mktemp("prices"),
        "1s",
        # One process sends every model: above the per-producer quota of new values too.
        collector_env={
            "HYPERTOOL_MAX_LABEL_VALUES": "2000",
            "HYPERTOOL_PRODUCER_LABEL_QUOTA": "2000",
        },
    ) as native:
        yield native


def test_every_model_costs_what_genai_prices_says(stack: NativeStack) -> None:
    """Estimated cost per model equals genai-prices' price for the same tokens, at send time."""
    models = _models()
    assert len(models) > 300
    before = dt.datetime.now(dt.UTC)
    stack.run_python(
        textwrap.dedent(SEND),
        PERSONA=PERSONA,
        MODELS=json.dumps(models),
        INPUT=str(INPUT_TOKENS),
        OUTPUT=str(OUTPUT_TOKENS),
    )
    after = dt.datetime.now(dt.UTC)
    cost = c.LLM_COST.prometheus_name
    promql = f'sum by ({n.MODEL}) ({cost}{{{JOB},{n.PERSONA}="{PERSONA}"}})'
    samples: list[Sample] = stack.prometheus.wait_for(
        promql, lambda r: len(r) >= len(models), timeout=60
    )
    got = keyed(samples, n.MODEL)
    assert sorted(got) == models
    wrong = {}
    for model in models:
        # A price that changes at a time of day (DeepSeek's peak hours) may have changed
        # while the points were in flight: either side of the change is right.
        wanted = {_genai_prices(model, before), _genai_prices(model, after)}
        if not any(w is not None and math.isclose(got[model], w, rel_tol=1e-9) for w in wanted):
            wrong[model] = (got[model], wanted)
    assert wrong == {}


def test_unknown_models_are_unpriced(stack: NativeStack) -> None:
    """Names no provider claims: their tokens in the unpriced series, in no cost."""
    stack.run_python(
        textwrap.dedent(SEND),
        PERSONA="price-unknown",
        MODELS=json.dumps(UNKNOWN),
        INPUT=str(INPUT_TOKENS),
        OUTPUT=str(OUTPUT_TOKENS),
    )
    sel = f'{JOB},{n.PERSONA}="price-unknown"'
    unpriced = f"sum by ({n.MODEL}) ({c.LLM_UNPRICED_TOKENS.prometheus_name}{{{sel}}})"
    want = {m: float(INPUT_TOKENS + OUTPUT_TOKENS) for m in UNKNOWN}
    stack.prometheus.wait_for(unpriced, lambda r: keyed(r, n.MODEL) == want)
    assert stack.prometheus.query(f"{c.LLM_COST.prometheus_name}{{{sel}}}") == []
