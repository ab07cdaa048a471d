"""Your own prices, for the calls you price yourself; list prices are the collector's.

The library carries no price table. The collector prices every token at genai-prices'
list price, in force when the tokens were used, from genai-prices' own data file: one
price book for every producer, updated without touching the agents. A ``PriceTable``
holds only the prices you give it (negotiated rates, house models): a call priced there
carries its cost and says so (``hypertool.llm.priced_by``), and the collector does not
price its tokens again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

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
    """Your price in US dollars per million tokens; cache prices default to the input one."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


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
    """Your own model prices; every other model is priced by the collector, at list price.

    ``PriceTable({"house-model": Price(1.0, 2.0)})`` prices ``house-model`` (and its dated
    versions, ``house-model-2025-01-01``) at your price, in the agent. Every other model's
    tokens are priced fleet-wide by the collector, from genai-prices' data.
    ``include_defaults=False`` keeps list prices out: the models you did not price count
    as unpriced.
    """

    def __init__(
        self, prices: Mapping[str, Price] | None = None, *, include_defaults: bool = True
    ) -> None:
        """Your ``prices`` (USD per million tokens); list prices too unless excluded."""
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

    def price(self, model: str) -> Price | None:
        """Your price of ``model`` or its family (``m-2024-08-06`` takes ``m``'s), or None."""
        return self._own.get(model) or self._own.get(_VERSION_SUFFIX.sub("", model))

    def decides(self, model: str) -> bool:
        """Whether this table prices ``model`` (or leaves it unpriced), not the collector."""
        return not self._list_prices or self.price(model) is not None

    def cost(self, model: str, usage: _Usage) -> float | None:
        """The cost of ``usage`` at your price in USD, or None without one."""
        price = self.price(model)
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
