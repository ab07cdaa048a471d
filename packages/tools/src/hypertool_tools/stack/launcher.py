"""The native stack launcher: our collector, Prometheus and Alertmanager on loopback.

It runs the same config files docker compose mounts. Where the environments must differ
(addresses of the other services, scrape and rule intervals, the alert webhook URL, and
for tests the budgets file and notification timings) the differences are applied to
runtime copies of prometheus.yml and alertmanager.yml in the state folder, key by key,
and nothing else. The alert rules are always the repository's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from hypertool_agent import load_budgets
from hypertool_tools import contract as c
from hypertool_tools.render.collector import COMPONENTS_FILE
from hypertool_tools.render.pricebook import PRICE_DATA
from hypertool_tools.render.rules import RULES_FILE, load_alerts, render_rules
from hypertool_tools.stack.build import (
    Binaries,
    StackError,
    binaries,
    cache_dir,
)

COLLECTOR_CONFIG = Path("collector-config") / "otelcol.yaml"
#: Merged over COLLECTOR_CONFIG: our components' settings, rendered from the contract.
COLLECTOR_COMPONENTS = COMPONENTS_FILE
#: The collector's price book: genai-prices' data, rendered from the pinned package.
COLLECTOR_PRICES = PRICE_DATA
#: Loaded when HYPERTOOL_TRACES_ENDPOINT names a traces backend: spans go there too.
TRACES_BACKEND = Path("collector-config") / "traces-backend.yaml"
#: As in compose: silences and the notification log are written to the data directory
#: every minute (and at a graceful stop), so that a restart keeps them and sends no
#: notification twice; a crash loses at most the last minute of them.
ALERTMANAGER_FLAGS = ("--data.maintenance-interval=1m",)
#: OTLP authentication and TLS: each is one overlay, auth-{on,off}.yaml and tls-{on,off}.yaml,
#: chosen by HYPERTOOL_OTLP_AUTH and HYPERTOOL_OTLP_TLS (off by default), as in compose.
SECURITY_DIR = Path("collector-config") / "security"
#: What each setting needs when on: the files the overlay reads.
SECURITY_FILES = {
    "HYPERTOOL_OTLP_AUTH": ("HYPERTOOL_OTLP_TOKEN_FILE",),
    "HYPERTOOL_OTLP_TLS": ("HYPERTOOL_OTLP_TLS_CERT_FILE", "HYPERTOOL_OTLP_TLS_KEY_FILE"),
}
PROMETHEUS_CONFIG = Path("prometheus") / "prometheus.yml"
ALERTMANAGER_CONFIG = Path("prometheus") / "alertmanager.yml"

#: Prometheus' own scrape job; the collector's two are in the contract. Natively, all three
#: get loopback targets in place of the compose ones.
JOB_PROMETHEUS = "prometheus"

#: Prometheus flags the stack depends on, the same in docker-compose.yml (a test checks).
#: created-timestamp-zero-ingestion stores a 0 at each counter's start: see otelcol.yaml.
PROMETHEUS_FLAGS = ("--enable-feature=created-timestamp-zero-ingestion",)

PORT_LABELS = {
    "otlp_grpc": "OTLP gRPC",
    "otlp_http": "OTLP HTTP",
    "prometheus": "Prometheus",
    "alertmanager": "Alertmanager",
    "collector_exporter": "collector's Prometheus exporter",
    "collector_telemetry": "collector's own telemetry",
    "collector_health": "collector health check",
}


@dataclass(frozen=True)
class Ports:
    """Loopback ports of the native stack; each can be overridden."""

    otlp_grpc: int = 4317
    otlp_http: int = 4318
    prometheus: int = 9090
    alertmanager: int = 9093
    collector_exporter: int = 8889
    collector_telemetry: int = 8888
    collector_health: int = 13133

    @classmethod
    def from_env(cls, **overrides: int | None) -> Ports:
        """Defaults, then HYPERTOOL_<NAME>_PORT variables, then explicit overrides."""
        values: dict[str, int] = {}
        for f in fields(cls):
            env = os.environ.get(f"HYPERTOOL_{f.name.upper()}_PORT")
            if env:
                try:
                    values[f.name] = int(env)
                except ValueError:
                    raise StackError(
                        f"HYPERTOOL_{f.name.upper()}_PORT={env!r}: expected a port number"
                    ) from None
            if overrides.get(f.name) is not None:
                values[f.name] = int(overrides[f.name])  # type: ignore[arg-type]
        return cls(**values)


@dataclass(frozen=True)
class Service:
    """One process of the stack."""

    name: str
    argv: list[str]
    health_url: str
    #: Ports field name -> port.
    ports: dict[str, int]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    """A native stack rooted at a checkout, with its state (data, logs, pids) elsewhere."""

    root: Path
    state_dir: Path = field(default_factory=lambda: cache_dir() / "stack")
    ports: Ports = field(default_factory=Ports)
    scrape_interval: str | None = None
    evaluation_interval: str | None = None
    bins: Binaries | None = None
    #: Budgets to render into the rules instead of the committed prometheus/rules/budgets.yml.
    budgets_file: Path | None = None
    #: Where Alertmanager's webhook receiver posts. alertmanager.yml's default reaches the
    #: Docker host from compose; natively the same port on loopback.
    alert_webhook_url: str | None = field(
        default_factory=lambda: (
            os.environ.get("HYPERTOOL_ALERT_WEBHOOK_URL")
            or "http://127.0.0.1:5001/hypertool-alerts"
        )
    )
    #: Route timings to override (group_wait, group_interval, repeat_interval), for tests.
    alert_timings: dict[str, str] = field(default_factory=dict)
    #: Extra environment of the collector, e.g. HYPERTOOL_TRACE_EXPORTERS, for tests.
    collector_env: dict[str, str] = field(default_factory=dict)
    #: Overlays loaded after the collector's own configuration, e.g. for profiling.
    collector_overlays: tuple[Path, ...] = ()
    #: Processes this launcher started, reaped on `down` (the CLI's exit just lets go).
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        """Find the built binaries when none were given."""
        if self.bins is None:
            self.bins = binaries(self.root)

    # Endpoints -------------------------------------------------------------------------

    @property
    def otlp_grpc_endpoint(self) -> str:
        """What agents put in OTEL_EXPORTER_OTLP_ENDPOINT."""
        return f"http://127.0.0.1:{self.ports.otlp_grpc}"

    @property
    def prometheus_url(self) -> str:
        """Prometheus' HTTP API and UI."""
        return f"http://127.0.0.1:{self.ports.prometheus}"

    @property
    def alertmanager_url(self) -> str:
        """Alertmanager's HTTP API."""
        return f"http://127.0.0.1:{self.ports.alertmanager}"

    def endpoints(self) -> dict[str, str]:
        """Human-readable endpoints, printed by `stack up` and `stack status`."""
        return {
            "OTLP gRPC": f"127.0.0.1:{self.ports.otlp_grpc}",
            "OTLP HTTP": f"http://127.0.0.1:{self.ports.otlp_http}",
            "Prometheus": self.prometheus_url,
            "Alertmanager": self.alertmanager_url,
            "Collector metrics (scraped by Prometheus)": f"http://127.0.0.1:{self.ports.collector_exporter}/metrics",
        }

    # Configuration ---------------------------------------------------------------------

    def prometheus_runtime_config(self) -> dict[str, Any]:
        """prometheus.yml as compose mounts it, with only the native differences applied."""
        import yaml

        config: dict[str, Any] = yaml.safe_load((self.root / PROMETHEUS_CONFIG).read_text())
        glob = config.setdefault("global", {})
        if self.scrape_interval:
            glob["scrape_interval"] = self.scrape_interval
        if self.evaluation_interval:
            glob["evaluation_interval"] = self.evaluation_interval
        # Relative rule paths resolve against the config's folder; the runtime copy lives
        # in the state folder, so point them back at the repository's files.
        base = (self.root / PROMETHEUS_CONFIG).parent
        rule_files = sorted(str(f) for p in config.get("rule_files", []) for f in base.glob(p))
        if self.budgets_file is not None:
            # Budgets from another file: its rendered rules replace the repository's.
            committed = str(self.root / RULES_FILE)
            rule_files = [f for f in rule_files if f != committed]
            rule_files.append(str(self.state_dir / RULES_FILE.name))
        config["rule_files"] = rule_files
        targets = {
            c.JOB_COLLECTOR_EXPORTER: f"127.0.0.1:{self.ports.collector_exporter}",
            c.JOB_COLLECTOR_TELEMETRY: f"127.0.0.1:{self.ports.collector_telemetry}",
            JOB_PROMETHEUS: f"127.0.0.1:{self.ports.prometheus}",
        }
        for job in config.get("scrape_configs", []):
            if job["job_name"] in targets:
                for static in job.get("static_configs", []):
                    static["targets"] = [targets[job["job_name"]]]
        for manager in config.get("alerting", {}).get("alertmanagers", []):
            for static in manager.get("static_configs", []):
                static["targets"] = [f"127.0.0.1:{self.ports.alertmanager}"]
        return config

    def alertmanager_runtime_config(self) -> dict[str, Any]:
        """alertmanager.yml as compose mounts it, with the webhook URL and timings set here."""
        return alertmanager_config(self.root, self.alert_webhook_url, self.alert_timings)

    def _write_runtime_configs(self) -> None:
        import yaml

        if self.budgets_file is not None:
            rules = render_rules(load_budgets(self.budgets_file), load_alerts(self.root))
            (self.state_dir / RULES_FILE.name).write_text(rules)
        (self.state_dir / "prometheus.yml").write_text(
            yaml.safe_dump(self.prometheus_runtime_config(), sort_keys=False)
        )
        (self.state_dir / "alertmanager.yml").write_text(
            yaml.safe_dump(self.alertmanager_runtime_config(), sort_keys=False)
        )

    def reload_budgets(self) -> None:
        """Render the budgets file again and have Prometheus load the new rules."""
        self._write_runtime_configs()
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            f"{self.prometheus_url}/-/reload", method="POST"
        )
        with _direct.open(request, timeout=10) as response:
            if response.status != 200:  # noqa: PLR2004 - HTTP OK
                raise StackError(f"Prometheus refused to reload: HTTP {response.status}")

    def _setting(self, name: str) -> str:
        return self.collector_env.get(name, os.environ.get(name, ""))

    def security(self) -> dict[str, bool]:
        """Whether OTLP authentication and TLS are on; StackError when one is half set.

        ``HYPERTOOL_OTLP_AUTH=on`` needs ``HYPERTOOL_OTLP_TOKEN_FILE``;
        ``HYPERTOOL_OTLP_TLS=on`` needs ``HYPERTOOL_OTLP_TLS_CERT_FILE`` and ``..._KEY_FILE``.
        """
        state = {}
        for setting, files in SECURITY_FILES.items():
            value = self._setting(setting).lower() or "off"
            if value not in ("on", "off"):
                raise StackError(f"{setting}={value!r}: expected on or off")
            for file_setting in files if value == "on" else ():
                path = self._setting(file_setting)
                if not path or not Path(path).is_file():
                    raise StackError(
                        f"{setting}=on needs {file_setting}, a readable file"
                        f" (got {path or 'nothing'})"
                    )
            state[setting] = value == "on"
        return state

    def _security_configs(self) -> list[str]:
        on = self.security()
        auth = "on" if on["HYPERTOOL_OTLP_AUTH"] else "off"
        tls = "on" if on["HYPERTOOL_OTLP_TLS"] else "off"
        return [
            f"--config={self.root / SECURITY_DIR / f'auth-{auth}.yaml'}",
            f"--config={self.root / SECURITY_DIR / f'tls-{tls}.yaml'}",
        ]

    def _traces_backend(self) -> list[str]:
        """The overlay that keeps spans in a traces backend, when one is named."""
        if not self._setting("HYPERTOOL_TRACES_ENDPOINT"):
            return []
        return [f"--config={self.root / TRACES_BACKEND}"]

    def _security_env(self) -> dict[str, str]:
        names = [name for files in SECURITY_FILES.values() for name in files]
        return {name: self._setting(name) for name in names if self._setting(name)}

    def services(self) -> list[Service]:
        """The three processes, in start order."""
        assert self.bins is not None  # noqa: S101 - set in __post_init__
        p, state = self.ports, self.state_dir
        return [
            Service(
                name="collector",
                argv=[
                    str(self.bins.collector),
                    f"--config={self.root / COLLECTOR_CONFIG}",
                    f"--config={self.root / COLLECTOR_COMPONENTS}",
                    *self._security_configs(),
                    *self._traces_backend(),
                    *(f"--config={overlay}" for overlay in self.collector_overlays),
                ],
                health_url=f"http://127.0.0.1:{p.collector_health}/",
                ports={
                    "otlp_grpc": p.otlp_grpc,
                    "otlp_http": p.otlp_http,
                    "collector_exporter": p.collector_exporter,
                    "collector_telemetry": p.collector_telemetry,
                    "collector_health": p.collector_health,
                },
                env={
                    "HYPERTOOL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{p.otlp_grpc}",
                    "HYPERTOOL_PRICES_FILE": str(self.root / COLLECTOR_PRICES),
                    "HYPERTOOL_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{p.otlp_http}",
                    "HYPERTOOL_PROMETHEUS_EXPORTER_ENDPOINT": f"127.0.0.1:{p.collector_exporter}",
                    "HYPERTOOL_COLLECTOR_TELEMETRY_HOST": "127.0.0.1",
                    "HYPERTOOL_COLLECTOR_TELEMETRY_PORT": str(p.collector_telemetry),
                    "HYPERTOOL_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{p.collector_health}",
                    # Beside Prometheus' data: both outlive a restart of the stack.
                    "HYPERTOOL_LEDGER_DIR": str(state / "collector-ledger"),
                    **self._security_env(),
                    **self.collector_env,
                },
            ),
            Service(
                name="prometheus",
                argv=[
                    str(self.bins.prometheus),
                    f"--config.file={state / 'prometheus.yml'}",
                    f"--storage.tsdb.path={state / 'prometheus-data'}",
                    f"--web.listen-address=127.0.0.1:{p.prometheus}",
                    "--web.enable-lifecycle",
                    *PROMETHEUS_FLAGS,
                ],
                health_url=f"{self.prometheus_url}/-/ready",
                ports={"prometheus": p.prometheus},
            ),
            Service(
                name="alertmanager",
                argv=[
                    str(self.bins.alertmanager),
                    f"--config.file={state / 'alertmanager.yml'}",
                    f"--storage.path={state / 'alertmanager-data'}",
                    *ALERTMANAGER_FLAGS,
                    f"--web.listen-address=127.0.0.1:{p.alertmanager}",
                    "--cluster.listen-address=",  # a single instance: no gossip port
                ],
                health_url=f"{self.alertmanager_url}/-/ready",
                ports={"alertmanager": p.alertmanager},
            ),
        ]

    # Lifecycle -------------------------------------------------------------------------

    def _portsfile(self) -> Path:
        return self.state_dir / "ports.json"

    @classmethod
    def from_state(cls, root: Path, state_dir: Path) -> Stack:
        """The stack last started in ``state_dir``, with the ports it was started on."""
        try:
            ports = Ports(**json.loads((state_dir / "ports.json").read_text()))
        except FileNotFoundError:
            ports = Ports.from_env()
        return cls(root, state_dir, ports)

    def _pidfile(self, name: str) -> Path:
        return self.state_dir / f"{name}.pid"

    def _logfile(self, name: str) -> Path:
        return self.state_dir / f"{name}.log"

    def _pid(self, name: str) -> int | None:
        """The pid of the running service, or None; a stale pid file is removed."""
        try:
            pid_text, started = self._pidfile(name).read_text().split()
            pid = int(pid_text)
        except (FileNotFoundError, ValueError):
            return None
        if _process_runs(pid, started):
            return pid
        # The process is gone, a zombie, or the pid now belongs to another process (pid
        # files outlive reboots): never signal it, forget it.
        with contextlib.suppress(FileNotFoundError):
            self._pidfile(name).unlink()
        return None

    def _check_binaries(self) -> None:
        assert self.bins is not None  # noqa: S101 - set in __post_init__
        missing = [
            p
            for p in (self.bins.collector, self.bins.prometheus, self.bins.alertmanager)
            if not p.is_file()
        ]
        if missing:
            raise StackError(
                "missing binaries: "
                + ", ".join(map(str, missing))
                + ". Build them (Go >= 1.21, a few minutes the first time): hypertool stack build"
            )

    @staticmethod
    def _check_port(service: str, port_name: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                raise StackError(
                    f"port {port} ({PORT_LABELS[port_name]}, needed by the {service}) is "
                    f"already in use. Stop what holds it (`ss -ltnp 'sport = :{port}'` names "
                    "it; an earlier stack stops with `hypertool stack down`), or pick another "
                    f"port: hypertool stack up --{port_name.replace('_', '-')}-port "
                    f"{port + 10000} (or HYPERTOOL_{port_name.upper()}_PORT={port + 10000})."
                ) from None

    def up(self, timeout: float = 60.0) -> None:
        """Start every service that is not running and wait until all are healthy."""
        self._check_binaries()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        services = self.services()
        to_start = [s for s in services if self._pid(s.name) is None]
        for service in to_start:
            for port_name, port in service.ports.items():
                self._check_port(service.name, port_name, port)
        self._portsfile().write_text(json.dumps(asdict(self.ports)))
        self._write_runtime_configs()
        try:
            for service in to_start:
                self._start(service)
            deadline = time.monotonic() + timeout
            for service in services:
                self._wait_healthy(service, deadline)
        except BaseException:
            # Half a stack helps nobody, and would hold the ports for the next attempt.
            self.down()
            raise

    def restart(self, name: str, timeout: float = 60.0) -> None:
        """Stop one service gracefully (SIGTERM: the collector flushes its batch) and start it."""
        service = next(s for s in self.services() if s.name == name)
        self._stop(name, timeout)
        self._start(service)
        self._wait_healthy(service, time.monotonic() + timeout)

    def _start(self, service: Service) -> None:
        with self._logfile(service.name).open("ab") as log:
            try:
                process = subprocess.Popen(
                    service.argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **service.env},
                    start_new_session=True,  # survives the launcher; `stack down` stops it
                )
            except OSError as exc:
                raise StackError(
                    f"cannot start the {service.name} ({service.argv[0]}): {exc}. "
                    "Rebuild it: hypertool stack build"
                ) from None
        self._children[service.name] = process
        self._pidfile(service.name).write_text(f"{process.pid} {_start_time(process.pid)}")

    def _wait_healthy(self, service: Service, deadline: float) -> None:
        while True:
            if self._pid(service.name) is None:
                raise StackError(
                    f"the {service.name} exited during start-up. Last lines of "
                    f"{self._logfile(service.name)}:\n{self._tail(service.name)}"
                )
            if healthy(service.health_url):
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"the {service.name} is not healthy at {service.health_url} after waiting. "
                    f"Last lines of {self._logfile(service.name)}:\n{self._tail(service.name)}"
                )
            time.sleep(0.1)

    def _tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join(self._logfile(name).read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def down(self, timeout: float = 15.0) -> list[str]:
        """Stop the services (SIGTERM, then SIGKILL after ``timeout``); return those stopped."""
        return [s.name for s in reversed(self.services()) if self._stop(s.name, timeout)]

    def pid(self, name: str) -> int | None:
        """The pid of the running service ``name``, or None (for benchmarks reading /proc)."""
        return self._pid(name)

    def crash(self, name: str, timeout: float = 10.0) -> None:
        """SIGKILL one service, as a crash would: no flush, no graceful stop. `up` restarts it."""
        self._stop(name, timeout, crash=True)

    def _stop(self, name: str, timeout: float, *, crash: bool = False) -> bool:
        """SIGTERM one service (SIGKILL with ``crash``), SIGKILL it after ``timeout``.

        Whether it was running.
        """
        running = True
        child = self._children.pop(name, None)
        if child is not None and child.poll() is None:
            # Our own child: waiting on it also reaps it (a zombie still answers kill 0).
            if crash:
                child.kill()
            else:
                child.terminate()
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        elif (pid := self._pid(name)) is not None:
            first = signal.SIGKILL if crash else signal.SIGTERM
            _terminate(pid, _start_time(pid), timeout, first)
        else:
            running = False
        with contextlib.suppress(FileNotFoundError):
            self._pidfile(name).unlink()
        return running

    def status(self) -> dict[str, str]:
        """Each service: running and healthy, running but unhealthy, or stopped."""
        report = {}
        for service in self.services():
            pid = self._pid(service.name)
            if pid is None:
                report[service.name] = "stopped"
            elif healthy(service.health_url):
                report[service.name] = f"healthy (pid {pid})"
            else:
                report[service.name] = (
                    f"running but not healthy (pid {pid}); see {self._logfile(service.name)}"
                )
        return report


def alertmanager_config(
    root: Path, webhook_url: str | None, timings: dict[str, str]
) -> dict[str, Any]:
    """alertmanager.yml of ``root``, with the webhook URL and route timings replaced."""
    import yaml

    config: dict[str, Any] = yaml.safe_load((root / ALERTMANAGER_CONFIG).read_text())
    if webhook_url:
        for receiver in config.get("receivers", []):
            for webhook in receiver.get("webhook_configs", []):
                webhook["url"] = webhook_url
    # Tests shorten the wait between an alert and its notification; the routing stays.
    routes = [config["route"], *config["route"].get("routes", [])]
    for key, value in timings.items():
        for route in routes:
            if key in route or route is config["route"]:
                route[key] = value
    return config


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None if there is no such pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def _start_time(pid: int) -> str:
    """When ``pid`` started, in clock ticks since boot: with the pid, a process identity."""
    fields_after_name = _proc_stat(pid)
    return fields_after_name[19] if fields_after_name else "0"


def _process_runs(pid: int, started: str) -> bool:
    """Whether the process that started at ``started`` as ``pid`` is alive (not a zombie)."""
    fields_after_name = _proc_stat(pid)
    if fields_after_name is None:
        return False
    return fields_after_name[0] != "Z" and fields_after_name[19] == started


#: Loopback health checks must not go through an HTTP proxy from the environment.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def healthy(url: str) -> bool:
    """Whether ``url`` answers 200 within a second (loopback, never through a proxy)."""
    try:
        with _direct.open(url, timeout=1) as response:
            return bool(response.status == 200)  # noqa: PLR2004 - HTTP OK
    except (urllib.error.URLError, OSError):
        return False


def _terminate(
    pid: int, started: str, timeout: float, first: signal.Signals = signal.SIGTERM
) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, first)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _process_runs(pid, started):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
