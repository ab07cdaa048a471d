"""Model prices from the ``genai-prices`` package, rendered for the agent and the collector.

One price source for everything hypertool estimates: the agent library prices the calls
``ObservableLLM`` records (``hypertool_agent/_prices.py``) and the collector prices the
usage of producers that report no cost (``collector-config/prices.yaml``). Both are
rendered here from the data the pinned ``genai-prices`` ships, so nothing is fetched at
run time and both price a model the same way. Upgrade the pin and run ``hypertool render``
to take new prices.

What is kept of genai-prices' model, and what is not:

- **Which model.** A model name is matched as genai-prices does without a provider: the
  first provider whose ``model_match`` matches (in the package's order), then that
  provider's first model whose ``match`` matches, then its fallback providers' models.
  Providers that cannot be told from a model name (resellers: Bedrock, Azure, OpenRouter,
  Groq, ...) are not rendered: their prices differ per reseller and the usage names only
  the model.
- **Prices that changed over time.** Every dated price is kept; the one in force on the
  day of the usage (UTC) applies, as in genai-prices.
- **Not kept:** time-of-day discounts (DeepSeek's off-peak hours: the standard price
  applies), tiers by request size (the base tier applies: aggregated usage no longer
  knows each request's size), service-tier variants, and every price that is not for text
  tokens (audio, images, searches).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Final, TypeAlias

from genai_prices import __version__ as GENAI_PRICES_VERSION
from genai_prices import data_snapshot
from genai_prices import types as gp

from hypertool_agent import ConfigurationError
from hypertool_agent import names as n
from hypertool_tools import contract as c

#: A match tree: ("re", pattern) | ("not", pattern) | ("any", trees) | ("all", trees).
#: Patterns are Go RE2 and Python ``re`` alike, searched in the lowercased model name.
Match: TypeAlias = tuple[object, ...]
#: USD per million tokens, as genai-prices writes them; None where it has no price.
Mtok: TypeAlias = Decimal | None

SOURCE: Final = f"genai-prices {GENAI_PRICES_VERSION}"
_META: Final = re.compile(r"([.^$*+?()\[\]{}|\\])")
#: Lookarounds and back-references: Python has them, Go's RE2 (OTTL's IsMatch) does not.
_NOT_RE2: Final = re.compile(r"\(\?[=!<]|\\[1-9]")


@dataclass(frozen=True)
class DatedPrice:
    """Text-token prices in force from ``start`` (UTC day; None: from the beginning).

    ``daily``: only between these seconds of the UTC day, [start, end), wrapping past
    midnight when end < start (DeepSeek prices its peak and off-peak hours apart).
    """

    start: dt.date | None
    daily: tuple[int, int] | None
    input: Mtok
    output: Mtok
    cache_read: Mtok
    cache_write: Mtok


@dataclass(frozen=True)
class ModelPrices:
    """One model: how its name is matched and its prices, newest first."""

    key: str
    match: Match
    prices: tuple[DatedPrice, ...]


@dataclass(frozen=True)
class ProviderPrices:
    """A provider told from the model name, with the models priced under it, in order."""

    id: str
    match: Match
    models: tuple[ModelPrices, ...]


def _lookahead(pattern: str) -> Match | None:
    """``^(?!P)REST`` as "not ^P, and ^REST": the one lookaround the data uses."""
    if not pattern.startswith("^(?!"):
        return None
    depth = 0
    for i, char in enumerate(pattern[1:], start=1):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            negated = ("not", "^(?:" + pattern[4:i] + ")")
            rest = pattern[i + 1 :]
            return ("all", (negated, ("re", "^" + rest))) if rest else negated
    return None


def _patterns(tree: Match) -> list[str]:
    kind, body = tree
    if kind in ("re", "not"):
        return [str(body)]
    return [p for t in body for p in _patterns(t)]  # type: ignore[attr-defined]


def _regex(pattern: str) -> Match:
    tree = _lookahead(pattern) or ("re", pattern)
    if any(_NOT_RE2.search(p) for p in _patterns(tree)):
        raise ConfigurationError(
            f"{SOURCE}: model pattern {pattern!r} needs a regex feature Go's RE2 lacks; "
            "teach hypertool_tools/render/prices.py to translate it"
        )
    return tree


def _escape(literal: str) -> str:
    """``literal`` as a pattern, lowercased (names are matched lowercased)."""
    return _META.sub(r"\\\1", literal.lower())


#: Clauses on a literal: (its field, what goes before it, what goes after it).
_LITERALS: Final[dict[type, tuple[str, str, str]]] = {
    gp.ClauseEquals: ("equals", "^", "$"),
    gp.ClauseStartsWith: ("starts_with", "^", ""),
    gp.ClauseEndsWith: ("ends_with", "", "$"),
    gp.ClauseContains: ("contains", "", ""),
}


def _match(logic: object) -> Match:
    """genai-prices' match clause as a tree both renderings can evaluate."""
    if type(logic) in _LITERALS:
        field, before, after = _LITERALS[type(logic)]
        return ("re", before + _escape(getattr(logic, field)) + after)
    if isinstance(logic, gp.ClauseRegex):
        return _regex(logic.regex)
    if isinstance(logic, gp.ClauseOr):
        return ("any", tuple(_match(clause) for clause in logic.or_))
    if isinstance(logic, gp.ClauseAnd):
        return ("all", tuple(_match(clause) for clause in logic.and_))
    raise ConfigurationError(f"{SOURCE}: unknown match clause {logic!r}")


def _mtok(value: object) -> Mtok:
    if value is None:
        return None
    if isinstance(value, gp.TieredPrices):
        return value.base
    if isinstance(value, Decimal):
        return value
    raise ConfigurationError(f"{SOURCE}: unexpected price {value!r}")


def _seconds(moment: dt.time) -> int:
    if moment.tzinfo is not None and moment.utcoffset():
        raise ConfigurationError(f"{SOURCE}: a time of day that is not UTC: {moment}")
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _dated(price: gp.ModelPrice, constraint: object) -> DatedPrice:
    start = constraint.start_date if isinstance(constraint, gp.StartDateConstraint) else None
    daily = None
    if isinstance(constraint, gp.TimeOfDateConstraint):
        daily = (_seconds(constraint.start_time), _seconds(constraint.end_time))
    return DatedPrice(
        start=start,
        daily=daily,
        input=_mtok(price.input_mtok),
        output=_mtok(price.output_mtok),
        cache_read=_mtok(price.cache_read_mtok),
        cache_write=_mtok(price.cache_write_mtok),
    )


def _prices(model: gp.ModelInfo) -> tuple[DatedPrice, ...]:
    """Newest first: genai-prices applies the last of its list that is in force."""
    if isinstance(model.prices, gp.ModelPrice):
        return (_dated(model.prices, None),)
    return tuple(_dated(p.prices, p.constraint) for p in reversed(model.prices))


def _model(provider: gp.Provider, model: gp.ModelInfo) -> ModelPrices:
    return ModelPrices(f"{provider.id}/{model.id}", _match(model.match), _prices(model))


@cache
def price_book() -> tuple[ProviderPrices, ...]:
    """Every provider genai-prices tells from a model name, in its order of precedence."""
    providers = data_snapshot.get_snapshot().providers
    by_id = {provider.id: provider for provider in providers}
    book: list[ProviderPrices] = []
    for provider in providers:
        if provider.model_match is None:
            continue
        fallbacks = [by_id[i] for i in provider.fallback_model_providers or () if i in by_id]
        models = [_model(provider, m) for m in provider.models]
        models += [_model(fallback, m) for fallback in fallbacks for m in fallback.models]
        book.append(ProviderPrices(provider.id, _match(provider.model_match), tuple(models)))
    return tuple(book)


# --- the agent library's table ---------------------------------------------------------

AGENT_PRICES: Final = Path("packages/agent/src/hypertool_agent/_prices.py")


def _py_number(value: Mtok) -> str:
    return "None" if value is None else repr(float(value))


def _py_match(tree: Match) -> str:
    kind, body = tree
    if kind in ("re", "not"):
        return f"({kind!r}, {body!r})"
    inner = ", ".join(_py_match(t) for t in body)  # type: ignore[attr-defined]
    return f"({kind!r}, ({inner},))"


def _py_price(price: DatedPrice) -> str:
    start = "None" if price.start is None else repr(price.start.isoformat())
    numbers = (price.input, price.output, price.cache_read, price.cache_write)
    return f"({start}, {price.daily!r}, {', '.join(_py_number(v) for v in numbers)})"


def _py_lines() -> Iterator[str]:
    for provider in price_book():
        yield f"    ({provider.id!r}, {_py_match(provider.match)}, ("
        for model in provider.models:
            prices = ", ".join(_py_price(p) for p in model.prices)
            yield f"        ({model.key!r}, {_py_match(model.match)}, ({prices},)),"
        yield "    )),"


def agent_module() -> str:
    """``hypertool_agent/_prices.py``: the price book as plain data, no dependency."""
    header = [
        f'"""Model prices from {SOURCE}, for ObservableLLM\'s cost estimates.',
        "",
        "Generated by `hypertool render` (hypertool_tools/render/prices.py): do not edit.",
        "Each provider: (id, match, models); each model: (key, match, prices newest first);",
        "each price: (first UTC day in force or None, (from, to) second of the UTC day or",
        "None, input, output, cache read, cache write) in USD per million tokens, the first in",
        "force applying. A match is ('re', pattern), ('not', pattern), ('any', ...) or",
        "('all', ...), searched in the lowercased model name.",
        '"""',
        "",
        "from typing import Final",
        "",
        f"SOURCE: Final = {SOURCE!r}",
        "",
        "PROVIDERS: Final[tuple[tuple[object, ...], ...]] = (",
    ]
    return "\n".join([*header, *_py_lines(), ")", ""])


# --- the collector's processor ---------------------------------------------------------

COLLECTOR_PRICES: Final = Path("collector-config") / "prices.yaml"
_REF: Final = 'datapoint.attributes["hypertool.price.ref"]'
_PROVIDER: Final = 'datapoint.attributes["hypertool.price.provider"]'
_MODEL: Final = 'datapoint.attributes["hypertool.price.model"]'
#: What signal_to_metrics multiplies the tokens with (per million tokens).
PRICE_ATTRIBUTE: Final = "hypertool.price.usd_per_mtok"
_PRICE: Final = f'datapoint.attributes["{PRICE_ATTRIBUTE}"]'
#: Attributes only the lookup uses: removed once the price is set.
_SCRATCH: Final = ("hypertool.price.ref", "hypertool.price.provider", "hypertool.price.model")


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ottl_match(tree: Match) -> str:
    kind, body = tree
    if kind == "re":
        return f"IsMatch({_REF}, {_q(str(body))})"
    if kind == "not":
        return f"not IsMatch({_REF}, {_q(str(body))})"
    joiner = " or " if kind == "any" else " and "
    return "(" + joiner.join(_ottl_match(t) for t in body) + ")"  # type: ignore[attr-defined]


def _yaml_string(statement: str) -> str:
    """A statement as a single-quoted YAML scalar (OTTL strings use double quotes)."""
    return "'" + statement.replace("'", "''") + "'"


_SECOND_OF_DAY: Final = (
    "(Hour(datapoint.time) * 3600 + Minute(datapoint.time) * 60 + Second(datapoint.time))"
)


def _when(price: DatedPrice) -> str:
    """The OTTL condition that ``price`` is in force at the point's time."""
    where = ""
    if price.start is not None:
        midnight = dt.datetime.combine(price.start, dt.time(), tzinfo=dt.UTC)
        where += f" and datapoint.time_unix_nano >= {int(midnight.timestamp()) * 1_000_000_000}"
    if price.daily is not None:
        start, end = price.daily
        joiner = " or " if end < start else " and "
        window = f"{_SECOND_OF_DAY} >= {start}{joiner}{_SECOND_OF_DAY} < {end}"
        where += f" and ({window})"
    return where


def _price_statements(model: ModelPrices, token_types: dict[str, str]) -> Iterator[str]:
    for price in model.prices:
        for token_type, field in token_types.items():
            value: Mtok = getattr(price, field)
            if value is None:
                continue
            where = (
                f"{_PRICE} == nil and {_MODEL} == {_q(model.key)}"
                f' and datapoint.attributes["token_type"] == {_q(token_type)}{_when(price)}'
            )
            yield f"set({_PRICE}, {value:f}) where {where}"


def collector_statements() -> list[str]:
    """OTTL: the price per million tokens of each usage point's model and token type."""
    # genai-prices counts cached input tokens in input_mtok unless priced apart, as the
    # GenAI metric's input type does (it does not split cache reads out).
    token_types = {n.TOKEN_TYPE_INPUT: "input", n.TOKEN_TYPE_OUTPUT: "output"}
    statements = [f'set({_REF}, ToLowerCase(datapoint.attributes["{n.MODEL}"]))']
    book = price_book()
    statements += [
        f"set({_PROVIDER}, {_q(p.id)}) where {_PROVIDER} == nil and {_ottl_match(p.match)}"
        for p in book
    ]
    for provider in book:
        for model in provider.models:
            statements.append(
                f"set({_MODEL}, {_q(model.key)}) where {_MODEL} == nil"
                f" and {_PROVIDER} == {_q(provider.id)} and {_ottl_match(model.match)}"
            )
    for provider in book:
        for model in provider.models:
            statements += _price_statements(model, token_types)
    return statements


def _yaml_lines(items: Iterable[str], indent: int) -> list[str]:
    return [" " * indent + "- " + _yaml_string(item) for item in items]


def _priced_metrics() -> str:
    metrics = [u.metric for u in c.FOREIGN_TOKENS if not u.reports_cost]
    return "(" + " or ".join(f"metric.name == {_q(m)}" for m in metrics) + ")"


def collector_file() -> str:
    """``collector-config/prices.yaml``: the ``transform/prices`` processor."""
    cleanup = [
        f"set(datapoint.attributes[{_q(n.COST_SOURCE)}], {_q(n.COST_ESTIMATED)})"
        f" where {_PRICE} != nil",
        *(f"delete_key(datapoint.attributes, {_q(key)})" for key in _SCRATCH),
    ]
    lines = [
        f"# Model prices from {SOURCE}, for the usage of producers that report no cost.",
        "# Generated by `hypertool render` (hypertool_tools/render/prices.py): do not edit;",
        "# upgrade the genai-prices pin and render again to take new prices.",
        "#",
        "# The collector loads this file beside otelcol.yaml (--config twice). The",
        "# metrics/agents pipeline runs transform/prices after cumulative_to_delta/genai, so",
        "# that a price change never splits a cumulative stream. It sets",
        f"# {PRICE_ATTRIBUTE} (USD per million tokens) on each usage point whose model",
        "# has a price: the first provider that claims the lowercased model name, then its",
        "# first matching model, then the price in force on the point's day (UTC).",
        "# signal_to_metrics adds tokens times price to the cost series, and the tokens of",
        "# points left without a price to the unpriced tokens series.",
        "processors:",
        "  transform/prices:",
        "    error_mode: ignore",
        "    metric_statements:",
        "      - context: datapoint",
        "        conditions:",
        *_yaml_lines([_priced_metrics()], 10),
        "        statements:",
        *_yaml_lines(collector_statements(), 10),
        *_yaml_lines(cleanup, 10),
    ]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str, *, check: bool) -> bool:
    current = path.read_text() if path.exists() else None
    if current == text:
        return True
    if not check:
        path.write_text(text)
    return False


def render_agent_prices(root: Path, *, check: bool) -> bool:
    """Write (or with ``check`` compare) the agent's table; True when it was current."""
    return _write(root / AGENT_PRICES, agent_module(), check=check)


def render_collector_prices(root: Path, *, check: bool) -> bool:
    """Write (or with ``check`` compare) the collector's; True when it was current."""
    return _write(root / COLLECTOR_PRICES, collector_file(), check=check)


def model_keys() -> Sequence[str]:
    """Every priced model's key (provider/id), in lookup order."""
    return [m.key for p in price_book() for m in p.models]
