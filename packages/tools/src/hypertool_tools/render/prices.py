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
- **Prices that change with time.** Every dated price is kept, and every price for some
  hours of the day (DeepSeek's peak and off-peak); the one in force at the usage's time
  (UTC) applies, as in genai-prices.
- **Not kept:** tiers by request size (the base tier applies: aggregated usage no longer
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
from hypertool_tools.render.ottl import quote as _q

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
#: What signal_to_metrics multiplies a usage point's tokens with (USD per million tokens,
#: the price of the point's token type).
PRICE_ATTRIBUTE: Final = "hypertool.price.usd_per_mtok"
#: On usage spans, which carry both types: the input and the output price.
INPUT_PRICE_ATTRIBUTE: Final = "hypertool.price.input_usd_per_mtok"
OUTPUT_PRICE_ATTRIBUTE: Final = "hypertool.price.output_usd_per_mtok"
#: Attributes only the lookup uses: removed once the prices are set.
_SCRATCH: Final = (
    "hypertool.price.ref",
    "hypertool.price.provider",
    "hypertool.price.model",
    "hypertool.price.found",
)


@dataclass(frozen=True)
class _Context:
    """Where a transform context keeps a usage item's attributes, model and time."""

    name: str
    model_attribute: str
    #: The usage's time, as a time and in Unix nanoseconds.
    time: str
    time_unix_nano: str

    def attr(self, key: str) -> str:
        return f"{self.name}.attributes[{_q(key)}]"


#: Usage points: transform/genai named the model label; a point is at its time.
DATAPOINT: Final = _Context("datapoint", n.MODEL, "datapoint.time", "datapoint.time_unix_nano")
#: Usage spans: transform/genai set the model as the span series' model attribute; the
#: call is priced when it ended.
SPAN: Final = _Context("span", n.ATTR_MODEL, "span.end_time", "span.end_time_unix_nano")


def _ottl_match(tree: Match, ref: str) -> str:
    kind, body = tree
    if kind == "re":
        return f"IsMatch({ref}, {_q(str(body))})"
    if kind == "not":
        return f"not IsMatch({ref}, {_q(str(body))})"
    joiner = " or " if kind == "any" else " and "
    return "(" + joiner.join(_ottl_match(t, ref) for t in body) + ")"  # type: ignore[attr-defined]


def _yaml_string(statement: str) -> str:
    """A statement as a single-quoted YAML scalar (OTTL strings use double quotes)."""
    return "'" + statement.replace("'", "''") + "'"


def _when(price: DatedPrice, ctx: _Context) -> str:
    """The OTTL condition that ``price`` is in force at the usage's time."""
    where = ""
    if price.start is not None:
        midnight = dt.datetime.combine(price.start, dt.time(), tzinfo=dt.UTC)
        where += f" and {ctx.time_unix_nano} >= {int(midnight.timestamp()) * 1_000_000_000}"
    if price.daily is not None:
        start, end = price.daily
        second = f"(Hour({ctx.time}) * 3600 + Minute({ctx.time}) * 60 + Second({ctx.time}))"
        joiner = " or " if end < start else " and "
        where += f" and ({second} >= {start}{joiner}{second} < {end})"
    return where


#: The model attribute's value is "<key>|<input>|<output>" for a model with one price, or
#: "<key>|dated" for one whose price depends on the time (then looked up in a block of its
#: own), or "<key>|none" for one not priced by the token.
_DATED: Final = "dated"
_NONE: Final = "none"


def _resolved(model: ModelPrices) -> str:
    """What a model's match sets: its price right away, unless that depends on the time."""
    if len(model.prices) == 1 and model.prices[0].start is None and model.prices[0].daily is None:
        price = model.prices[0]
        if price.input is None:
            return f"{model.key}|{_NONE}"
        output = price.output if price.output is not None else Decimal(0)
        return f"{model.key}|{price.input:f}|{output:f}"
    return f"{model.key}|{_DATED}"


def _dated_statements(model: ModelPrices, ctx: _Context) -> Iterator[str]:
    """The first price in force sets both prices (no output price: 0, as genai-prices)."""
    found = ctx.attr("hypertool.price.found")
    for price in model.prices:
        if price.input is None:
            continue  # not by the token: left unpriced
        where = (
            f" where {found} == nil"
            f" and {ctx.attr('hypertool.price.model')} == {_q(_resolved(model))}"
            f"{_when(price, ctx)}"
        )
        output = price.output if price.output is not None else Decimal(0)
        yield f"set({ctx.attr(INPUT_PRICE_ATTRIBUTE)}, {price.input:f}){where}"
        yield f"set({ctx.attr(OUTPUT_PRICE_ATTRIBUTE)}, {output:f}){where}"
        yield f"set({found}, true){where}"


@dataclass(frozen=True)
class _Block:
    """Statements the transform runs only on the items ``condition`` selects."""

    condition: str
    statements: tuple[str, ...]


def collector_blocks(ctx: _Context, usage: str) -> list[_Block]:
    """OTTL: the input and output price per million tokens of each usage item's model.

    In blocks, so that an item runs only the statements that can apply to it: the
    provider's models, then (if its price depends on the time) that model's prices. One
    flat list ran every model's statements on every item, 15 times slower.
    """
    ref, provider_key, model_key = (ctx.attr(k) for k in _SCRATCH[:3])
    book = price_book()
    blocks = [
        _Block(
            usage,
            (
                f"set({ref}, ToLowerCase({ctx.attr(ctx.model_attribute)}))",
                *(
                    f"set({provider_key}, {_q(p.id)}) where {provider_key} == nil"
                    f" and {_ottl_match(p.match, ref)}"
                    for p in book
                ),
            ),
        )
    ]
    for provider in book:
        matches = tuple(
            f"set({model_key}, {_q(_resolved(m))}) where {model_key} == nil"
            f" and {_ottl_match(m.match, ref)}"
            for m in provider.models
        )
        blocks.append(_Block(f"{usage} and {provider_key} == {_q(provider.id)}", matches))
    dated = [m for p in book for m in p.models if _resolved(m).endswith(_DATED)]
    blocks.append(
        _Block(
            f"{usage} and IsMatch({model_key}, {_q(re.escape('|' + _DATED) + '$')})",
            tuple(st for m in dated for st in _dated_statements(m, ctx)),
        )
    )
    unresolved = _q(re.escape("|") + f"({_DATED}|{_NONE})$")
    one_price = f"{model_key} != nil and not IsMatch({model_key}, {unresolved})"
    parse = tuple(
        f'set({ctx.attr(attribute)}, Double(Split({model_key}, "|")[{index}])) where {one_price}'
        for index, attribute in ((1, INPUT_PRICE_ATTRIBUTE), (2, OUTPUT_PRICE_ATTRIBUTE))
    )
    blocks.append(_Block(usage, parse))
    return blocks


def _cleanup(ctx: _Context) -> list[str]:
    priced = f"{ctx.attr(INPUT_PRICE_ATTRIBUTE)} != nil"
    return [
        f"set({ctx.attr(n.COST_SOURCE)}, {_q(n.COST_ESTIMATED)}) where {priced}",
        *(f"delete_key({ctx.name}.attributes, {_q(key)})" for key in _SCRATCH),
    ]


def _point_price() -> list[str]:
    """A usage point holds one token type: the price of that type."""
    token_type = DATAPOINT.attr(n.TOKEN_TYPE)
    return [
        f"set({DATAPOINT.attr(PRICE_ATTRIBUTE)}, {DATAPOINT.attr(attribute)})"
        f" where {token_type} == {_q(value)}"
        for value, attribute in (
            (n.TOKEN_TYPE_INPUT, INPUT_PRICE_ATTRIBUTE),
            (n.TOKEN_TYPE_OUTPUT, OUTPUT_PRICE_ATTRIBUTE),
        )
    ]


def _priced_metrics() -> str:
    metrics = [u.metric for u in c.FOREIGN_TOKENS if not u.reports_cost]
    return "(" + " or ".join(f"metric.name == {_q(m)}" for m in metrics) + ")"


def _yaml_lines(items: Iterable[str], indent: int) -> list[str]:
    return [" " * indent + "- " + _yaml_string(item) for item in items]


def _context_blocks(ctx: _Context, condition: str, extra: list[str]) -> list[str]:
    lines = []
    blocks = collector_blocks(ctx, condition)
    blocks.append(_Block(condition, (*extra, *_cleanup(ctx))))
    for block in blocks:
        lines += [
            f"      - context: {ctx.name}",
            "        conditions:",
            *_yaml_lines([block.condition], 10),
            "        statements:",
            *_yaml_lines(block.statements, 10),
        ]
    return lines


def collector_file() -> str:
    """``collector-config/prices.yaml``: the ``transform/prices`` processor."""
    usage_span = f"{SPAN.attr(c.ATTR_USAGE_INPUT)} != nil"
    lines = [
        f"# Model prices from {SOURCE}, for the usage of producers that report no cost.",
        "# Generated by `hypertool render` (hypertool_tools/render/prices.py): do not edit;",
        "# upgrade the genai-prices pin and render again to take new prices.",
        "#",
        "# The collector loads this file beside otelcol.yaml (--config twice). The",
        "# metrics/foreign pipeline runs transform/prices after cumulative_to_delta/genai, so",
        "# that a price change never splits a cumulative stream; traces/agents runs it after",
        "# transform/genai marked the spans whose usage counts. Each usage item whose model",
        "# has a price gets the input and output price in USD per million tokens: the first",
        "# provider that claims the lowercased model name, then its first matching model, then",
        "# the price in force at the usage's time (UTC). signal_to_metrics adds tokens times",
        "# price to the cost series, and the tokens of items left without a price to the",
        "# unpriced tokens series.",
        "processors:",
        "  transform/prices:",
        "    error_mode: ignore",
        "    metric_statements:",
        *_context_blocks(DATAPOINT, _priced_metrics(), _point_price()),
        "    trace_statements:",
        *_context_blocks(SPAN, usage_span, []),
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
