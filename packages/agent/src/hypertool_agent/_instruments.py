"""The OTLP instruments and the input guard, one set per Telemetry."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from opentelemetry.metrics import Counter, Meter

from hypertool_agent import names as n
from hypertool_agent._guard import Guard
from hypertool_agent._telemetry import Telemetry


@dataclass(frozen=True)
class Instruments:
    """Everything the agent records with, sharing one guard."""

    switches: Counter
    tokens_used: Counter
    quality_gate: Counter
    workflow_tokens: Counter
    llm_tokens: Counter
    llm_cost: Counter
    dropped: Counter
    guard: Guard


def _counter(meter: Meter, name: n.Instrument) -> Counter:
    return meter.create_counter(name.otel_name, unit=name.unit, description=name.description)


_lock = threading.Lock()


def instruments(telemetry: Telemetry) -> Instruments:
    """The instruments of ``telemetry``: every collector in a process adds to the same ones."""
    found = _by_telemetry.get(telemetry)
    if found is None:
        with _lock:  # one set, hence one guard and one cardinality bound, per Telemetry
            found = _by_telemetry.get(telemetry)
            if found is None:
                found = _by_telemetry[telemetry] = _create(telemetry)
    return found


_by_telemetry: weakref.WeakKeyDictionary[Telemetry, Instruments] = weakref.WeakKeyDictionary()


def _create(telemetry: Telemetry) -> Instruments:
    meter = telemetry.meter
    dropped = _counter(meter, n.DROPPED_MEASUREMENTS)
    return Instruments(
        switches=_counter(meter, n.PERSONA_SWITCHES),
        tokens_used=_counter(meter, n.TOKENS_USED),
        quality_gate=_counter(meter, n.QUALITY_GATE),
        workflow_tokens=_counter(meter, n.WORKFLOW_TOKENS),
        llm_tokens=_counter(meter, n.LLM_TOKENS),
        llm_cost=_counter(meter, n.LLM_COST),
        dropped=dropped,
        guard=Guard(
            telemetry.max_label_values,
            on_drop=lambda reason: dropped.add(1, {n.REASON: reason}),
        ),
    )
