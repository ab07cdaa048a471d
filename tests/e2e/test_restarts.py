"""Prometheus and Alertmanager restarts lose nothing a person relies on.

Prometheus keeps what it scraped in its data directory (its write-ahead log survives even
SIGKILL), and the collector keeps the running totals meanwhile, so windowed usage is whole
across a Prometheus crash. Alertmanager writes its silences and its notification log to
its data directory, so a restart keeps the silences and does not notify again what it
already notified.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import JOB, assert_settled
from tests.e2e.test_alerting import Webhook

pytestmark = pytest.mark.e2e

TOKENS = c.TOKENS_USED.prometheus_name
RECORD = """
    import os
    from hypertool_agent import PersonaMetricsCollector
    PersonaMetricsCollector().record_token_usage(
        os.environ["PERSONA"], "restart", "gpt-4o", int(os.environ["TOKENS"])
    )
"""


@dataclass
class Restartable:
    """A stack whose Alertmanager notifies a test webhook within seconds."""

    native: NativeStack
    webhook: Webhook


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restartable]:
    """The stack, with a webhook and notification timings of seconds (repeat: one hour)."""
    webhook = Webhook()
    timings = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
    with running_stack(
        tmp_path_factory.mktemp("restarts"), alert_webhook_url=webhook.url, alert_timings=timings
    ) as native:
        yield Restartable(native, webhook)
    webhook.server.shutdown()
    webhook.server.server_close()


def test_prometheus_crash_loses_no_usage(restartable: Restartable) -> None:
    """500 tokens, Prometheus SIGKILLed and started again, 900 tokens: the hour holds 1400."""
    native = restartable.native
    native.run_python(RECORD, PERSONA="prom-crash", TOKENS="500")
    selector = f'{TOKENS}{{{JOB},{n.PERSONA}="prom-crash"}}'
    native.prometheus.wait_for(f"sum({selector})", lambda r: bool(r) and r[0].value == 500)
    native.stack.crash("prometheus")
    native.stack.up()
    native.run_python(RECORD, PERSONA="prom-crash", TOKENS="900")
    assert_settled(
        native,
        [
            (f"sum({selector})", None, {"": 1400.0}),
            # As the budget rules read it: anchored, no extrapolation.
            (f"sum(increase({selector}[1h] anchored))", None, {"": 1400.0}),
        ],
    )


def _alertmanager(native: NativeStack, path: str, body: object | None = None) -> Any:  # noqa: ANN401 - JSON
    request = urllib.request.Request(  # noqa: S310 - the test's Alertmanager, over http
        native.stack.alertmanager_url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        text = answer.read()
    return json.loads(text) if text else None


def _fire(native: NativeStack, persona: str) -> None:
    """Send one firing alert, as Prometheus re-sends it every evaluation."""
    now = dt.datetime.now(dt.UTC)
    alert = {
        "labels": {"alertname": "RestartCheck", "severity": "warning", "persona": persona},
        "annotations": {"summary": "restart check"},
        "startsAt": (now - dt.timedelta(minutes=1)).isoformat(),
        "endsAt": (now + dt.timedelta(minutes=10)).isoformat(),
    }
    _alertmanager(native, "/api/v2/alerts", [alert])


def _notifications(webhook: Webhook, seconds: float) -> dict[str, int]:
    """Firing notifications per persona that the webhook receives within ``seconds``."""
    counts: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = webhook.received.get(timeout=left)
        except queue.Empty:
            break
        for alert in message["alerts"]:
            if alert["status"] == "firing":
                persona = alert["labels"].get("persona", "")
                counts[persona] = counts.get(persona, 0) + 1
    return counts


def test_alertmanager_restart_keeps_silences_and_sends_nothing_twice(
    restartable: Restartable,
) -> None:
    """A notified alert is not notified again after a restart; a silence is still there."""
    native, webhook = restartable.native, restartable.webhook
    _fire(native, "notify-once")
    assert _notifications(webhook, 15) == {"notify-once": 1}
    now = dt.datetime.now(dt.UTC)
    silence = {
        "matchers": [{"name": "persona", "value": "silenced", "isRegex": False}],
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(hours=1)).isoformat(),
        "createdBy": "test",
        "comment": "kept across a restart",
    }
    silence_id = _alertmanager(native, "/api/v2/silences", silence)["silenceID"]
    native.stack.restart("alertmanager")  # graceful: it writes its state as it stops
    _fire(native, "notify-once")  # Prometheus keeps sending what still fires
    _fire(native, "silenced")
    # group_wait is 1 s: a lost notification log or silence would notify within seconds.
    assert _notifications(webhook, 8) == {}
    silences = _alertmanager(native, "/api/v2/silences")
    assert [s["status"]["state"] for s in silences if s["id"] == silence_id] == ["active"]
