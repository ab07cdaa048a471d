"""The Grafana dashboards, as code: `hypertool dashboards render` writes grafana/dashboards.

Each dashboard is a module that lays out its rows with grafana-foundation-sdk builders;
``panels`` holds what they share and ``queries`` every PromQL expression, built from the
names contract. Budget thresholds come from budgets.yaml. The tests run every panel's
query against a live Prometheus, and fail when the committed JSON is not what this
package renders.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Final

from hypertool_agent import Budget, load_budgets
from hypertool_tools.render._files import write_rendered
from hypertool_tools.render.dashboards.budgets_and_cost import budgets_and_cost
from hypertool_tools.render.dashboards.persona_overview import persona_overview
from hypertool_tools.render.dashboards.workflow_performance import workflow_performance

DASHBOARDS_DIR: Final = Path("grafana") / "dashboards"

__all__ = ["DASHBOARDS_DIR", "render_all", "render_dashboards"]


def _warning_ratio(root: Path) -> float:
    """The lowest warning ratio of budgets.yaml: where the gauges turn orange."""
    budgets = load_budgets(root / "budgets.yaml")
    # With no budgets there is nothing to warn about; Budget's own default keeps the
    # gauges consistent with what a budget added later would get.
    default = inspect.signature(Budget).parameters["warning_ratio"].default
    return min((b.warning_ratio for b in budgets), default=float(default))


def render_all(root: Path) -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    warning = _warning_ratio(root)
    dashboards = {
        "persona-overview.json": persona_overview(warning),
        "workflow-performance.json": workflow_performance(),
        "budgets-and-cost.json": budgets_and_cost(warning),
    }
    # Sorted keys: the files then change only where a dashboard does, not where an SDK
    # upgrade reorders the fields it writes.
    return {
        name: json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, d in dashboards.items()
    }


def render_dashboards(root: Path, *, check: bool) -> bool:
    """Write (or with ``check`` compare) grafana/dashboards; True when already current."""
    written = [
        write_rendered(root / DASHBOARDS_DIR / name, text, check=check)
        for name, text in render_all(root).items()
    ]
    return all(written)
