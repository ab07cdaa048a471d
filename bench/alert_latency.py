"""From a budget crossed to the notification in the webhook, with the compose defaults.

A native stack runs with prometheus.yml, budget-alerts.yml and alertmanager.yml as compose
mounts them (15 s scrape, 5 s rule evaluation, `for: 0s` on an exhausted budget, 5 s
group wait for critical alerts). RUNS agent processes, started a few seconds apart so that
they meet the scrape and evaluation cycles at different phases, each spend 150 tokens of a
persona's 100-token budget; each prints the wall time just before its
``record_token_usage``. The latency is from that moment to the webhook receiving the
persona's HypertoolTokenBudgetExhausted notification.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import running_stack
from tests.e2e.test_alerting import Webhook

RUNS = 10
#: 1.7 s apart: ten runs spread over more than one 15 s scrape interval.
STAGGER_SECONDS = 1.7
AGENT = """
    import sys, time
    from hypertool_agent import PersonaMetricsCollector
    collector = PersonaMetricsCollector()
    print(time.time(), flush=True)
    collector.record_token_usage(sys.argv[1], "latency", "gpt-4o", 150)
"""


class _Arrivals:
    """When each persona's budget notification reaches the test webhook."""

    def __init__(self) -> None:
        self.webhook = Webhook()
        self.url = self.webhook.url
        self.at: dict[str, float] = {}
        threading.Thread(target=self._note, daemon=True).start()

    def _note(self) -> None:
        # The webhook queues each message as it arrives: taking it off at once notes the
        # arrival time to within the queue's hand-over.
        while True:
            message = self.webhook.received.get()
            now = time.time()
            for alert in message["alerts"]:
                labels = alert["labels"]
                if (alert["status"], labels["alertname"]) == (
                    "firing",
                    "HypertoolTokenBudgetExhausted",
                ):
                    self.at.setdefault(labels["persona"], now)


def run(runs: int = RUNS) -> dict[str, Any]:
    """p50, p95 and max of the budget-to-notification latency over ``runs`` agents."""
    webhook = _Arrivals()
    personas = [f"latency-{i}" for i in range(runs)]
    with tempfile.TemporaryDirectory() as tmp:
        budgets = Path(tmp) / "budgets.yaml"
        lines = ["period: 1d", "budgets:"]
        lines += [f"  - persona: {p}\n    tokens: 100" for p in personas]
        budgets.write_text("\n".join(lines) + "\n")
        with running_stack(
            Path(tmp) / "stack", None, budgets_file=budgets, alert_webhook_url=webhook.url
        ) as native:
            time.sleep(20)  # past the first scrapes and evaluations of a fresh stack
            crossed: dict[str, float] = {}
            for persona in personas:
                done = subprocess.run(
                    [sys.executable, "-c", textwrap.dedent(AGENT), persona],
                    env=native.agent_env(),
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=60,
                )
                crossed[persona] = float(done.stdout.split()[0])
                time.sleep(STAGGER_SECONDS)
            deadline = time.monotonic() + 180
            while len(webhook.at) < runs and time.monotonic() < deadline:
                time.sleep(0.5)
    webhook.webhook.server.shutdown()
    latencies = sorted(webhook.at[p] - crossed[p] for p in personas if p in webhook.at)
    cuts = statistics.quantiles(latencies, n=20, method="inclusive")
    return {
        "runs": runs,
        "notified": len(latencies),
        "p50_seconds": round(statistics.median(latencies), 1),
        "p95_seconds": round(cuts[18], 1),
        "max_seconds": round(latencies[-1], 1),
        "latencies_seconds": [round(x, 1) for x in latencies],
        "settings": "scrape 15s, evaluation 5s, for 0s, critical group_wait 5s",
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
