"""Cost estimates: your prices first, then list prices from genai-prices (``_prices.py``).

The list prices are the data the ``genai-prices`` package ships, rendered into
``_prices.py`` by ``hypertool render``; the collector prices foreign producers' usage from
the same rendering, so a model costs the same whoever reports its tokens. Nothing is
fetched at run time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final, Protocol, cast

from hypertool_agent import _prices
from hypertool_agent.errors import ConfigurationError

#: A dated or pinned version after a model family's name.
_VERSION_SUFFIX: Final = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|@.+|:.+)$")


class _Usage(Protocol):
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...


@dataclass(frozen=True)
class Price:
    """List price in US dollars per million tokens; cache prices default to the input one."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # Compiled on first use: a short-lived agent pays only for the models it calls.
    return re.compile(pattern)


def _matches(tree: tuple[object, ...], name: str) -> bool:
    kind, body = tree
    if kind == "re":
        return _compiled(str(body)).search(name) is not None
    if kind == "not":
        return _compiled(str(body)).search(name) is None
    branches: tuple[tuple[object, ...], ...] = body  # type: ignore[assignment]
    if kind == "any":
        return any(_matches(branch, name) for branch in branches)
    return all(_matches(branch, name) for branch in branches)


#: One dated price: (first UTC day or None, (from, to) second of the UTC day or None,
#: input, output, cache read, cache write) in USD per million tokens.
_Usd = float | None
_Row = tuple[str | None, tuple[int, int] | None, _Usd, _Usd, _Usd, _Usd]
_Model = tuple[str, tuple[object, ...], tuple[_Row, ...]]
_Provider = tuple[str, tuple[object, ...], tuple[_Model, ...]]


def _daily(window: tuple[int, int] | None, second: int) -> bool:
    if window is None:
        return True
    start, end = window
    if end < start:
        return second >= start or second < end
    return start <= second < end


def _in_force(prices: tuple[_Row, ...], when: dt.datetime) -> Price | None:
    """The first price in force at ``when``: genai-prices applies the latest that is."""
    day = when.date()
    second = when.hour * 3600 + when.minute * 60 + when.second
    for start, daily, inp, out, read, write in prices:
        if start is not None and dt.date.fromisoformat(start) > day:
            continue
        if not _daily(daily, second):
            continue
        if inp is None:
            return None  # priced in other units (audio, images): not by the token
        return Price(inp, out or 0.0, read, write)
    return None


def list_price(model: str, when: dt.datetime | None = None) -> Price | None:
    """The genai-prices list price of ``model`` at ``when`` (UTC; now if None), or None.

    As genai-prices matches a name without a provider: the first provider that claims
    the name, then its first model (or its fallback providers' models) that matches.
    """
    prices = _model_prices(model.lower())
    if prices is None:
        return None
    return _in_force(prices, (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC))


@lru_cache(maxsize=1024)
def _model_prices(name: str) -> tuple[_Row, ...] | None:
    providers = cast(tuple[_Provider, ...], _prices.PROVIDERS)
    for _provider, provider_match, models in providers:
        if not _matches(provider_match, name):
            continue
        for _key, model_match, prices in models:
            if _matches(model_match, name):
                return prices
        return None
    return None


def _usd(value: object, optional: bool = False) -> bool:
    if value is None:
        return optional
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value >= 0


def _valid(price: object) -> bool:
    """A Price whose every figure is a finite number of dollars, >= 0."""
    return (
        isinstance(price, Price)
        and _usd(price.input)
        and _usd(price.output)
        and _usd(price.cache_read, optional=True)
        and _usd(price.cache_write, optional=True)
    )


class PriceTable:
    """Model prices for cost estimates: your own entries first, then list prices.

    ``PriceTable({"house-model": Price(1.0, 2.0)})`` prices ``house-model`` (and its dated
    versions, ``house-model-2025-01-01``) at your price, and every other model at the list
    price genai-prices ships, in force on the day of the call. ``include_defaults=False``
    keeps only your entries.
    """

    def __init__(
        self, prices: Mapping[str, Price] | None = None, *, include_defaults: bool = True
    ) -> None:
        """Your ``prices`` (USD per million tokens), over the list prices unless excluded."""
        if prices is not None and not isinstance(prices, Mapping):
            raise ConfigurationError(
                f"prices: expected a mapping of model name to Price, got {type(prices).__name__}"
            )
        own: dict[str, Price] = {}
        for model, price in (prices or {}).items():
            if not isinstance(model, str) or not _valid(price):
                raise ConfigurationError(
                    f"prices[{model!r}]: expected a model name and Price(input=, output=) in "
                    f"USD per million tokens, finite and >= 0, got {price!r}"
                )
            own[model] = price
        self._own = own
        self._list_prices = include_defaults

    def price(self, model: str, when: dt.datetime | None = None) -> Price | None:
        """The price of ``model`` at ``when`` (now if None), or None if unknown.

        Your entry for the model or its family (``gpt-4o-2024-08-06`` takes ``gpt-4o``'s),
        else the list price.
        """
        own = self._own.get(model) or self._own.get(_VERSION_SUFFIX.sub("", model))
        if own is not None or not self._list_prices:
            return own
        return list_price(model, when)

    def cost(self, model: str, usage: _Usage, when: dt.datetime | None = None) -> float | None:
        """The cost of ``usage`` at ``when`` (now if None) in USD, or None without a price."""
        price = self.price(model, when)
        if price is None:
            return None
        cache_read = price.input if price.cache_read is None else price.cache_read
        cache_write = price.input if price.cache_write is None else price.cache_write
        plain_input = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
        return (
            plain_input * price.input
            + usage.cache_read_tokens * cache_read
            + usage.cache_write_tokens * cache_write
            + usage.output_tokens * price.output
        ) / 1_000_000
