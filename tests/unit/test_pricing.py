"""Your own prices in the agent; list prices are the collector's (no table in the library)."""

from __future__ import annotations

import pytest

from hypertool_agent import ConfigurationError, Price, PriceTable, Usage


def test_own_prices_apply_to_the_model_and_its_dated_versions() -> None:
    """An entry prices its model and the model's dated or pinned versions."""
    table = PriceTable({"gpt-4o": Price(5.0, 15.0)})
    assert table.price("gpt-4o-2024-08-06") == Price(5.0, 15.0)
    assert table.price("gpt-4o@latest") == Price(5.0, 15.0)
    assert table.price("gpt-4o-mini") is None


def test_the_library_has_no_list_prices() -> None:
    """With no entry, the agent prices nothing: the collector prices at list price."""
    table = PriceTable()
    assert table.price("gpt-4o") is None
    assert table.cost("gpt-4o", Usage(1000, 200)) is None
    assert not table.decides("gpt-4o")


def test_the_table_decides_for_its_models_and_all_without_list_prices() -> None:
    """Own entries are the agent's to price; include_defaults=False keeps every model's."""
    table = PriceTable({"house-model": Price(1.0, 2.0)})
    assert table.decides("house-model-2025-01-01")
    assert not table.decides("gpt-4o")
    assert PriceTable(include_defaults=False).decides("gpt-4o")


def test_cost_uses_cache_prices() -> None:
    """Cached input is charged at the cache read and write prices, else at the input one."""
    table = PriceTable(
        {"m": Price(3.0, 15.0, cache_read=0.30, cache_write=3.75), "n": Price(1.0, 2.0)}
    )
    usage = Usage(350, 50, cache_read_tokens=300, cache_write_tokens=40)
    assert table.cost("m", usage) == pytest.approx(
        (10 * 3.0 + 300 * 0.30 + 40 * 3.75 + 50 * 15.0) / 1e6
    )
    assert table.cost("n", usage) == pytest.approx((350 * 1.0 + 50 * 2.0) / 1e6)


@pytest.mark.parametrize("bad", [Price(-1.0, 1.0), Price(float("nan"), 1.0), "cheap"])
def test_a_bad_price_is_refused_at_configuration(bad: object) -> None:
    """Negative, not finite or not a Price: a clear error when the table is made."""
    with pytest.raises(ConfigurationError, match="USD per million tokens"):
        PriceTable({"m": bad})  # type: ignore[dict-item]
