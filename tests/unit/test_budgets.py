"""Budgets: the seed's defaults, the budgets file, and errors that name file, key and fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hypertool_agent import Budget, ConfigurationError, PersonaMetricsCollector, load_budgets
from tests.unit.conftest import Recorded

GOOD = """
period: 1d
budgets:
  - persona: backend-engineer
    tokens: 5000
  - persona: backend-engineer
    model: gpt-4
    tokens: 1000
    period: 1h
  - persona: security-auditor
    workflow: bug_fix
    tokens: 700
    period: 30d
  - persona: security-auditor
    tokens: 900
"""


def write(tmp_path: Path, text: str, name: str = "budgets.yaml") -> Path:
    """A budgets file with ``text`` in it."""
    path = tmp_path / name
    path.write_text(text)
    return path


def test_budgets_file_entries_with_defaults(tmp_path: Path) -> None:
    """Each entry is read with its scope and period; the file's period is the default."""
    assert load_budgets(write(tmp_path, GOOD)) == [
        Budget("backend-engineer", 5000, "1d"),
        Budget("backend-engineer", 1000, "1h", model="gpt-4"),
        Budget("security-auditor", 700, "30d", workflow="bug_fix"),
        Budget("security-auditor", 900, "1d"),
    ]


def test_collector_takes_persona_wide_budgets_from_the_file(
    tmp_path: Path, recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HYPERTOOL_BUDGETS_FILE overrides and extends the defaults; explicit budgets win."""
    monkeypatch.setenv("HYPERTOOL_BUDGETS_FILE", str(write(tmp_path, GOOD)))
    collector = PersonaMetricsCollector({"devops-engineer": 10}, telemetry=recorded.telemetry)
    assert collector.get_remaining_budget("backend-engineer") == 5000
    assert collector.get_remaining_budget("security-auditor") == 900
    assert collector.get_remaining_budget("devops-engineer") == 10
    assert collector.get_remaining_budget("testing-specialist") == 1500


def test_json_budgets_file(tmp_path: Path) -> None:
    """A .json file is read as JSON."""
    path = write(tmp_path, '{"budgets": [{"persona": "a", "tokens": 3}]}', "b.json")
    assert load_budgets(path) == [Budget("a", 3)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "budgets:\n  - persona: a\n    tokens: 2k\n",
            "budgets[0].tokens: expected a whole number of tokens >= 0, got '2k'",
        ),
        (
            "budgets:\n  - persona: a\n    tokens: -1\n",
            "budgets[0].tokens: expected a whole number",
        ),
        (
            "budgets:\n  - tokens: 5\n",
            "budgets[0].persona: expected a non-empty string of printable characters, got None",
        ),
        (
            "budgets:\n  - persona: a\n    tokens: 5\n    period: daily\n",
            "budgets[0].period: expected a period such as 30m, 1h, 1d or 30d, got 'daily'",
        ),
        (
            "budgets:\n  - persona: a\n    tokens: 5\n    colour: red\n",
            "budgets[0].colour: expected one of",
        ),
        (
            "budgets:\n  - {persona: a, tokens: 1}\n  - {persona: a, tokens: 2}\n",
            "budgets[1]: expected one budget per persona, model and workflow",
        ),
        ("personas: {}\n", "budgets: expected a top-level mapping with a 'budgets' list"),
        ("budgets: [\n", "not valid YAML"),
        ("period: 1 day\nbudgets: []\n", "period: expected a period"),
    ],
)
def test_malformed_budgets_name_file_key_and_expectation(
    tmp_path: Path, text: str, message: str
) -> None:
    """Every mistake fails at load time with the file's path, the key and what was expected."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as raised:
        load_budgets(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_missing_budgets_file_fails_when_the_collector_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budgets file that cannot be read stops the collector from being created."""
    monkeypatch.setenv("HYPERTOOL_BUDGETS_FILE", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigurationError, match=r"nope\.yaml: cannot read the budgets file"):
        PersonaMetricsCollector()


def test_malformed_budget_mapping_fails_at_construction(recorded: Recorded) -> None:
    """Budgets given in code are checked as strictly as the file."""
    with pytest.raises(ConfigurationError, match=r"budgets\['a'\]: expected a whole number"):
        PersonaMetricsCollector({"a": 1.5}, telemetry=recorded.telemetry)  # type: ignore[dict-item]


def test_shipped_budgets_file_holds_the_seed_defaults() -> None:
    """The repository's budgets.yaml loads and matches the seed's budgets."""
    from hypertool_agent import DEFAULT_BUDGETS

    shipped = load_budgets(Path(__file__).resolve().parents[2] / "budgets.yaml")
    assert {b.persona: b.tokens for b in shipped} == dict(DEFAULT_BUDGETS)
    assert {b.period for b in shipped} == {"1d"}


def test_yaml_without_pyyaml_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without PyYAML a YAML file fails at load time naming the extra; JSON still loads."""
    monkeypatch.setitem(sys.modules, "yaml", None)  # what `import yaml` sees when absent
    with pytest.raises(ConfigurationError, match=r"hypertool-agent\[yaml\]"):
        load_budgets(write(tmp_path, GOOD))
    as_json = write(tmp_path, '{"budgets": [{"persona": "p", "tokens": 5}]}', "budgets.json")
    assert load_budgets(as_json) == [Budget("p", 5)]
