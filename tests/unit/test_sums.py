"""In-process sums: what the hot path adds reaches the counters exactly once, as deltas."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import cast

import pytest
from opentelemetry.metrics import Counter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

import hypertool_agent
from hypertool_agent import PersonaMetricsCollector, Telemetry, WorkflowTracer
from hypertool_agent import names as n
from hypertool_agent.testing import SUMS_LABEL_KEYS, Sums, build_telemetry

TOKENS = n.TOKENS_USED.otel_name


def no_export() -> TracerProvider:
    """A tracer provider that sends spans nowhere: these tests read only metrics."""
    return TracerProvider(shutdown_on_exit=False)


def _delta_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader(preferred_temporality=hypertool_agent.PREFERRED_TEMPORALITY)


@pytest.fixture
def delta() -> Iterator[tuple[Telemetry, InMemoryMetricReader]]:
    """A Telemetry recording through a delta reader, as the OTLP exporter does."""
    reader = _delta_reader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    telemetry = build_telemetry(meter_provider=provider, tracer_provider=no_export())
    yield telemetry, reader
    telemetry.shutdown()


def _collect(reader: InMemoryMetricReader) -> dict[str, dict[frozenset[object], int]]:
    """One collection: each metric's data points, by attribute set."""
    found: dict[str, dict[frozenset[object], int]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data is not None else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                points = found.setdefault(metric.name, {})
                for point in metric.data.data_points:
                    key = frozenset((point.attributes or {}).items())
                    points[key] = points.get(key, 0) + int(point.value)  # type: ignore[union-attr]
    return found


def _points(reader: InMemoryMetricReader) -> dict[frozenset[object], int]:
    """One collection's token usage points."""
    return _collect(reader).get(TOKENS, {})


def _total(reader: InMemoryMetricReader) -> int:
    return sum(_points(reader).values())


def _attrs(**labels: str) -> frozenset[object]:
    return frozenset(labels.items())


def test_each_collection_hands_over_what_was_added_since_the_last(
    delta: tuple[Telemetry, InMemoryMetricReader],
) -> None:
    """Deltas per label set: 850, then 300, then nothing when nothing was added."""
    telemetry, reader = delta
    collector = PersonaMetricsCollector(telemetry=telemetry)
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 850)
    labels = _attrs(persona="backend-engineer", chatmode="code-gen", model="gpt-4o")
    assert _points(reader) == {labels: 850}
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 100)
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 200)
    assert _points(reader) == {labels: 300}
    assert _points(reader) == {}


def test_threads_lose_no_increment_while_a_reader_collects(
    delta: tuple[Telemetry, InMemoryMetricReader],
) -> None:
    """16 threads add 4,000 usages each while collections run: every token is counted once."""
    telemetry, reader = delta
    collector = PersonaMetricsCollector(telemetry=telemetry)
    personas = ["backend-engineer", "testing-specialist", "frontend-engineer"]
    tokens: list[int] = []
    switches: list[int] = []
    done = threading.Event()

    def read() -> None:
        got = _collect(reader)
        tokens.append(sum(got.get(TOKENS, {}).values()))
        switches.append(sum(got.get(n.PERSONA_SWITCHES.otel_name, {}).values()))

    def collect_until_done() -> None:
        while not done.is_set():
            read()

    def work(i: int) -> None:
        for j in range(4_000):
            collector.record_token_usage(personas[(i + j) % 3], "code-gen", "gpt-4o", 1 + j % 7)
            if j % 1_000 == 0:
                collector.switch_persona(None, personas[i % 3], "code-gen")

    reading = threading.Thread(target=collect_until_done)
    reading.start()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    reading.join()
    read()
    assert sum(tokens) == 16 * sum(1 + j % 7 for j in range(4_000))
    assert len([t for t in tokens if t]) > 1  # collections did run in the middle
    assert sum(switches) == 16 * 4
    assert collector.get_remaining_budget("backend-engineer") == 2000 - sum(
        1 + j % 7 for i in range(16) for j in range(4_000) if (i + j) % 3 == 0
    )


def test_every_reader_sees_every_increment_once() -> None:
    """Two readers collecting at different times each count the whole usage."""
    first, second = _delta_reader(), _delta_reader()
    provider = MeterProvider(metric_readers=[first, second], shutdown_on_exit=False)
    telemetry = build_telemetry(meter_provider=provider, tracer_provider=no_export())
    try:
        collector = PersonaMetricsCollector(telemetry=telemetry)
        collector.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 10)
        seen_first = _total(first)
        collector.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 5)
        seen_second = _total(second)
        seen_first += _total(first)
        assert (seen_first, seen_second) == (15, 15)
    finally:
        telemetry.shutdown()


class _Owner:
    """Something a ThreadTotals can hold a weak reference to."""


def test_a_thread_that_adds_and_ends_while_it_is_handed_over_loses_nothing() -> None:
    """Growth added after a thread's hand-over, just before it ends, reaches the next collection."""
    reader = _delta_reader()
    meter = MeterProvider(metric_readers=[reader], shutdown_on_exit=False).get_meter("t")
    counter = meter.create_counter(TOKENS)
    labels = ("backend-engineer", "code-gen", "gpt-4o")
    ready, go_on = threading.Event(), threading.Event()
    owner = _Owner()

    def work() -> None:
        totals = sums.new_totals(owner)
        totals.tokens_used[labels] = 10
        ready.set()
        go_on.wait()
        totals.tokens_used[labels] = 15  # after its hand-over; then the thread ends

    worker = threading.Thread(target=work)

    class EndsTheWorkerAtTheFirstAdd:
        """The real counter; its first add lets the worker add once more and end."""

        def add(self, amount: int, attributes: dict[str, str]) -> None:
            counter.add(amount, attributes)
            if not go_on.is_set():
                go_on.set()
                worker.join()

    sums = Sums(dict.fromkeys(SUMS_LABEL_KEYS, cast(Counter, EndsTheWorkerAtTheFirstAdd())))
    worker.start()
    ready.wait()
    sums.collect()
    sums.collect()
    assert _total(reader) == 15


def test_usage_of_a_collector_let_go_and_of_an_ended_thread_is_still_exported(
    delta: tuple[Telemetry, InMemoryMetricReader],
) -> None:
    """Nothing waits on its owner: a collector garbage-collected still hands over its sums."""
    telemetry, reader = delta
    kept = PersonaMetricsCollector(telemetry=telemetry)
    worker = threading.Thread(
        target=kept.record_token_usage, args=("backend-engineer", "code-gen", "gpt-4o", 40)
    )
    worker.start()
    worker.join()
    dropped = PersonaMetricsCollector(telemetry=telemetry)
    dropped.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 2)
    del dropped
    gc.collect()
    assert _total(reader) == 42
    assert kept.get_remaining_budget("backend-engineer") == 2000 - 40
    kept.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 8)  # retires the thread
    assert kept.get_remaining_budget("backend-engineer") == 2000 - 48
    assert _total(reader) == 8


def test_quality_gates_switches_and_workflow_tokens_are_summed_too(
    delta: tuple[Telemetry, InMemoryMetricReader],
) -> None:
    """Gates, switches and a workflow's tokens arrive as one point per label set."""
    telemetry, reader = delta
    collector = PersonaMetricsCollector(telemetry=telemetry)
    tracer = WorkflowTracer("package_release", collector)
    with tracer:
        for _ in range(3):
            collector.record_quality_gate("package_release", "version_bump", passed=True)
            collector.switch_persona(None, "backend-engineer", "code-gen")
            collector.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 7)
    got = _collect(reader)
    gate = _attrs(workflow="package_release", stage="version_bump", result="passed")
    assert got[n.QUALITY_GATE.otel_name] == {gate: 3}
    switch = _attrs(from_persona=n.NO_PERSONA, to_persona="backend-engineer", chatmode="code-gen")
    assert got[n.PERSONA_SWITCHES.otel_name] == {switch: 3}
    run = _attrs(workflow="package_release", persona="backend-engineer", model="gpt-4o")
    assert got[n.WORKFLOW_TOKENS.otel_name] == {run: 21}
