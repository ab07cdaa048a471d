"""Token budgets: the design note's defaults, and the budgets file operators edit.

The file (YAML or JSON) lists budgets per persona, optionally narrowed to a model or a
workflow, each over a period::

    period: 1d                 # default period of the entries below
    warning_ratio: 0.8         # default share at which the "nearly exhausted" alert warns
    budgets:
      - persona: backend-engineer
        tokens: 2000
      - persona: backend-engineer
        model: gpt-4
        tokens: 500
        period: 1h

An agent process uses the persona-wide entries for its own view
(``get_remaining_budget``). Errors name the file, the key and what was expected, and are
raised when the file is loaded: at configuration time, never while recording.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hypertool_agent.errors import ConfigurationError

#: The design note's per-persona token budgets. They are library defaults because its API
#: promises them: ``PersonaMetricsCollector()`` with no arguments starts from these, so that
#: ``get_remaining_budget("backend-engineer")`` is 1150 after 850 tokens. Budgets passed in or
#: read from a budgets file replace them per persona.
DEFAULT_BUDGETS: Mapping[str, int] = {
    "backend-engineer": 2000,
    "frontend-engineer": 1800,
    "devops-engineer": 1800,
    "testing-specialist": 1500,
    "observability-expert": 2000,
    "data-scientist": 1700,
}
DEFAULT_PERIOD: Final = "1d"
#: Share of a budget at which HypertoolTokenBudgetNearlyExhausted warns.
DEFAULT_WARNING_RATIO: Final = 0.8
ENV_BUDGETS_FILE: Final = "HYPERTOOL_BUDGETS_FILE"
#: A Prometheus duration of one unit, the form budget periods are written in.
_PERIOD = re.compile(r"[1-9][0-9]*(ms|s|m|h|d|w|y)")
_KEYS: Final = {"persona", "tokens", "model", "workflow", "period", "warning_ratio"}


@dataclass(frozen=True)
class Budget:
    """Tokens a persona may use per period, optionally only for one model or workflow."""

    persona: str
    tokens: int
    period: str = DEFAULT_PERIOD
    model: str | None = None
    workflow: str | None = None
    warning_ratio: float = DEFAULT_WARNING_RATIO


def _fail(path: Path, key: str, expected: str, got: object) -> ConfigurationError:
    return ConfigurationError(f"{path}: {key}: expected {expected}, got {got!r}")


def _text(path: Path, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise _fail(path, key, "a non-empty string of printable characters", value)
    return value.strip()


def _narrowing(path: Path, key: str, value: object) -> str:
    text = _text(path, key, value)
    if text == "any":
        raise _fail(
            path, key, "a model or workflow name ('any' means not narrowed: omit the key)", value
        )
    return text


def _period(path: Path, key: str, value: object) -> str:
    if not isinstance(value, str) or _PERIOD.fullmatch(value) is None:
        raise _fail(path, key, "a period such as 30m, 1h, 1d or 30d", value)
    return value


def _ratio(path: Path, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise _fail(path, key, "a share of the budget above 0 and at most 1, such as 0.8", value)
    return float(value)


def _parse_json(path: Path, text: str) -> Any:  # noqa: ANN401 - any JSON document
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"{path}: not valid JSON: {exc}") from None


def _parse_yaml(path: Path, text: str) -> Any:  # noqa: ANN401 - any YAML document
    try:
        import yaml
    except ImportError:
        raise ConfigurationError(
            f"{path}: reading a YAML budgets file needs PyYAML: "
            "pip install 'hypertool-agent[yaml]', or write the file as JSON (budgets.json)"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from None


def load_budgets(path: str | Path) -> list[Budget]:
    """Read and check a budgets file; raise ConfigurationError naming what is wrong.

    JSON files (``.json``) need nothing extra; YAML needs ``hypertool-agent[yaml]``::

        budgets = hypertool_agent.load_budgets("budgets.yaml")
        collector = PersonaMetricsCollector(budgets_file="budgets.yaml")
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the budgets file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from None
    document = _parse_json(path, text) if path.suffix == ".json" else _parse_yaml(path, text)
    if not isinstance(document, dict) or "budgets" not in document:
        raise _fail(path, "budgets", "a top-level mapping with a 'budgets' list", document)
    default_period = _period(path, "period", document.get("period", DEFAULT_PERIOD))
    default_warning = _ratio(
        path, "warning_ratio", document.get("warning_ratio", DEFAULT_WARNING_RATIO)
    )
    entries = document["budgets"]
    if not isinstance(entries, list):
        raise _fail(path, "budgets", "a list of budget entries", entries)
    budgets: list[Budget] = []
    seen: set[tuple[str, str | None, str | None]] = set()
    for index, entry in enumerate(entries):
        where = f"budgets[{index}]"
        if not isinstance(entry, dict):
            raise _fail(path, where, "a mapping with persona and tokens", entry)
        unknown = set(entry) - _KEYS
        if unknown:
            # YAML keys may be numbers or null, not only text.
            first = sorted(str(key) for key in unknown)[0]
            raise _fail(path, f"{where}.{first}", f"one of {sorted(_KEYS)}", "")
        tokens = entry.get("tokens")
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            raise _fail(path, f"{where}.tokens", "a whole number of tokens >= 0", tokens)
        budget = Budget(
            persona=_text(path, f"{where}.persona", entry.get("persona")),
            tokens=tokens,
            period=_period(path, f"{where}.period", entry.get("period", default_period)),
            model=_narrowing(path, f"{where}.model", entry["model"]) if "model" in entry else None,
            workflow=(
                _narrowing(path, f"{where}.workflow", entry["workflow"])
                if "workflow" in entry
                else None
            ),
            warning_ratio=_ratio(
                path, f"{where}.warning_ratio", entry.get("warning_ratio", default_warning)
            ),
        )
        scope = (budget.persona, budget.model, budget.workflow)
        if scope in seen:
            raise _fail(path, where, "one budget per persona, model and workflow", scope)
        seen.add(scope)
        budgets.append(budget)
    return budgets


def persona_budgets(budgets: list[Budget]) -> dict[str, int]:
    """The persona-wide budgets (no model or workflow), as an agent process uses them."""
    return {b.persona: b.tokens for b in budgets if b.model is None and b.workflow is None}
