"""Input hygiene at run time: bad measurements are logged once per kind and dropped or fixed.

Nothing here raises into the host program. Every measurement dropped is also counted in
``hypertool.agent.dropped_measurements{reason}``, so that no loss is silent.
"""

from __future__ import annotations

import decimal
import logging
import math
import numbers
import threading
from collections.abc import Callable, Iterable
from typing import Final, cast

from hypertool_agent import names as n

_log = logging.getLogger("hypertool_agent")

DEFAULT_MAX_LABEL_VALUES: Final = n.MAX_LABEL_VALUES
MAX_LABEL_LENGTH: Final = n.MAX_LABEL_LENGTH

# Reasons a measurement is dropped: the values of the `reason` label.
DROP_NEGATIVE: Final = "negative"
DROP_NOT_FINITE: Final = "not_finite"
DROP_NOT_A_NUMBER: Final = "not_a_number"
DROP_TOO_LARGE: Final = "too_large"
#: Above 2**53 a token count is not exact as a double, and OTLP refuses values above 2**63
#: for the whole export: no real count comes near either.
MAX_TOKENS: Final = 2**53
#: Bound of the label cache: a few labels per key times the cardinality limit.
_MAX_KNOWN: Final = 100_000


class Guard:
    """Normalizes label values and token counts; bounds label cardinality per key."""

    def __init__(
        self,
        max_label_values: int = DEFAULT_MAX_LABEL_VALUES,
        on_drop: Callable[[str], None] | None = None,
    ) -> None:
        """Keep at most ``max_label_values`` distinct values per label key."""
        self.max_label_values = max_label_values
        self._seen: dict[str, set[str]] = {}
        self._reserved: dict[str, set[str]] = {}
        #: (key, raw value) -> label, for raw strings already accepted.
        self._known: dict[tuple[str, str], str] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._on_drop = on_drop

    def warn_once(self, kind: str, message: str, *args: object) -> None:
        """Log ``message`` the first time ``kind`` happens, and never again."""
        with self._lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
        _log.warning("hypertool: " + message + " (logged once)", *args)

    def reserve(self, key: str, values: Iterable[str]) -> None:
        """Always keep ``values`` of ``key`` as they are, outside the cardinality limit."""
        with self._lock:
            self._reserved.setdefault(key, set()).update(values)

    def label(self, key: str, value: object) -> str:
        """A usable label value: a non-empty string of bounded length and cardinality."""
        if type(value) is str:
            known = self._known.get((key, value))
            if known is not None:  # the hot path: a value seen before, no lock
                return known
        text = self.text(key, value)
        with self._lock:
            if text in self._reserved.get(key, ()):
                self._remember(key, value, text)
                return text
            seen = self._seen.setdefault(key, set())
            if text in seen or len(seen) < self.max_label_values:
                seen.add(text)
                self._remember(key, value, text)
                return text
        self.warn_once(
            f"cardinality:{key}",
            "more than %d distinct values of label %r; further new values are recorded as %r "
            "(raise HYPERTOOL_MAX_LABEL_VALUES if they are legitimate)",
            self.max_label_values,
            key,
            n.OTHER,
        )
        return n.OTHER

    def _remember(self, key: str, value: object, text: str) -> None:
        # Only accepted values are remembered, so the cache is as bounded as the labels.
        if type(value) is str and len(self._known) < _MAX_KNOWN:
            self._known[(key, value)] = text

    def text(self, key: str, value: object) -> str:
        """``value`` as a clean string: stripped, at most 128 characters, never empty."""
        if (
            type(value) is str
            and 0 < len(value) <= MAX_LABEL_LENGTH
            and not value[0].isspace()
            and not value[-1].isspace()
        ):
            return value
        if value is None or (isinstance(value, str) and not value.strip()):
            self.warn_once(f"empty:{key}", "empty %s recorded as %r", key, n.UNKNOWN)
            return n.UNKNOWN
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if not isinstance(value, str):
            self.warn_once(
                f"type:{key}", "%s of type %s recorded as its str()", key, type(value).__name__
            )
            try:
                value = str(value)
            except Exception:  # noqa: BLE001 - a broken __str__ is the caller's, not a crash
                return n.UNKNOWN
        text = value.strip()
        if len(text) > MAX_LABEL_LENGTH:
            self.warn_once(
                f"length:{key}", "%s longer than %d characters truncated", key, MAX_LABEL_LENGTH
            )
            text = text[:MAX_LABEL_LENGTH]
        return text

    def tokens(self, value: object) -> int | None:
        """A token count as a whole number >= 0, or None when it must be dropped.

        Whole numbers pass; numeric strings are parsed; finite non-negative fractions are
        rounded to the nearest whole number. Negative, NaN, infinite, boolean and
        non-numeric counts are dropped.
        """
        if type(value) is int and 0 <= value <= MAX_TOKENS:
            return value  # the hot path
        reason = self._invalid(value)
        if reason is not None:
            self._drop(reason, value)
            return None
        if isinstance(value, numbers.Integral):
            return int(value)  # exact, however large
        if isinstance(value, str):
            self.warn_once("tokens:str", "token count given as a string; parsed as a number")
        real = float(cast(numbers.Real, value))
        count = round(real)
        if count != real:
            self.warn_once("tokens:fraction", "fractional token count rounded to %d", count)
        return count

    @staticmethod
    def _invalid(value: object) -> str | None:  # noqa: PLR0911 - one return per drop reason
        """Why ``value`` cannot be a token count, or None if it can."""
        if isinstance(value, bool):
            return DROP_NOT_A_NUMBER
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return DROP_NOT_A_NUMBER
        if isinstance(value, numbers.Integral):
            whole = int(value)  # no float: a huge int would overflow it
            return DROP_TOO_LARGE if whole > MAX_TOKENS else DROP_NEGATIVE if whole < 0 else None
        if not isinstance(value, numbers.Real | decimal.Decimal):
            return DROP_NOT_A_NUMBER
        real = float(value)
        if not math.isfinite(real):
            return DROP_NOT_FINITE
        if real > MAX_TOKENS:
            return DROP_TOO_LARGE
        return DROP_NEGATIVE if real < 0 else None

    def _drop(self, reason: str, value: object) -> None:
        self.warn_once(
            f"drop:{reason}",
            "token count %r dropped (%s); further such counts are dropped and counted in "
            "hypertool_agent_dropped_measurements_total",
            value,
            reason,
        )
        if self._on_drop is not None:
            self._on_drop(reason)
