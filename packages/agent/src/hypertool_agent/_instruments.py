"""The OTLP counters the agent records with, and the input guard they share."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.metrics import Counter, Meter

from hypertool_agent import names as n
from hypertool_agent._guard import Guard
from hypertool_agent._sums import Sums


@dataclass(frozen=True)
class Instruments:
    """Everything the agent records with, sharing one guard: one set per Telemetry.

    The counters a program hits in its loops (tokens used, persona switches, quality
    gates) are summed in process by ``sums`` and handed over at collection; the rest
    are plain counters.
    """

    sums: Sums
    llm_tokens: Counter
    llm_cost: Counter
    llm_unpriced_tokens: Counter
    dropped: Counter
    guard: Guard


def _counter(meter: Meter, name: n.Instrument) -> Counter:
    return meter.create_counter(name.otel_name, unit=name.unit, description=name.description)


def create_instruments(meter: Meter, max_label_values: int) -> Instruments:
    """The counters of ``meter`` and a guard that counts what it drops in ``dropped``."""
    dropped = _counter(meter, n.DROPPED_MEASUREMENTS)
    sums = Sums(
        {
            "tokens_used": _counter(meter, n.TOKENS_USED),
            "workflow_tokens": _counter(meter, n.WORKFLOW_TOKENS),
            "switches": _counter(meter, n.PERSONA_SWITCHES),
            "quality_gate": _counter(meter, n.QUALITY_GATE),
        }
    )
    sums.hand_over_on_collection(meter)
    return Instruments(
        sums=sums,
        llm_tokens=_counter(meter, n.LLM_TOKENS),
        llm_cost=_counter(meter, n.LLM_COST),
        llm_unpriced_tokens=_counter(meter, n.LLM_UNPRICED_TOKENS),
        dropped=dropped,
        guard=Guard(max_label_values, on_drop=lambda reason: dropped.add(1, {n.REASON: reason})),
    )
