"""hypertool / Workflow performance: stage durations, quality gates, runs."""

from __future__ import annotations

from typing import Any

from hypertool_agent import names as n
from hypertool_tools.render.dashboards import panels as p
from hypertool_tools.render.dashboards import queries as q


def _stages() -> p.Row:
    return p.Row(
        "Stages",
        [
            p.timeseries(
                "Stage duration p50 and p95",
                (q.stage_duration(0.5), "p50 {{workflow}}/{{stage}}"),
                (q.stage_duration(0.95), "p95 {{workflow}}/{{stage}}"),
                unit="s",
            ),
            p.bargauge(
                "Slowest stages (p95)", (q.SLOWEST_STAGES, "{{workflow}}/{{stage}}"), unit="s"
            )
            .min(0)
            .with_transformation(p.sort_descending()),
        ],
    )


def _quality_gates() -> p.Row:
    return p.Row(
        "Quality gates",
        [
            p.timeseries(
                "Quality-gate pass rate", (q.GATE_PASS_RATE, "{{workflow}}"), unit="percentunit"
            ),
            p.table(
                "Failing gates",
                (q.FAILING_GATES, ""),
                description="Failed quality gates in the time range.",
            ),
        ],
    )


def _runs() -> p.Row:
    return p.Row(
        "Runs",
        [
            p.timeseries(
                "Runs per hour", (q.RUNS_PER_HOUR, "{{workflow}} {{result}}"), width=24
            ).stacking(p.stacked()),
        ],
    )


def workflow_performance() -> dict[str, Any]:
    """How long stages take, how often their quality gates pass, how many runs complete."""
    return p.dashboard(
        "hypertool-workflow-performance",
        "hypertool / Workflow performance",
        "How long stages take, how often their quality gates pass, how many runs complete.",
        [
            p.variable("workflow", q.GATES, n.WORKFLOW),
            p.variable("persona", f"{q.STAGE_SECONDS}_count", n.PERSONA),
        ],
        [_stages(), _quality_gates(), _runs(), p.pipeline_health()],
    )
