"""The upstream tools' own checks of our config files, with the binaries we run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypertool_tools.stack.build import binaries, build_composecheck, read_env_file
from hypertool_tools.stack.launcher import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BINS = binaries(ROOT)


def check(*argv: str | Path) -> str:
    """Run a checker; fail the test with its output unless it exits 0."""
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.parametrize("security", ["off", "on"])
def test_collector_config_validates(security: str, tmp_path: Path) -> None:
    """`otelcol-hypertool validate` accepts the files compose loads, security off and on."""
    files = {"TOKEN": "token", "TLS_CERT": "cert.pem", "TLS_KEY": "key.pem"}
    env = {f"HYPERTOOL_OTLP_{k}_FILE": str(tmp_path / v) for k, v in files.items()}
    done = subprocess.run(
        [
            str(BINS.collector),
            "validate",
            f"--config={ROOT / 'collector-config/otelcol.yaml'}",
            f"--config={ROOT / 'collector-config/generated/components.yaml'}",
            f"--config={ROOT / 'collector-config/traces-backend.yaml'}",
            f"--config={ROOT / f'collector-config/security/auth-{security}.yaml'}",
            f"--config={ROOT / f'collector-config/security/tls-{security}.yaml'}",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_benchmark_configs_validate() -> None:
    """The benchmarks' overlays validate: pprof over the stack's config, and the passthrough."""
    stack = [
        f"--config={ROOT / 'collector-config' / name}"
        for name in ("otelcol.yaml", "generated/components.yaml")
    ]
    check(
        BINS.collector,
        "validate",
        *stack,
        f"--config={ROOT / 'collector-config/profiling/pprof.yaml'}",
    )
    ports = ("OTLP_GRPC_ENDPOINT", "PROMETHEUS_EXPORTER_ENDPOINT", "COLLECTOR_HEALTH_ENDPOINT")
    env = {f"HYPERTOOL_{name}": "127.0.0.1:1" for name in ports}
    done = subprocess.run(
        [
            str(BINS.collector),
            "validate",
            f"--config={ROOT / 'collector-config/profiling/passthrough.yaml'}",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env, "HYPERTOOL_COLLECTOR_TELEMETRY_PORT": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_collector_has_exactly_the_manifest_components() -> None:
    """The built binary carries the manifest's components at the pinned version."""
    listing = yaml.safe_load(check(BINS.collector, "components"))
    assert listing["buildinfo"]["version"] == "0.161.0"
    names = {
        c["name"]
        for kind in ("receivers", "processors", "exporters", "connectors", "extensions")
        for c in listing[kind]
    }
    assert names == {
        "otlp",
        "memory_limiter",
        "admission",
        "ledger",
        "transform",
        "prometheus",
        "otlp_grpc",
        "forward",
        "agent_sums",
        "genai",
        "health_check",
        "bearertokenauth",
        "pprof",
        "nop",
    }


def test_promtool_checks_compose_and_native_prometheus_configs(tmp_path: Path) -> None:
    """Promtool accepts prometheus.yml as compose mounts it and as the launcher rewrites it."""
    check(BINS.promtool, "check", "config", ROOT / "prometheus/prometheus.yml")
    native = tmp_path / "prometheus.yml"
    native.write_text(yaml.safe_dump(Stack(ROOT, tmp_path).prometheus_runtime_config()))
    check(BINS.promtool, "check", "config", native)


def test_amtool_checks_alertmanager_config() -> None:
    """Amtool accepts the Alertmanager config."""
    check(BINS.amtool, "check-config", ROOT / "prometheus/alertmanager.yml")


def test_promtool_checks_every_rule_file() -> None:
    """Promtool accepts each rule file compose and the launcher load."""
    for rules in sorted((ROOT / "prometheus/rules").glob("*.yml")):
        check(BINS.promtool, "check", "rules", rules)


def test_promtool_rule_unit_tests_pass() -> None:
    """Every promtool test in prometheus/tests passes (recording rules and alerts)."""
    tests = sorted((ROOT / "prometheus/tests").glob("*_test.yml"))
    assert tests
    out = check(BINS.promtool, "test", "rules", *tests)
    assert "SUCCESS" in out


# docker-compose.yml, loaded by compose-go (the loader of docker compose itself, built from
# scripts/composecheck) as `docker compose config` loads it: .env and variables
# interpolated, the specification's schema validated, the model normalized.


@pytest.fixture(scope="module")
def composecheck() -> Path:
    """The compose-go checker, built on demand and cached (Go missing fails, not skips)."""
    return build_composecheck(ROOT)


def compose_env(**extra: str) -> dict[str, str]:
    """The environment minus the variables compose reads, so .env alone decides."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HYPERTOOL_", "GRAFANA_", "COMPOSE_", "DOCKER_"))
    }
    return {**keep, **extra}


def load_compose(
    checker: Path, compose_file: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the checker on ``compose_file`` (its .env beside it); the loader's answer."""
    return subprocess.run(
        [str(checker), "-f", str(compose_file), *args],
        capture_output=True,
        text=True,
        check=False,
        env=compose_env(**env),
        timeout=60,
    )


def loaded(checker: Path, *args: str, **env: str) -> dict[str, Any]:
    """The normalized project compose-go makes of the real docker-compose.yml."""
    done = load_compose(checker, ROOT / "docker-compose.yml", *args, **env)
    assert done.returncode == 0, done.stderr
    project: dict[str, Any] = json.loads(done.stdout)
    return project


def core_services() -> set[str]:
    """The services `docker compose up` starts without a profile."""
    return {"otel-collector", "prometheus", "alertmanager", "tempo", "grafana", "grafana-password"}


def test_compose_go_loads_the_compose_file_with_and_without_the_demo_profile(
    composecheck: Path,
) -> None:
    """The file is valid for docker compose; the demo service exists only in its profile."""
    assert set(loaded(composecheck)["services"]) == core_services()
    assert set(loaded(composecheck, "--profile", "demo")["services"]) == core_services() | {"demo"}


def test_compose_go_resolves_pins_password_file_and_loopback_ports(composecheck: Path) -> None:
    """Images are .env's pins, Grafana reads the generated password, ports stay on loopback."""
    services = loaded(composecheck, "--profile", "demo")["services"]
    pins = read_env_file(ROOT)
    assert services["grafana"]["image"] == pins["GRAFANA_IMAGE"]
    assert services["grafana-password"]["image"] == pins["BUSYBOX_IMAGE"]
    env = services["grafana"]["environment"]
    assert (
        env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/hypertool/grafana-admin-password"
    )
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert services["grafana"]["depends_on"]["grafana-password"]["condition"] == (
        "service_completed_successfully"
    )
    published = [(name, p) for name, s in services.items() for p in s.get("ports", [])]
    assert {name for name, _ in published} == core_services() - {"grafana-password"}
    for name, port in published:
        assert port["host_ip"] == "127.0.0.1", (name, port)


def test_compose_go_honours_the_port_variables(composecheck: Path) -> None:
    """A HYPERTOOL_*_PORT variable moves the host side of its port, still on loopback."""
    services = loaded(composecheck, HYPERTOOL_GRAFANA_PORT="24300")["services"]
    (port,) = services["grafana"]["ports"]
    assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", "24300", 3000)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        pytest.param(
            ("\nvolumes:\n", "\nextras: {}\nvolumes:\n"),
            "additional properties 'extras' not allowed",
            id="unknown-top-level-key",
        ),
        pytest.param(
            (
                "    restart: unless-stopped\n",
                "    restart: unless-stopped\n    restart_policy: x\n",
            ),
            "services.otel-collector.restart_policy",
            id="unknown-service-key",
        ),
        pytest.param(
            ("image: ${GRAFANA_IMAGE}", "image: ${HYPERTOOL_UNSET_IMAGE:?pin it in .env}"),
            "required variable HYPERTOOL_UNSET_IMAGE is missing a value: pin it in .env",
            id="undefined-required-variable",
        ),
        pytest.param(
            ("condition: service_completed_successfully", "condition: done"),
            "services.grafana.depends_on.grafana-password.condition value must be one of",
            id="invalid-dependency-condition",
        ),
        pytest.param(
            ("      grafana-password:\n", "      grafana-passwd:\n"),
            'service "grafana" depends on undefined service "grafana-passwd"',
            id="undefined-dependency",
        ),
    ],
)
def test_compose_go_reports_an_invalid_file(
    composecheck: Path, tmp_path: Path, change: tuple[str, str], error: str
) -> None:
    """A broken copy of the file fails with the loader's own message."""
    shutil.copy(ROOT / ".env", tmp_path / ".env")
    text = (ROOT / "docker-compose.yml").read_text()
    old, new = change
    assert old in text
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(old, new, 1))
    done = load_compose(composecheck, broken)
    assert done.returncode == 1, done.stdout
    assert error in done.stderr, done.stderr


def test_grafana_password_init_script_creates_once_and_keeps(
    composecheck: Path, tmp_path: Path
) -> None:
    """The init command, as compose resolves it, writes a random password once, then keeps it.

    It runs here with this machine's sh and a stand-in for chown (uid 472 may not exist);
    in compose it runs in the pinned busybox image, whose applets it is limited to.
    """
    service = loaded(composecheck)["services"]["grafana-password"]
    assert service["entrypoint"] == ["/bin/sh", "-euc"]
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "chown").write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/chown.log"\n')
    (fake_bin / "chown").chmod(0o755)
    script = service["command"][0].replace("file=/secrets/", f"file={secrets}/")
    assert f"file={secrets}/" in script
    file = secrets / "grafana-admin-password"

    def init(password: str = "") -> str:
        done = subprocess.run(
            ["/bin/sh", "-euc", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": f"{fake_bin}:{os.environ['PATH']}", "GRAFANA_ADMIN_PASSWORD": password},
        )
        return done.stdout

    log = init()
    first = file.read_text()
    assert re.fullmatch(r"[0-9a-f]{32}", first), first
    assert oct(file.stat().st_mode & 0o777) == "0o440"
    assert (fake_bin / "chown.log").read_text().startswith("472:0 ")
    assert "generated" in log
    assert "docker compose exec grafana cat /run/secrets/hypertool/grafana-admin-password" in log
    assert "ignored" in init("operator-choice")
    assert file.read_text() == first
    file.unlink()
    init("operator choice $1")
    assert file.read_text() == "operator choice $1"
