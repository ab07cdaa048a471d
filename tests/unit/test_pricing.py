"""Cost estimates: the agent's rendered price table against genai-prices itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price

from hypertool_agent import Price, PriceTable, Usage
from hypertool_tools.render import prices

#: Moments around the dated price changes the data holds, in and out of DeepSeek's peak
#: hours (00:30 to 16:30 UTC).
MOMENTS = tuple(
    dt.datetime(year, month, day, hour, tzinfo=dt.UTC)
    for year, month, day in ((2024, 6, 1), (2025, 6, 1), (2026, 11, 30))
    for hour in (10, 20)
)
#: Below every price tier's threshold, with cache reads and writes inside the input.
USAGE = Usage(input_tokens=1000, output_tokens=300, cache_read_tokens=400, cache_write_tokens=100)


def _genai_prices_cost(model: str, when: dt.datetime) -> Decimal | None:
    """What genai-prices says USAGE of ``model`` costs at ``when``; None: not by the token.

    Raises LookupError where genai-prices knows no such model.
    """
    usage = GenaiUsage(
        input_tokens=USAGE.input_tokens,
        output_tokens=USAGE.output_tokens,
        cache_read_tokens=USAGE.cache_read_tokens,
        cache_write_tokens=USAGE.cache_write_tokens,
    )
    result = calc_price(usage, model, genai_request_timestamp=when)
    if result.model_price.input_mtok is None:
        return None  # priced in other units (audio, pages, requests)
    return result.total_price


def test_every_model_costs_what_genai_prices_says() -> None:
    """Every rendered model's id, at six moments, costs what genai-prices says, or nothing."""
    priced = 0
    for key in prices.model_keys():
        model = key.split("/", 1)[1]
        for when in MOMENTS:
            got = PriceTable().cost(model, USAGE, when)
            try:
                expected = _genai_prices_cost(model, when)
            except LookupError:
                assert got is None, (key, when)  # never a price genai-prices does not have
                continue
            if expected is None:
                assert got is None, (key, when)
                continue
            assert got == pytest.approx(float(expected), rel=1e-9, abs=1e-15), (key, when)
            priced += 1
    assert priced > 2000


def test_a_name_genai_prices_cannot_price_has_no_price() -> None:
    """No provider claims the name, or none of its models matches: None, never 0."""
    table = PriceTable()
    assert table.price("house-model") is None
    assert table.price("") is None
    with pytest.raises(LookupError):
        _genai_prices_cost("house-model", MOMENTS[-1])


def test_prices_change_on_their_start_day() -> None:
    """A dated price applies from its first UTC day, the one before it until then."""
    dated = [
        (m.key, m.prices)
        for p in prices.price_book()
        for m in p.models
        if len(m.prices) > 1
        and m.prices[0].start is not None
        and m.prices[1].daily is None
        and m.prices[0].input != m.prices[1].input
    ]
    assert dated, "genai-prices has dated prices"
    key, history = dated[0]
    model = key.split("/", 1)[1]
    start = history[0].start
    assert start is not None
    change = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    before = PriceTable().price(model, change - dt.timedelta(seconds=1))
    after = PriceTable().price(model, change)
    assert after is not None
    assert after.input == float(history[0].input or 0)
    assert before != after


def test_own_prices_come_before_list_prices() -> None:
    """An entry of yours overrides the list price of that model and its dated versions."""
    table = PriceTable({"gpt-4o": Price(5.0, 15.0)})
    assert table.price("gpt-4o-2024-08-06") == Price(5.0, 15.0)
    assert PriceTable().price("gpt-4o") == Price(2.5, 10.0, cache_read=1.25)
