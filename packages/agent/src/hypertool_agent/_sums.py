"""In-process sums: the hot path adds to a plain dict, the SDK sees one add per label set.

The OpenTelemetry SDK's per-call cost is its attribute handling: every ``Counter.add``
builds, hashes and looks up an attribute dict. An agent records the same few label sets
over and over, so it adds to a dict keyed by the label tuple instead, and the counters
get what was added since the last collection, once per label set, when a reader
collects. Exports stay delta and exact.

No lock on the hot path: each thread adds to its own running totals (``ThreadTotals``),
which only that thread writes. Collection copies them (one atomic ``dict.copy``), and
hands each counter the difference from what it handed before. A late increment is not
lost, only left for the next collection.

Collection runs the callback of one observable instrument that observes nothing; the
callback adds to the synchronous counters first, and a synchronous add reaches every
reader, so a provider with several readers still sees each increment exactly once.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

from opentelemetry.metrics import CallbackOptions, Counter, Meter, Observation

from hypertool_agent import names as n

#: The instrument whose callback hands the sums over. It observes nothing, so it exports
#: nothing: it is not part of the names contract.
COLLECTION_HOOK = "hypertool.agent.collection_hook"

Labels = tuple[str, ...]


class ThreadTotals:
    """Running totals since start, per label tuple, of one thread for one owner.

    Only the thread that made it writes to it; anyone may read a ``copy()``.
    """

    __slots__ = (
        "__weakref__",
        "_owner",
        "_thread",
        "quality_gate",
        "switches",
        "tokens_used",
        "workflow_tokens",
    )

    def __init__(self, owner: object) -> None:
        """Totals written by the current thread on behalf of ``owner`` (a collector)."""
        #: (persona, chatmode, model)
        self.tokens_used: dict[Labels, int] = {}
        #: (workflow, persona, model)
        self.workflow_tokens: dict[Labels, int] = {}
        #: (from_persona, to_persona, chatmode)
        self.switches: dict[Labels, int] = {}
        #: (workflow, stage, result)
        self.quality_gate: dict[Labels, int] = {}
        self._thread = weakref.ref(threading.current_thread())
        self._owner = weakref.ref(owner)

    def finished(self) -> bool:
        """Whether nothing will ever write here again: its thread or its owner is gone."""
        thread = self._thread()
        return thread is None or not thread.is_alive() or self._owner() is None


#: ThreadTotals field -> the label keys of its tuples, in order.
LABEL_KEYS: dict[str, tuple[str, ...]] = {
    "tokens_used": (n.PERSONA, n.CHATMODE, n.MODEL),
    "workflow_tokens": (n.WORKFLOW, n.PERSONA, n.MODEL),
    "switches": (n.FROM_PERSONA, n.TO_PERSONA, n.CHATMODE),
    "quality_gate": (n.WORKFLOW, n.STAGE, n.RESULT),
}


@dataclass
class _Handed:
    """What collection already handed to the counters from one ThreadTotals."""

    totals: ThreadTotals
    by_field: dict[str, dict[Labels, int]] = field(
        default_factory=lambda: {name: {} for name in LABEL_KEYS}
    )


class Sums:
    """Every ThreadTotals of one Telemetry, handed to its counters at each collection.

    ``counters`` maps each ThreadTotals field to the counter it feeds::

        sums = Sums({"tokens_used": tokens_counter, ...})
        totals = sums.new_totals(owner=collector)
        totals.tokens_used[("backend-engineer", "code-gen", "gpt-4o")] = 850
        sums.collect()  # tokens_counter.add(850, {"persona": "backend-engineer", ...})
    """

    def __init__(self, counters: dict[str, Counter]) -> None:
        """Hand the totals of each field of LABEL_KEYS to ``counters[field]``."""
        self._counters = counters
        self._handed: list[_Handed] = []
        self._lock = threading.Lock()

    def new_totals(self, owner: object) -> ThreadTotals:
        """Running totals for the current thread on behalf of ``owner``, collected here."""
        totals = ThreadTotals(owner)
        with self._lock:
            self._handed.append(_Handed(totals))
        return totals

    def collect(self) -> None:
        """Add to each counter what its totals grew by since the last collection."""
        with self._lock:  # two readers collecting at once must not hand the same growth
            # Asked before handing over: a thread may still add after its hand-over and
            # end before a check made afterwards, and that last growth would be dropped.
            finished = [h.totals.finished() for h in self._handed]
            for handed in self._handed:
                self._hand_over(handed)
            self._handed = [h for h, done in zip(self._handed, finished, strict=True) if not done]

    def _hand_over(self, handed: _Handed) -> None:
        for name, keys in LABEL_KEYS.items():
            now = getattr(handed.totals, name).copy()  # atomic: its thread may be adding
            before = handed.by_field[name]
            counter = self._counters[name]
            for labels, total in now.items():
                previous = before.get(labels)
                # A first 0 is handed over too: recording 0 makes the series exist.
                if previous is None or total != previous:
                    counter.add(total - (previous or 0), dict(zip(keys, labels, strict=True)))
                    before[labels] = total

    def hand_over_on_collection(self, meter: Meter) -> None:
        """Collect whenever a reader of ``meter`` collects, before it reads the counters."""

        def collect(_options: CallbackOptions) -> Iterable[Observation]:
            self.collect()
            return ()

        meter.create_observable_gauge(COLLECTION_HOOK, callbacks=[collect])
