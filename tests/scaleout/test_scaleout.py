"""Beyond one machine, on loopback with the real binaries (tests/scaleout/cluster.py).

Agents on two hosts, Thanos Receive (3, replication 2), Query, Ruler, two Alertmanagers.

Mid-run, one receiver and one collector are killed with SIGKILL and started again, as an
orchestrator would. Afterwards the fleet's totals read through Thanos Query equal what
the agents recorded, an overspent budget fires through the Ruler, and the webhook gets
its notification once, not once per Alertmanager.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from hypertool_tools import contract as c
from hypertool_tools.render.rules import windowed_usage
from hypertool_tools.stack.build import binaries, thanos_path
from tests.conftest import LOOPBACK
from tests.e2e import test_dashboards_live as live
from tests.e2e.test_alerting import Webhook
from tests.scaleout.cluster import ROOT, Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.scaleout]

AGENT = """
    import os
    from hypertool_agent import PersonaMetricsCollector
    PersonaMetricsCollector().record_token_usage(
        os.environ["PERSONA"], "scale", "gpt-4o", int(os.environ["TOKENS"])
    )
"""
PERSONAS = ("scale-planner", "scale-coder", "scale-reviewer")
TOKENS = c.TOKENS_USED.prometheus_name


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Webhook]]:
    """The whole scale-out stack, started, with a webhook behind its Alertmanagers."""
    webhook = Webhook()
    built = Cluster(
        binaries(ROOT), thanos_path(ROOT), tmp_path_factory.mktemp("scaleout"), webhook.url
    )
    try:
        built.start()
        yield built, webhook
    finally:
        built.stop()
        webhook.server.shutdown()
        webhook.server.server_close()


def _agent(cluster: Cluster, host: int, persona: str, tokens: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(AGENT)],
        env={
            **_env(),
            "OTEL_EXPORTER_OTLP_ENDPOINT": cluster.otlp_endpoint(host),
            "PERSONA": persona,
            "TOKENS": str(tokens),
        },
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert b"dropped" not in done.stderr, done.stderr


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}


def _wait(cluster: Cluster, promql: str, want: float, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        result = cluster.query(promql)
        got = float(result[0]["value"][1]) if result else None
        if got == want:
            return got
        time.sleep(1)
    raise AssertionError(f"{promql}: {got}, expected {want}")


def test_fleet_totals_survive_a_lost_receiver_and_a_lost_collector(
    cluster: tuple[Cluster, Webhook],
) -> None:
    """Tokens recorded on two hosts equal the fleet totals in Thanos, kills included."""
    stack, _ = cluster
    rng = random.Random(13)
    sent: Counter[str] = Counter()
    for round_ in range(3):
        for _ in range(8):
            host, persona, tokens = rng.randrange(2), rng.choice(PERSONAS), rng.randint(1, 400)
            _agent(stack, host, persona, tokens)
            sent[persona] += tokens
        if round_ == 0:
            # receive-1 is host 1's remote-write endpoint: its Prometheus agent must hold
            # the samples in its WAL and send them once the receiver is back.
            stack.processes["receive-1"].kill()
            stack.processes["collector-1"].kill()
            stack.processes["collector-1"].start()
        if round_ == 1:
            stack.processes["receive-1"].start()
    for persona, tokens in sent.items():
        selector = f'{TOKENS}{{persona="{persona}"}}'
        windowed = f"sum({windowed_usage(selector, '1h')})"
        assert _wait(stack, windowed, float(tokens)) == tokens
        raw = f'sum({TOKENS}{{persona="{persona}"}})'
        assert _wait(stack, raw, float(tokens)) == tokens
    # Both hosts wrote, each under its own collector label.
    hosts = stack.query(f'count by (collector) ({TOKENS}{{chatmode="scale"}})')
    assert {r["metric"]["collector"] for r in hosts} == {"host-0", "host-1"}


def test_an_overspent_budget_notifies_once_through_the_ruler(
    cluster: tuple[Cluster, Webhook],
) -> None:
    """backend-engineer spends 2,500 of its 2,000 a day: one notification, from two managers."""
    stack, webhook = cluster
    _agent(stack, 0, "backend-engineer", 1500)
    _agent(stack, 1, "backend-engineer", 1000)
    alert = webhook.wait_for(
        "firing", "HypertoolTokenBudgetExhausted", "backend-engineer", timeout=240
    )
    assert alert["labels"]["period"] == "1d"
    # The Ruler sent it to both managers: "once" is their agreement, not a lost copy.
    for i in range(stack.alertmanagers):
        url = f"{stack.url(f'alertmanager-{i}-web')}/api/v2/alerts"
        with LOOPBACK.open(url, timeout=10) as response:
            names = {a["labels"]["alertname"] for a in json.load(response)}
        assert "HypertoolTokenBudgetExhausted" in names, (i, names)
    time.sleep(15)  # both managers have had time to notify, had they not agreed
    later = []
    while not webhook.received.empty():
        later.append(webhook.received.get())
    again = [
        m
        for m in later
        for a in m["alerts"]
        if a["labels"]["alertname"] == "HypertoolTokenBudgetExhausted"
        and a["labels"].get("persona") == "backend-engineer"
        and a["status"] == "firing"
    ]
    assert again == [], again


def test_every_dashboard_panel_answers_through_thanos_query(
    cluster: tuple[Cluster, Webhook],
) -> None:
    """The dashboards, unchanged, get data from Thanos Query for every panel and variable."""
    stack, _ = cluster
    env = {**_env(), "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_endpoint(0)}
    demo = [sys.executable, "-m", "hypertool_tools.cli", "demo", "--json", "--stage-seconds"]
    for seed in ("7", "8"):
        subprocess.run([*demo, "0.05", "--seed", seed], env=env, check=True, timeout=120)
    for code in (
        live.FOREIGN_METRIC,
        live.UNPRICED_CALL,
        live.USER_USAGE,
        live.UNATTRIBUTED_CALL,
        live.MANY_SCOPES,
    ):
        subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)], env=env, check=True, timeout=60
        )
    _wait(stack, "count(sum by (__name__) (hypertool_pipeline_folded_points_total)) > 0", 1.0)
    _wait(stack, "count(sum by (__name__) (hypertool_llm_unpriced_tokens_total)) > 0", 1.0)
    _wait(stack, "count(sum by (__name__) (hypertool_user_cost_usd_total)) > 0", 1.0)
    _wait(stack, "count(sum by (__name__) (hypertool_pipeline_unattributed_total)) > 0", 1.0)
    # Two collector scrapes for a rate of its telemetry, and the Ruler's next evaluation.
    time.sleep(5)
    empty = []
    for uid, panel, values in live.cases():
        dashboard = next(d for d in live.DASHBOARDS if json.loads(d.read_text())["uid"] == uid)
        spec = next(
            p
            for p in json.loads(dashboard.read_text())["panels"]
            if panel.startswith(p["title"] + " [")
        )
        for target in spec["targets"]:
            query = live.expand(target["expr"], values)
            if not stack.query(query):
                empty.append(f"{uid} / {panel}: {query}")
    assert empty == []
