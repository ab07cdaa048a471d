"""The price book as data: genai-prices' own data file, for the collector's Go pricing.

The collector's pricing engine (``collector-config/components/genaiprices``, Go) loads the
data of the pinned ``genai-prices`` at start and prices usage as genai-prices'
``calc_price`` does. It reads the data in genai-prices' published schema: the JSON array of
providers the genai-prices repository publishes as ``prices/new_data/v2/data.json`` and its
``UpdatePrices`` downloads and parses (``prices/data.json`` is the frozen v1 schema, which
genai-prices no longer reads). The package ships the same data as Python objects
(``genai_prices.data``); :func:`price_data_json` writes them back as that JSON, so that
what the collector reads is what genai-prices itself would parse into the very objects it
prices with (``tests/unit/test_pricebook.py`` parses it back with genai-prices' own loader
and compares).

The JSON is a bare array of providers, so it has no room for a version: the version is
:data:`SOURCE`, which the Go package states as ``GenaiPricesVersion`` and its tests check
against ``testdata/cases.json`` (written from this same package).

Upgrade the pin and run ``hypertool render`` to take new prices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Final

from genai_prices import __version__ as GENAI_PRICES_VERSION
from genai_prices import data as gp_data
from genai_prices import types as gp

from hypertool_agent import ConfigurationError
from hypertool_tools.render._files import write_rendered

SOURCE: Final = f"genai-prices {GENAI_PRICES_VERSION}"
#: Where ``hypertool render`` writes :func:`price_data_json` (the one copy in the repository).
PRICE_DATA: Final = Path("collector-config") / "generated" / "genai-prices.json"

#: Each genai-prices dataclass: its fields as (attribute, JSON key), in the order of the
#: published data.json (fields genai-prices has and the published schema does not yet
#: name, price_variants, follow the ones it names). Every field must be listed: a field
#: a new genai-prices adds fails the rendering instead of going missing from the data.
_FIELDS: Final[Mapping[type, tuple[tuple[str, str], ...]]] = {
    gp.Provider: tuple(
        (name, name)
        for name in (
            "id",
            "name",
            "pricing_urls",
            "api_pattern",
            "description",
            "price_comments",
            "model_match",
            "provider_match",
            "extractors",
            "fallback_model_providers",
            "models",
        )
    ),
    gp.UsageExtractor: tuple(
        (name, name) for name in ("api_flavor", "root", "model_path", "mappings")
    ),
    gp.UsageExtractorMapping: (("path", "path"), ("dest", "dest"), ("required", "required")),
    gp.ArrayMatch: (("type", "type"), ("field", "field"), ("match", "match")),
    gp.ModelInfo: tuple(
        (name, name)
        for name in (
            "id",
            "name",
            "description",
            "match",
            "context_window",
            "price_comments",
            "prices",
            "price_variants",
            "deprecated",
        )
    ),
    gp.ConditionalPrice: (("constraint", "constraint"), ("prices", "prices")),
    gp.PriceVariant: (("when", "when"), ("constraint", "constraint"), ("prices", "prices")),
    gp.StartDateConstraint: (("start_date", "start_date"),),
    gp.TimeOfDateConstraint: (("start_time", "start_time"), ("end_time", "end_time")),
    gp.TieredPrices: (("base", "base"), ("tiers", "tiers")),
    gp.Tier: (("start", "start"), ("price", "price")),
    gp.ClauseStartsWith: (("starts_with", "starts_with"),),
    gp.ClauseEndsWith: (("ends_with", "ends_with"),),
    gp.ClauseContains: (("contains", "contains"),),
    gp.ClauseRegex: (("regex", "regex"),),
    gp.ClauseEquals: (("equals", "equals"),),
    gp.ClauseOr: (("or_", "or"),),
    gp.ClauseAnd: (("and_", "and"),),
}

_Json = None | bool | int | float | str | list["_Json"] | dict[str, "_Json"]


def _number(value: Decimal) -> int | float:
    """A price as genai-prices' build writes it: whole numbers as integers.

    genai-prices parses a JSON number through a float; a price no float holds exactly
    would come back as another price, so it stops the rendering.
    """
    if not value.is_finite():
        raise ConfigurationError(f"{SOURCE}: a price that is not a number: {value}")
    if value % 1 == 0:
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ConfigurationError(f"{SOURCE}: price {value} does not survive JSON as a float")
    return number


def _time(value: dt.time) -> str:
    """A time of day as pydantic writes it (UTC as ``Z``)."""
    text = value.isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def _fields(value: object) -> dict[str, _Json]:
    fields = _FIELDS.get(type(value))
    if fields is None:
        raise ConfigurationError(f"{SOURCE}: no JSON form known for {type(value).__name__}")
    # Fields set from others (not given to the constructor) are not data.
    declared = {f.name for f in dataclasses.fields(value) if f.init}  # type: ignore[arg-type]
    if declared != {attribute for attribute, _ in fields}:
        raise ConfigurationError(
            f"{SOURCE}: {type(value).__name__} has the fields {sorted(declared)}; teach "
            "hypertool_tools/render/pricebook.py their place in the data file"
        )
    out: dict[str, _Json] = {}
    for attribute, key in fields:
        item = getattr(value, attribute)
        if item is not None:
            out[key] = _json(item)
    return out


def _json(value: object) -> _Json:  # noqa: PLR0911 (one return per kind of value)
    """``value``, one of genai-prices' data objects, as the JSON genai-prices reads."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _time(value)
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, gp.ModelPrice):
        # Its prices by key, in the package's order; None is no price (left out).
        return {
            key: _json(item)
            for key, item in vars(value).items()
            if not key.startswith("_") and item is not None
        }
    return _fields(value)


def price_data_json() -> str:
    """The pinned genai-prices' data as its published JSON (data.json, v2 schema).

    Deterministic: providers and models in the package's order, each object's keys in the
    published file's order, ASCII only. One provider per line, compact: a price change is
    a one-line diff, and the file fits a Kubernetes ConfigMap (1 MiB).
    """
    providers = _json(gp_data.providers)
    assert isinstance(providers, list)  # noqa: S101 - the package's data is a list
    lines = (json.dumps(p, separators=(",", ":"), ensure_ascii=True) for p in providers)
    return "[\n" + ",\n".join(lines) + "\n]\n"


def render_price_data(root: Path, *, check: bool) -> bool:
    """Write (or with ``check`` compare) the collector's price book; True when current."""
    return write_rendered(root / PRICE_DATA, price_data_json(), check=check)
