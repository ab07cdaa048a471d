"""What the collector's price lookup costs: CPU per GenAI usage point, with and without it.

Two collectors run the same load, alternately: one with the repository's price book, and
one whose book is empty (HYPERTOOL_PRICES_FILE names a file holding ``[]``), where every
point is counted as unpriced after a lookup that finds nothing. A
load generator sends delta ``gen_ai.client.token.usage`` points, one per model and token
type per export, for priced models of five providers and for models no price is known
for (which run every provider's patterns and find none). The collector's CPU time (user
plus system, from /proc) per point received is the figure.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from hypertool_tools.stack.launcher import Stack
from tests.conftest import free_stack_ports

ROOT = Path(__file__).resolve().parents[1]
PRICED = (
    "gpt-4o-mini",
    "gpt-4.1",
    "claude-sonnet-4-20250514",
    "gemini-2.5-pro",
    "mistral-large-latest",
)
UNPRICED = tuple(f"house-model-{i}" for i in range(5))


def _collector_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _send(endpoint: str, models: tuple[str, ...], exports: int) -> int:
    """``exports`` delta exports of one usage point per model and token type."""
    exporter = OTLPMetricExporter(
        endpoint=endpoint,
        insecure=True,
        preferred_temporality={Histogram: AggregationTemporality.DELTA},
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"hypertool.persona.name": "bench"})
    )
    meter = provider.get_meter("opentelemetry.instrumentation.openai.v1")
    usage = meter.create_histogram("gen_ai.client.token.usage", unit="token")
    sent = 0
    for _ in range(exports):
        for model in models:
            for token_type in ("input", "output"):
                attributes = {"gen_ai.token.type": token_type, "gen_ai.response.model": model}
                usage.record(10, attributes)
                sent += 1
        provider.force_flush()
    provider.shutdown()
    return sent


def _empty_book() -> Path:
    """A price book with no provider: nothing is priced, every point counts as unpriced."""
    path = Path(tempfile.mkdtemp(prefix="hypertool-noprices-")) / "genai-prices.json"
    path.write_text("[]\n")
    return path


def _us_per_point(book: Path | None, models: tuple[str, ...], exports: int) -> float:
    stack = Stack(
        ROOT,
        collector_env={"HYPERTOOL_PRICES_FILE": str(book)} if book else {},
        state_dir=Path(tempfile.mkdtemp(prefix="hypertool-pricing-")),
        ports=free_stack_ports(),
        scrape_interval="1s",
        evaluation_interval="1s",
    )
    stack.up()
    try:
        pid = stack.pid("collector")
        assert pid is not None  # noqa: S101 - up() waited for it
        _send(stack.otlp_grpc_endpoint, models, 5)  # warm up
        before = _collector_cpu_seconds(pid)
        sent = _send(stack.otlp_grpc_endpoint, models, exports)
        time.sleep(1.0)  # the last batch (200 ms) is processed
        return (_collector_cpu_seconds(pid) - before) / sent * 1e6
    finally:
        stack.down()


def run(exports: int = 300, rounds: int = 2) -> dict[str, Any]:
    """Median collector CPU per GenAI usage point (µs), with and without the lookup."""
    empty = _empty_book()
    samples: dict[str, list[float]] = {}
    try:
        for _ in range(rounds):
            for name, book, models in (
                ("with_prices_priced_models", None, PRICED),
                ("with_prices_unpriced_models", None, UNPRICED),
                ("without_prices", empty, PRICED),
            ):
                samples.setdefault(name, []).append(_us_per_point(book, models, exports))
    finally:
        shutil.rmtree(empty.parent, ignore_errors=True)
    result: dict[str, Any] = {k: statistics.median(v) for k, v in samples.items()}
    result["ratio_priced_to_without"] = (
        result["with_prices_priced_models"] / result["without_prices"]
    )
    result["points_per_export"] = 2 * len(PRICED)
    return result
