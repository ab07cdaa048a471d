"""A scale-out hypertool on loopback: the real binaries, as docs/scale-out.md lays them out.

Per agent host, a collector (with its own ledger) and Prometheus in agent mode that
scrapes it and remote-writes to Thanos Receive, labelled with the host's name. Three
receivers share one hashring with replication factor 2; Thanos Query reads them all and
deduplicates replicas; Thanos Ruler evaluates the repository's rule files through Query
and sends alerts to two Alertmanagers in one gossip cluster.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hypertool_tools import contract as c
from hypertool_tools.stack.build import Binaries
from hypertool_tools.stack.launcher import alertmanager_config, healthy
from tests.conftest import LOOPBACK, free_ports

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
#: The label Query deduplicates on: one value per receiver, one per ruler.
RECEIVE_REPLICA = "receive_replica"
RULER_REPLICA = "ruler_replica"
#: The label each agent host's Prometheus adds: the collector a series came from.
COLLECTOR_LABEL = "collector"
#: The ports of one agent host: the collector's five and its Prometheus agent's.
HOST_PORTS = ("grpc", "http", "exporter", "telemetry", "health", "agent")


@dataclass
class Process:
    """One service: how to start it, where it logs, how to tell it is ready."""

    name: str
    argv: list[str]
    ready_url: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (again) and wait until it answers its readiness URL."""
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while not healthy(self.ready_url):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace").splitlines()[-20:]
                raise RuntimeError(f"{self.name} did not start:\n" + "\n".join(tail))
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: what a lost node or an out-of-memory kill does."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    """The processes of a scale-out stack in ``state``; ``start()`` runs them all."""

    bins: Binaries
    thanos: Path
    state: Path
    webhook_url: str
    collectors: int = 2
    receivers: int = 3
    alertmanagers: int = 2
    interval: str = "1s"
    processes: dict[str, Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Pick free ports and lay out every process; nothing starts yet."""
        kinds = {
            "receive": (self.receivers, ("grpc", "http", "write", "capnp")),
            "alertmanager": (self.alertmanagers, ("web", "cluster")),
            "collector": (self.collectors, HOST_PORTS),
        }
        names = ["query-grpc", "query-http", "rule-grpc", "rule-http"]
        for prefix, (count, ports) in kinds.items():
            names += [f"{prefix}-{i}-{kind}" for i in range(count) for kind in ports]
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.state.mkdir(parents=True, exist_ok=True)
        for build in (self._receivers, self._query, self._alertmanagers, self._ruler, self._hosts):
            for process in build():
                self.processes[process.name] = process

    def url(self, name: str) -> str:
        """http://127.0.0.1:<port> of one port name."""
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def query_url(self) -> str:
        """Thanos Query's HTTP API: where dashboards and tests read the fleet."""
        return self.url("query-http")

    def otlp_endpoint(self, collector: int) -> str:
        """What an agent on host ``collector`` puts in OTEL_EXPORTER_OTLP_ENDPOINT."""
        return self.url(f"collector-{collector}-grpc")

    def _dir(self, name: str) -> Path:
        path = self.state / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _process(self, name: str, argv: list[str], ready: str, **env: str) -> Process:
        return Process(name, argv, ready, self.state / f"{name}.log", env)

    def _receivers(self) -> list[Process]:
        ring = [
            {"hashring": "default", "endpoints": [
                f"127.0.0.1:{self.ports[f'receive-{i}-grpc']}" for i in range(self.receivers)
            ]}
        ]  # fmt: skip
        hashrings = self.state / "hashrings.json"
        hashrings.write_text(json.dumps(ring))
        return [
            self._process(
                f"receive-{i}",
                [
                    str(self.thanos), "receive",
                    f"--tsdb.path={self._dir(f'receive-{i}-data')}",
                    f"--grpc-address=127.0.0.1:{self.ports[f'receive-{i}-grpc']}",
                    f"--http-address=127.0.0.1:{self.ports[f'receive-{i}-http']}",
                    f"--remote-write.address=127.0.0.1:{self.ports[f'receive-{i}-write']}",
                    f"--receive.capnproto-address=127.0.0.1:{self.ports[f'receive-{i}-capnp']}",
                    f"--receive.local-endpoint=127.0.0.1:{self.ports[f'receive-{i}-grpc']}",
                    f"--receive.hashrings-file={hashrings}",
                    "--receive.replication-factor=2",
                    f'--label={RECEIVE_REPLICA}="receive-{i}"',
                    "--tsdb.retention=1d",
                ],
                f"{self.url(f'receive-{i}-http')}/-/ready",
            )
            for i in range(self.receivers)
        ]  # fmt: skip

    def _query(self) -> list[Process]:
        endpoints = [
            f"--endpoint=127.0.0.1:{self.ports[f'receive-{i}-grpc']}" for i in range(self.receivers)
        ]
        return [
            self._process(
                "query",
                [
                    str(self.thanos), "query",
                    f"--grpc-address=127.0.0.1:{self.ports['query-grpc']}",
                    f"--http-address=127.0.0.1:{self.ports['query-http']}",
                    *endpoints,
                    f"--endpoint=127.0.0.1:{self.ports['rule-grpc']}",
                    f"--query.replica-label={RECEIVE_REPLICA}",
                    f"--query.replica-label={RULER_REPLICA}",
                ],
                f"{self.query_url}/-/ready",
            )
        ]  # fmt: skip

    def _alertmanager_config(self) -> Path:
        timings = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
        config = alertmanager_config(ROOT, self.webhook_url, timings)
        path = self.state / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def _alertmanagers(self) -> list[Process]:
        config = self._alertmanager_config()
        peers = [
            f"--cluster.peer=127.0.0.1:{self.ports[f'alertmanager-{i}-cluster']}"
            for i in range(self.alertmanagers)
        ]
        return [
            self._process(
                f"alertmanager-{i}",
                [
                    str(self.bins.alertmanager),
                    f"--config.file={config}",
                    f"--storage.path={self._dir(f'alertmanager-{i}-data')}",
                    f"--web.listen-address=127.0.0.1:{self.ports[f'alertmanager-{i}-web']}",
                    f"--cluster.listen-address=127.0.0.1:{self.ports[f'alertmanager-{i}-cluster']}",
                    "--cluster.advertise-address="
                    f"127.0.0.1:{self.ports[f'alertmanager-{i}-cluster']}",
                    *peers,
                    # Loopback peers gossip in milliseconds; the default waits are for networks.
                    "--cluster.peer-timeout=2s",
                    "--cluster.gossip-interval=50ms",
                    "--cluster.pushpull-interval=2s",
                ],
                f"{self.url(f'alertmanager-{i}-web')}/-/ready",
            )
            for i in range(self.alertmanagers)
        ]  # fmt: skip

    def _ruler(self) -> list[Process]:
        managers = [
            f"--alertmanagers.url={self.url(f'alertmanager-{i}-web')}"
            for i in range(self.alertmanagers)
        ]
        return [
            self._process(
                "rule",
                [
                    str(self.thanos), "rule",
                    f"--data-dir={self._dir('rule-data')}",
                    *(f"--rule-file={f}" for f in RULES),
                    f"--query={self.query_url}",
                    *managers,
                    f"--grpc-address=127.0.0.1:{self.ports['rule-grpc']}",
                    f"--http-address=127.0.0.1:{self.ports['rule-http']}",
                    f'--label={RULER_REPLICA}="rule-0"',
                    f"--eval-interval={self.interval}",
                ],
                f"{self.url('rule-http')}/-/ready",
            )
        ]  # fmt: skip

    def _agent_config(self, host: int) -> Path:
        receiver = host % self.receivers
        config = {
            "global": {
                "scrape_interval": self.interval,
                "external_labels": {COLLECTOR_LABEL: f"host-{host}"},
            },
            # prometheus/prometheus.yml's two collector jobs: the dashboards read both.
            "scrape_configs": [
                {
                    "job_name": job,
                    "static_configs": [
                        {"targets": [f"127.0.0.1:{self.ports[f'collector-{host}-{port}']}"]}
                    ],
                }
                for job, port in (
                    (c.JOB_COLLECTOR_EXPORTER, "exporter"),
                    (c.JOB_COLLECTOR_TELEMETRY, "telemetry"),
                )
            ],
            "remote_write": [
                {
                    "url": f"{self.url(f'receive-{receiver}-write')}/api/v1/receive",
                    "queue_config": {"batch_send_deadline": "1s", "min_backoff": "100ms",
                                     "max_backoff": "1s"},
                }
            ],
        }  # fmt: skip
        path = self.state / f"agent-{host}.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def _hosts(self) -> list[Process]:
        out = []
        for i in range(self.collectors):
            p = {
                k: self.ports[f"collector-{i}-{k}"]
                for k in ("grpc", "http", "exporter", "telemetry", "health", "agent")
            }
            out.append(
                self._process(
                    f"collector-{i}",
                    [
                        str(self.bins.collector),
                        f"--config={ROOT / 'collector-config/otelcol.yaml'}",
                        f"--config={ROOT / 'collector-config/generated/components.yaml'}",
                        f"--config={ROOT / 'collector-config/security/auth-off.yaml'}",
                        f"--config={ROOT / 'collector-config/security/tls-off.yaml'}",
                    ],
                    f"http://127.0.0.1:{p['health']}/",
                    HYPERTOOL_OTLP_GRPC_ENDPOINT=f"127.0.0.1:{p['grpc']}",
                    HYPERTOOL_PRICES_FILE=str(
                        ROOT / "collector-config/generated/genai-prices.json"
                    ),
                    HYPERTOOL_OTLP_HTTP_ENDPOINT=f"127.0.0.1:{p['http']}",
                    HYPERTOOL_PROMETHEUS_EXPORTER_ENDPOINT=f"127.0.0.1:{p['exporter']}",
                    HYPERTOOL_COLLECTOR_TELEMETRY_HOST="127.0.0.1",
                    HYPERTOOL_COLLECTOR_TELEMETRY_PORT=str(p["telemetry"]),
                    HYPERTOOL_COLLECTOR_HEALTH_ENDPOINT=f"127.0.0.1:{p['health']}",
                    HYPERTOOL_LEDGER_DIR=str(self._dir(f"collector-{i}-ledger")),
                )
            )
            out.append(
                self._process(
                    f"agent-{i}",
                    [
                        str(self.bins.prometheus), "--agent",
                        f"--config.file={self._agent_config(i)}",
                        f"--storage.agent.path={self._dir(f'agent-{i}-wal')}",
                        f"--web.listen-address=127.0.0.1:{p['agent']}",
                        "--enable-feature=created-timestamp-zero-ingestion",
                    ],
                    f"http://127.0.0.1:{p['agent']}/-/ready",
                )
            )  # fmt: skip
        return out

    def start(self) -> None:
        """Start every process, stores first, then readers, then writers."""
        for process in self.processes.values():
            process.start()

    def stop(self) -> None:
        """Stop every process (the writers first)."""
        for process in reversed(list(self.processes.values())):
            process.stop()

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query through Thanos Query, deduplicated."""
        url = f"{self.query_url}/api/v1/query?" + urllib.parse.urlencode(
            {"query": promql, "dedup": "true"}
        )
        with LOOPBACK.open(url, timeout=30) as response:
            body = json.load(response)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result
