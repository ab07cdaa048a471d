"""Write the generated configs (rules, dashboards, collector) from the names contract.

``RENDERERS`` lists every renderer once, for ``hypertool render`` and for the tests that
check the committed files are current.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from hypertool_tools.render.collector import COMPONENTS_FILE, render_collector
from hypertool_tools.render.dashboards import DASHBOARDS_DIR, render_dashboards
from hypertool_tools.render.kubernetes import GENERATED_DIR, render_kubernetes
from hypertool_tools.render.kubernetes import SOURCE as KUBERNETES_SOURCE
from hypertool_tools.render.pricebook import PRICE_DATA, SOURCE, render_price_data
from hypertool_tools.render.rules import RULES_FILE, render_file


class RenderFunction(Protocol):
    """Writes (or with ``check`` only compares) its files; True when they were current."""

    def __call__(self, root: Path, *, check: bool) -> bool: ...  # noqa: D102


@dataclass(frozen=True)
class Renderer:
    """One generated file or folder, what it is made from, and how to apply a change."""

    #: Also the CLI verb that runs only this renderer (`hypertool budgets render`).
    name: str
    target: Path
    source: str
    render: RenderFunction
    #: What makes the running stack use a freshly rendered file.
    apply: str


RENDERERS: Final = (
    Renderer(
        "budgets",
        RULES_FILE,
        "budgets.yaml and prometheus/budget-alerts.yml",
        render_file,
        "reload Prometheus: curl -X POST http://127.0.0.1:9090/-/reload",
    ),
    Renderer(
        "dashboards",
        DASHBOARDS_DIR,
        "the names contract and budgets.yaml",
        render_dashboards,
        "Grafana reloads provisioned dashboards within 30 s",
    ),
    Renderer(
        "collector",
        COMPONENTS_FILE,
        "the names contract and budgets.yaml",
        render_collector,
        "restart the collector: hypertool stack down && hypertool stack up,"
        " or docker compose restart otel-collector",
    ),
    Renderer(
        "collector-prices",
        PRICE_DATA,
        f"{SOURCE} (the pinned package's data)",
        render_price_data,
        "restart the collector: hypertool stack down && hypertool stack up,"
        " or docker compose restart otel-collector",
    ),
    # Last: its ConfigMaps hold what the renderers above write.
    Renderer(
        "kubernetes",
        GENERATED_DIR,
        KUBERNETES_SOURCE,
        render_kubernetes,
        "kubectl apply --server-side -k deploy/kubernetes, then restart what reads them"
        " (deploy/kubernetes/README.md)",
    ),
)
