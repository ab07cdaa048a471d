"""docker-compose.yml, checked here without Docker: files, ports, images, variables."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from hypertool_tools.stack.build import read_env_file
from hypertool_tools.stack.launcher import Ports

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    """The parsed compose file."""
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_the_full_stack_is_there() -> None:
    """Collector, Prometheus, Alertmanager, Grafana, Tempo, and the demo profile."""
    services = compose()["services"]
    assert set(services) == {
        "otel-collector",
        "prometheus",
        "alertmanager",
        "grafana",
        "tempo",
        "grafana-password",
        "demo",
    }
    assert services["demo"]["profiles"] == ["demo"]
    assert (ROOT / "Dockerfile").is_file()


def test_every_variable_is_pinned_defaulted_or_required() -> None:
    """Each ${VAR} is in .env, has a default, or stops compose with a message."""
    text = (ROOT / "docker-compose.yml").read_text()
    pins = read_env_file(ROOT)
    for name, rest in re.findall(r"\$\{(\w+)([^}]*)\}", text):
        assert name in pins or rest.startswith((":-", ":?")), name


PASSWORD_FILE = "grafana-admin-password"


def test_grafana_reads_a_generated_password_and_refuses_anonymous_access() -> None:
    """No default password: Grafana reads the file the one-shot init service writes."""
    services = compose()["services"]
    grafana, init = services["grafana"], services["grafana-password"]
    env = grafana["environment"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    # The same volume: written by the init service at /secrets, read by Grafana.
    assert "grafana-secrets:/secrets" in init["volumes"]
    assert "grafana-secrets:/run/secrets/hypertool:ro" in grafana["volumes"]
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == f"/run/secrets/hypertool/{PASSWORD_FILE}"
    assert grafana["depends_on"]["grafana-password"] == {
        "condition": "service_completed_successfully"
    }
    script = init["command"][0]
    assert f"file=/secrets/{PASSWORD_FILE}" in script
    assert "/dev/urandom" in script
    assert f"docker compose exec grafana cat {env['GF_SECURITY_ADMIN_PASSWORD__FILE']}" in script
    # An operator's password is optional and has no default value anywhere.
    assert init["environment"] == {"GRAFANA_ADMIN_PASSWORD": "${GRAFANA_ADMIN_PASSWORD:-}"}
    assert "GRAFANA_ADMIN_PASSWORD=" not in "".join(
        line for line in (ROOT / ".env").read_text().splitlines() if not line.startswith("#")
    )


def test_images_are_pinned_exact_tags_in_env() -> None:
    """Every image comes from .env, as name:tag with a version, never latest."""
    pins = read_env_file(ROOT)
    for name, service in compose()["services"].items():
        if "build" in service:
            continue
        variable = re.fullmatch(r"\$\{(\w+_IMAGE)\}", service["image"])
        assert variable, (name, service["image"])
        image = pins[variable.group(1)]
        assert re.fullmatch(r"[\w./-]+:v?\d+(\.\d+)+[\w.-]*", image), (name, image)


ONE_SHOT = {"grafana-password"}


def test_dependents_wait_for_health_where_a_healthcheck_can_exist() -> None:
    """Services have healthchecks (the collector's image cannot) that dependents wait on.

    One-shot services run to completion instead: dependents wait for their success, which
    also lets `docker compose up --wait` count their exit as done, not as a failure.
    """
    services = compose()["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
            assert "healthcheck" not in service, name
        elif name not in {"otel-collector", "demo"}:
            assert service["healthcheck"]["test"][0] == "CMD", name
        for dependency, condition in service.get("depends_on", {}).items():
            if dependency in ONE_SHOT:
                expected = "service_completed_successfully"
            elif "healthcheck" in services[dependency]:
                expected = "service_healthy"
            else:
                expected = "service_started"
            assert condition["condition"] == expected, (name, dependency)
    adopted = {d for s in services.values() for d in s.get("depends_on", {})}
    assert adopted >= ONE_SHOT


def test_ports_bind_loopback_with_the_launchers_variables() -> None:
    """Published ports bind 127.0.0.1, overridable with the launcher's port variables."""
    launcher_vars = {f"HYPERTOOL_{f.name.upper()}_PORT" for f in fields(Ports)}
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            match = re.fullmatch(r"127\.0\.0\.1:\$\{(HYPERTOOL_\w+_PORT):-(\d+)\}:(\d+)", port)
            assert match, (name, port)
            variable, default, _ = match.groups()
            if variable in launcher_vars:
                field = variable.removeprefix("HYPERTOOL_").removesuffix("_PORT").lower()
                assert int(default) == getattr(Ports(), field), (name, variable)


def test_memory_limits_and_persistent_volumes() -> None:
    """Every service has a memory limit; Prometheus and Grafana keep their data in volumes."""
    spec = compose()
    for name, service in spec["services"].items():
        assert service["deploy"]["resources"]["limits"]["memory"], name
    assert "prometheus-data:/prometheus" in spec["services"]["prometheus"]["volumes"]
    assert "grafana-data:/var/lib/grafana" in spec["services"]["grafana"]["volumes"]


def test_collector_environment_covers_the_configs_variables() -> None:
    """Compose sets each address the collector config reads, to all interfaces."""
    config = (ROOT / "collector-config/otelcol.yaml").read_text()
    env = compose()["services"]["otel-collector"]["environment"]
    for variable in re.findall(r"\$\{env:(HYPERTOOL_\w+_ENDPOINT)", config):
        assert variable in env, variable
    assert env["HYPERTOOL_OTLP_GRPC_ENDPOINT"].startswith("0.0.0.0:")
    command = compose()["services"]["otel-collector"]["command"]
    assert "--config=/etc/otelcol/traces-backend.yaml" in command


def test_grafana_mounts_the_provisioning_and_dashboards_the_tests_check() -> None:
    """Grafana loads grafana/provisioning and grafana/dashboards from this repository."""
    volumes = compose()["services"]["grafana"]["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/hypertool.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert f"./grafana/dashboards:{path}:ro" in volumes
