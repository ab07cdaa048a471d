"""The collector's price book: genai-prices' data as its own JSON, and the Go engine's cases.

The Go engine (collector-config/components/genaiprices) loads the rendered data file and
checks its prices against testdata/cases.json in its own tests (test_components.py runs
them); here, that both files are what the pinned genai-prices makes now.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from genai_prices.data import providers

# genai-prices' parser of its published data.json: what its UpdatePrices reads it with.
from genai_prices.types import _providers_from_raw

from hypertool_tools.render.pricebook import PRICE_DATA, price_data_json

ROOT = Path(__file__).resolve().parents[2]
MAKE_CASES = ROOT / "collector-config/components/genaiprices/testdata/make_cases.py"


@cache
def _data() -> str:
    return price_data_json()


def _make_cases() -> ModuleType:
    """testdata/make_cases.py, imported from its path (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("genaiprices_make_cases", MAKE_CASES)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    # No __pycache__ beside it: the collector image's build context copies that folder.
    dont_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
    return module


def test_the_committed_data_is_current() -> None:
    """collector-config/generated/genai-prices.json is what price_data_json() makes now."""
    assert (ROOT / PRICE_DATA).read_text(encoding="utf-8") == _data()


def test_the_data_is_deterministic_json_ending_in_a_newline() -> None:
    """The data is ASCII JSON with a trailing newline, the same on every call."""
    text = _data()
    assert text.endswith("]\n")
    assert text.isascii()
    assert price_data_json() == text


def test_genai_prices_reads_the_data_back_as_its_own() -> None:
    """genai-prices' own parser of its published data makes the bundled providers of it."""
    assert _providers_from_raw(json.loads(_data())) == providers


def test_the_committed_cases_are_current() -> None:
    """testdata/cases.json is what make_cases.py writes now (run it after an upgrade)."""
    module = _make_cases()
    assert MAKE_CASES.with_name("cases.json").read_text(encoding="ascii") == module.cases_json()
