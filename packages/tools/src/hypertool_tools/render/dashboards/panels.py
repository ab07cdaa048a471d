"""What the three dashboards share: panel kinds, variables, the pipeline row, the frame.

Each panel helper returns the SDK's own builder, so a dashboard adds what is particular
to one panel (stacking, min and max, a transformation) by chaining the SDK's methods.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, Self, TypedDict, TypeVar, Unpack

from grafana_foundation_sdk.builders import bargauge as bargauge_panel
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import gauge as gauge_panel
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.builders import stat as stat_panel
from grafana_foundation_sdk.builders import table as table_panel
from grafana_foundation_sdk.builders import timeseries as timeseries_panel
from grafana_foundation_sdk.cog import builder as cog
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from hypertool_tools.render.dashboards import queries as q

#: The uid grafana/provisioning/datasources/datasources.yml gives Prometheus.
PROMETHEUS_UID: Final = "hypertool-prometheus"
PROMETHEUS: Final = common.DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)
#: Tags every hypertool dashboard, so each links to the others through one drop-down.
TAG: Final = "hypertool"
GRID_WIDTH: Final = 24

Target = tuple[str, str]
"""One query of a panel: (PromQL, legend)."""
Steps = Sequence[tuple[str, float | None]]
"""Threshold steps, lowest first: (colour, value it starts at; None for the base colour)."""
BASE: Final[Steps] = (("green", None),)
PanelBuilder = cog.Builder[model.Panel]
"""Any of the SDK's panel builders, as a row holds them."""


class Look(TypedDict, total=False):
    """How a panel shows its queries; what is left out takes the default of ``_configure``."""

    unit: str
    description: str
    width: int
    height: int
    steps: Steps


class _Panel(Protocol):
    # What every SDK panel builder has; each panel kind is its own class in the SDK.
    def title(self, title: str) -> Self: ...
    def description(self, description: str) -> Self: ...
    def datasource(self, datasource: common.DataSourceRef) -> Self: ...
    def span(self, w: int) -> Self: ...
    def height(self, h: int) -> Self: ...
    def unit(self, unit: str) -> Self: ...
    def thresholds(self, thresholds: cog.Builder[model.ThresholdsConfig]) -> Self: ...
    def with_target(self, target: cog.Builder[variants.Dataquery]) -> Self: ...


P = TypeVar("P", bound=_Panel)


def _query(
    expr: str, legend: str, ref_id: str, *, instant: bool, table: bool
) -> prometheus.Dataquery:
    query = prometheus.Dataquery().ref_id(ref_id).datasource(PROMETHEUS).expr(expr)
    query = query.legend_format(legend)
    query = query.instant() if instant else query.range()
    return query.format(PromQueryFormat.TABLE) if table else query


def _thresholds(steps: Steps) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for color, value in steps])
    )


def _configure(
    panel: P,
    title: str,
    targets: Sequence[Target],
    *,
    instant: bool,
    table: bool = False,
    unit: str = "short",
    description: str = "",
    width: int = 12,
    height: int = 8,
    steps: Steps = BASE,
) -> P:
    panel = panel.title(title).datasource(PROMETHEUS).span(width).height(height)
    panel = panel.unit(unit).thresholds(_thresholds(steps))
    if description:
        panel = panel.description(description)
    for index, (expr, legend) in enumerate(targets):
        ref_id = chr(ord("A") + index)
        panel = panel.with_target(_query(expr, legend, ref_id, instant=instant, table=table))
    return panel


def timeseries(title: str, *targets: Target, **look: Unpack[Look]) -> timeseries_panel.Panel:
    """A graph of range queries over the dashboard's time range."""
    return _configure(timeseries_panel.Panel(), title, targets, instant=False, **look)


def stat(title: str, *targets: Target, **look: Unpack[Look]) -> stat_panel.Panel:
    """One number per query, now."""
    return _configure(stat_panel.Panel(), title, targets, instant=True, **look)


def bargauge(title: str, *targets: Target, **look: Unpack[Look]) -> bargauge_panel.Panel:
    """One bar per series, now."""
    return _configure(bargauge_panel.Panel(), title, targets, instant=True, **look)


def gauge(title: str, *targets: Target, **look: Unpack[Look]) -> gauge_panel.Panel:
    """One dial per series, now."""
    return _configure(gauge_panel.Panel(), title, targets, instant=True, **look)


def table(title: str, *targets: Target, **look: Unpack[Look]) -> table_panel.Panel:
    """One row per series, now."""
    return _configure(table_panel.Panel(), title, targets, instant=True, table=True, **look)


def stacked() -> common_builders.StackingConfig:
    """Series drawn on top of each other, so the top edge is the total."""
    return common_builders.StackingConfig().mode(common.StackingMode.NORMAL).group("A")


def threshold_line() -> common_builders.GraphThresholdsStyleConfig:
    """Thresholds drawn as lines across a graph."""
    return common_builders.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.LINE)


def sort_descending() -> model.DataTransformerConfig:
    """Largest value first; instant queries come back in no useful order."""
    return model.DataTransformerConfig(
        id_val="sortBy", options={"sort": [{"field": "Value", "desc": True}]}
    )


def variable(name: str, metric: str, label: str) -> dash.QueryVariable:
    """A drop-down of the values ``label`` takes on ``metric``: several at once, All first."""
    return (
        dash.QueryVariable(name)
        .label(name.capitalize())
        .datasource(PROMETHEUS)
        .query({"query": q.label_values(metric, label), "refId": f"var-{name}"})
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .include_all(True)
        .multi(True)
        # ".*" rather than a list of every value: the query stays short with many personas.
        .all_value(".*")
        .current(model.VariableOption(text="All", value="$__all"))
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )


@dataclass(frozen=True)
class Row:
    """A titled band of panels, laid out left to right and wrapped at the grid's width."""

    title: str
    panels: Sequence[PanelBuilder]


def pipeline_health() -> Row:
    """The last row of every dashboard: whether an empty panel means no traffic or no pipeline."""
    return Row(
        "Pipeline health",
        [
            stat(
                "Collector up",
                (q.COLLECTOR_UP, "up"),
                description="1 when Prometheus scrapes the collector (HypertoolCollectorDown).",
                width=4,
                height=4,
                steps=[("red", None), ("green", 1)],
            ),
            timeseries(
                "Data arriving",
                (q.POINTS_ACCEPTED, "metric points/s"),
                (q.SPANS_ACCEPTED, "spans/s"),
                unit="ops",
                width=8,
                height=4,
                description="What the collector accepts from agents (HypertoolPipelineNoData).",
            ),
            stat(
                "Kept out of the totals",
                (q.POINTS_REJECTED, "cumulative points rejected"),
                (q.MEASUREMENTS_DROPPED, "invalid counts dropped by agents"),
                width=6,
                height=4,
                steps=[("green", None), ("orange", 1)],
            ),
            stat(
                "Firing hypertool alerts",
                (q.FIRING_ALERTS, "firing"),
                width=6,
                height=4,
                steps=[("green", None), ("red", 1)],
            ),
            table(
                "Received, not used",
                (q.UNUSED_BY_REASON, ""),
                width=16,
                height=6,
                description="Metric points, spans and log records the collector received and "
                "did not turn into hypertool series, by reason and producer (instrumentation "
                "scope): other metrics of foreign agents, their logs, their spans (kept as "
                "traces only where a traces backend exists).",
            ),
            table(
                "Label values folded into other",
                (q.FOLDED_BY_LABEL, ""),
                width=8,
                height=6,
                description="Points counted under label value other, by the producer that "
                "sent them: its quota of new values (HYPERTOOL_PRODUCER_LABEL_QUOTA) or the "
                "fleet's bound on values in use (HYPERTOOL_MAX_LABEL_VALUES) was reached "
                "(HypertoolLabelValuesFolded).",
            ),
            table(
                "Calls counted without their agent",
                (q.UNATTRIBUTED_BY_REASON, ""),
                width=24,
                height=5,
                description="LLM calls counted from spans that no agent span named, counted "
                "as their own persona (the resource's, else service.name), by reason: "
                "no_agent_span (an app that is no agent), wait_expired (the agent's span "
                "came later than HYPERTOOL_ATTRIBUTION_WAIT, or never), over_capacity, "
                "shutdown.",
            ),
        ],
    )


_BUDGET_ALERTS: Final = "Budget alerts"
#: Annotation fields Grafana's Prometheus annotations read but the SDK's model lacks.
_BUDGET_ALERTS_TEXT: Final = {
    "titleFormat": "{{alertname}}",
    "textFormat": "{{persona}} {{period}}",
}


def _frame(uid: str, title: str, description: str) -> dash.Dashboard:
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .timezone(common.TimeZoneBrowser)
        .editable()
        .version(1)
        .refresh("30s")
        .time("now-6h", "now")
        .annotation(
            dash.AnnotationQuery()
            .name(_BUDGET_ALERTS)
            .datasource(PROMETHEUS)
            .enable(True)
            .expr(q.BUDGET_ALERTS)
            .icon_color("red")
        )
        .link(
            dash.DashboardLink("hypertool dashboards")
            .type(model.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
        )
    )


def _number_and_check(built: model.Dashboard) -> model.Dashboard:
    # The SDK leaves panel ids unset; links such as ?viewPanel=3 need them fixed and unique.
    for panel_id, panel in enumerate(built.panels or [], start=1):
        panel.id_val = panel_id
        # The SDK moves to a new line only once a line is full, so a panel wider than
        # what is left of its line would stick out of the grid instead of wrapping.
        grid = panel.grid_pos
        if grid is None or grid.x + grid.w > GRID_WIDTH:
            raise ValueError(f"{built.uid}: panel {panel.title!r} does not fit the grid")
    return built


def _json(built: model.Dashboard) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(JSONEncoder().encode(built))
    # Grafana lists each variable by its definition; the SDK's variable model has no field for it.
    for item in document["templating"]["list"]:
        item["definition"] = item["query"]["query"]
    for annotation in document["annotations"]["list"]:
        if annotation["name"] == _BUDGET_ALERTS:
            annotation.update(_BUDGET_ALERTS_TEXT)
    return document


def dashboard(
    uid: str,
    title: str,
    description: str,
    variables: Sequence[cog.Builder[model.VariableModel]],
    rows: Sequence[Row],
) -> dict[str, Any]:
    """The dashboard as Grafana's JSON, with the tag, links, annotation and refresh all share."""
    builder = _frame(uid, title, description).variables(list(variables))
    for row in rows:
        builder = builder.with_row(dash.Row(row.title))
        for panel in row.panels:
            builder = builder.with_panel(panel)
    return _json(_number_and_check(builder.build()))
