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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import free_ports, running_stack

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
    """A webhook that notes when each persona's budget notification arrives."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        arrivals = self.at

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.time()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                for alert in body["alerts"]:
                    labels = alert["labels"]
                    if (alert["status"], labels["alertname"]) == (
                        "firing",
                        "HypertoolTokenBudgetExhausted",
                    ):
                        arrivals.setdefault(labels["persona"], now)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        (port,) = free_ports(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/hypertool-alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


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
    webhook.server.shutdown()
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
