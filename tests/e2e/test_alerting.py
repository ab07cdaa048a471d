"""A budget alert from the demo to the notification a person receives, and back."""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest

from tests.conftest import LOOPBACK, NativeStack, free_ports, running_stack

pytestmark = pytest.mark.e2e

BUDGETS = """
period: 1h
budgets:
  - persona: backend-engineer
    tokens: {tokens}
"""


class Webhook:
    """The receiver a person would read: Alertmanager's webhook notifications, in order."""

    def __init__(self) -> None:
        """Listen on a free loopback port."""
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.put(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        (port,) = free_ports(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/hypertool-alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, status: str, alertname: str, persona: str, timeout: float) -> dict[str, Any]:
        """The first notification with an alert of that name, persona and status."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.received.get(timeout=left)
            except queue.Empty:
                break
            for alert in message["alerts"]:
                labels = alert["labels"]
                if (alert["status"], labels["alertname"], labels.get("persona")) == (
                    status,
                    alertname,
                    persona,
                ):
                    return cast(dict[str, Any], alert)
        raise AssertionError(f"no {status} {alertname} for {persona} within {timeout}s")


@dataclass
class AlertingStack:
    """A stack whose budgets come from a file the test edits, notifying a test webhook."""

    native: NativeStack
    webhook: Webhook
    budgets: Path


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertingStack]:
    """The stack with a 2000-token hourly budget and notifications within seconds."""
    state = tmp_path_factory.mktemp("alerting")
    budgets = state / "budgets.yaml"
    budgets.write_text(BUDGETS.format(tokens=2000))
    webhook = Webhook()
    timings = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
    with running_stack(
        state / "stack", budgets_file=budgets, alert_webhook_url=webhook.url, alert_timings=timings
    ) as native:
        yield AlertingStack(native, webhook, budgets)
    webhook.server.shutdown()
    webhook.server.server_close()


def test_budget_exhaustion_fires_notifies_and_resolves(alerting: AlertingStack) -> None:
    """Overspending fires in Prometheus, notifies with persona and summary, then resolves."""
    native = alerting.native
    emitted = native.run_demo("--workflow", "package_release", "--exact", "--count", "3")
    spent = sum(t["tokens"] for t in emitted["tokens"] if t["persona"] == "backend-engineer")
    assert spent == 3 * 850  # over the 2000 budget

    firing = native.prometheus.wait_for(
        'ALERTS{alertname="HypertoolTokenBudgetExhausted",alertstate="firing"}',
        bool,
        timeout=120,
    )
    assert [(s.labels["persona"], s.labels["severity"]) for s in firing] == [
        ("backend-engineer", "critical")
    ]
    alert = alerting.webhook.wait_for(
        "firing", "HypertoolTokenBudgetExhausted", "backend-engineer", timeout=60
    )
    assert alert["annotations"]["summary"] == "backend-engineer has used its whole 1h token budget"
    assert alert["annotations"]["description"].startswith("The fleet used 127.5% of the 1h")
    assert alert["labels"]["period"] == "1h"

    alerting.budgets.write_text(BUDGETS.format(tokens=100_000))
    native.stack.reload_budgets()
    resolved = alerting.webhook.wait_for(
        "resolved", "HypertoolTokenBudgetExhausted", "backend-engineer", timeout=90
    )
    assert resolved["endsAt"] > alert["startsAt"]


def test_exhausted_inhibits_nearly_exhausted_for_the_same_budget(alerting: AlertingStack) -> None:
    """With both alerts for one budget, Alertmanager holds back the "nearly" one."""
    labels = {"persona": "inhibit-check", "model": "any", "workflow": "any", "period": "1d"}
    alerts = [
        {
            "labels": {"alertname": name, "severity": severity, **labels},
            "annotations": {"summary": name},
        }
        for name, severity in (
            ("HypertoolTokenBudgetExhausted", "critical"),
            ("HypertoolTokenBudgetNearlyExhausted", "warning"),
        )
    ]
    url = alerting.native.stack.alertmanager_url
    request = urllib.request.Request(  # noqa: S310 - our loopback Alertmanager
        f"{url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with LOOPBACK.open(request, timeout=10) as response:
        assert response.status == 200
    deadline = time.monotonic() + 30
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        with LOOPBACK.open(f"{url}/api/v2/alerts", timeout=10) as response:
            states = {
                a["labels"]["alertname"]: a["status"]["state"]
                for a in json.load(response)
                if a["labels"].get("persona") == "inhibit-check"
            }
        if states.get("HypertoolTokenBudgetNearlyExhausted") == "suppressed":
            break
        time.sleep(0.5)
    assert states == {
        "HypertoolTokenBudgetExhausted": "active",
        "HypertoolTokenBudgetNearlyExhausted": "suppressed",
    }
    alerting.webhook.wait_for("firing", "HypertoolTokenBudgetExhausted", "inhibit-check", 30)
