"""The native launcher and build cache, without starting anything."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypertool_tools.stack import build
from hypertool_tools.stack.build import Binaries, StackError, collector_path
from hypertool_tools.stack.launcher import (
    ALERTMANAGER_CONFIG,
    COLLECTOR_COMPONENTS,
    COLLECTOR_CONFIG,
    COLLECTOR_PRICES,
    PROMETHEUS_CONFIG,
    Ports,
    Stack,
)

ROOT = Path(__file__).resolve().parents[2]


def stack_with(tmp_path: Path, **kwargs: Any) -> Stack:  # noqa: ANN401 - Stack fields
    """A Stack over the repository whose binaries are plain files in ``tmp_path``."""
    bins = Binaries(
        *(
            tmp_path / name
            for name in ("otelcol", "prometheus", "promtool", "alertmanager", "amtool")
        )
    )
    for path in (bins.collector, bins.prometheus, bins.alertmanager):
        path.write_text("")
    return Stack(ROOT, state_dir=tmp_path / "state", bins=bins, **kwargs)


def test_runtime_prometheus_config_changes_only_addresses_intervals_and_rule_paths(
    tmp_path: Path,
) -> None:
    """The native copy of prometheus.yml differs from compose's only where it must."""
    ports = Ports(
        prometheus=19090, alertmanager=19093, collector_exporter=18889, collector_telemetry=18888
    )
    stack = stack_with(tmp_path, ports=ports, scrape_interval="1s", evaluation_interval="2s")
    compose = yaml.safe_load((ROOT / PROMETHEUS_CONFIG).read_text())
    native = stack.prometheus_runtime_config()

    assert native["global"] == {
        **compose["global"],
        "scrape_interval": "1s",
        "evaluation_interval": "2s",
    }
    assert native["rule_files"] == sorted(
        str(f) for p in compose["rule_files"] for f in (ROOT / "prometheus").glob(p)
    )
    assert any(f.endswith("budgets.yml") for f in native["rule_files"])
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in native["scrape_configs"]
    }
    assert targets == {
        "hypertool-collector": ["127.0.0.1:18889"],
        "otel-collector": ["127.0.0.1:18888"],
        "prometheus": ["127.0.0.1:19090"],
    }
    assert native["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:19093"
    ]
    # Blank out the keys above: what is left must be compose's file, unchanged.
    for config in (compose, native):
        config.pop("global")
        config.pop("rule_files")
        for job in config["scrape_configs"]:
            job["static_configs"][0].pop("targets")
        config["alerting"]["alertmanagers"][0]["static_configs"][0].pop("targets")
    assert native == compose


def test_launcher_runs_the_files_compose_mounts(tmp_path: Path) -> None:
    """The collector and Alertmanager run the repository's files, the ones compose mounts."""
    stack = stack_with(tmp_path)
    argv = {s.name: " ".join(s.argv) for s in stack.services()}
    assert f"--config={ROOT / COLLECTOR_CONFIG}" in argv["collector"]
    assert f"--config={ROOT / COLLECTOR_COMPONENTS}" in argv["collector"]
    prices = {s.name: s.env for s in stack.services()}["collector"]["HYPERTOOL_PRICES_FILE"]
    assert prices == str(ROOT / COLLECTOR_PRICES)
    # Alertmanager runs a copy: the compose file, with only the webhook URL (when set) and
    # the notification timings (for tests) changed.
    assert f"--config.file={stack.state_dir / 'alertmanager.yml'}" in argv["alertmanager"]
    compose_am = yaml.safe_load((ROOT / ALERTMANAGER_CONFIG).read_text())
    assert stack.alertmanager_runtime_config() == compose_am or stack.alert_webhook_url
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = {v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", [])}
    files = (COLLECTOR_CONFIG, COLLECTOR_COMPONENTS.parent, PROMETHEUS_CONFIG, ALERTMANAGER_CONFIG)
    assert {f"./{f}" for f in files} <= mounts


def test_compose_mounts_exist_and_ports_stay_on_loopback() -> None:
    """Every file compose mounts exists, and every published port binds to 127.0.0.1."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_a_taken_port_is_named_with_its_fix(tmp_path: Path) -> None:
    """Starting on a port in use fails before anything starts, naming the port and the flag."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        stack = stack_with(tmp_path, ports=Ports(otlp_grpc=port))
        with pytest.raises(StackError) as raised:
            stack.up()
    message = str(raised.value)
    assert f"port {port} (OTLP gRPC, needed by the collector) is already in use" in message
    assert "--otlp-grpc-port" in message
    assert "HYPERTOOL_OTLP_GRPC_PORT" in message
    assert not (tmp_path / "state" / "collector.pid").exists()


def test_missing_binaries_name_the_build_command(tmp_path: Path) -> None:
    """A stack without its binaries says which are missing and how to build them."""
    stack = stack_with(tmp_path)
    assert stack.bins is not None
    stack.bins.prometheus.unlink()
    with pytest.raises(StackError, match=r"missing binaries: .*prometheus.*hypertool stack build"):
        stack.up()


def test_collector_cache_key_is_the_manifest_and_component_sources(tmp_path: Path) -> None:
    """Changing the manifest or a component's source changes the cached binary's path."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "collector-config", copy / "collector-config")
    assert collector_path(copy) == collector_path(ROOT)
    source = copy / "collector-config/components/ledgerprocessor/ledger.go"
    (source.parent / "ledger_test.go").write_text("package ledgerprocessor // tests only\n")
    assert collector_path(copy) == collector_path(ROOT)  # tests are not built in
    source.write_text(source.read_text() + "\n// changed\n")
    changed_source = collector_path(copy)
    assert changed_source != collector_path(ROOT)
    manifest = copy / "collector-config/builder-manifest.yaml"
    manifest.write_text(manifest.read_text() + "\n# changed\n")
    assert collector_path(copy) not in (changed_source, collector_path(ROOT))


def test_build_does_nothing_when_the_cache_is_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every cache entry present, a build runs no command at all."""
    monkeypatch.setenv("HYPERTOOL_CACHE", str(tmp_path))
    bins = build.binaries(ROOT)
    built = (bins.collector, bins.prometheus, bins.promtool, bins.alertmanager, bins.amtool)
    for path in (*built, build.prometheus_ui_marker(ROOT)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def no_commands(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a current cache must not run {args}")

    monkeypatch.setattr(build, "run_command", no_commands)
    assert build.build_all(ROOT) == bins


def test_a_build_says_what_it_builds_and_that_it_is_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A build logs its start, a heartbeat with the elapsed time while it runs, its end."""
    monkeypatch.setenv("HYPERTOOL_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(build, "go_binary", lambda: "go")
    commands: list[list[str]] = []

    def slow_go_build(args: list[str], **kwargs: object) -> None:
        commands.append(args)
        time.sleep(0.3)
        Path(args[args.index("-o") + 1]).write_text("")

    monkeypatch.setattr(build, "run_command", slow_go_build)
    built = build.build_composecheck(ROOT)
    assert built == build.composecheck_path(ROOT)
    assert built.is_file()
    log = capsys.readouterr().err
    assert "building composecheck (compose-go)" in log
    assert "still building composecheck (compose-go) (0 s)" in log
    assert "built composecheck (compose-go) in 0 s" in log
    assert build.build_composecheck(ROOT) == built
    assert len(commands) == 1, "a cached build runs nothing"


def test_an_api_only_prometheus_is_built_again_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached Prometheus without the web UI marker is rebuilt; the new entry is current."""
    monkeypatch.setenv("HYPERTOOL_CACHE", str(tmp_path))
    final = build.prometheus_dir(ROOT)
    final.mkdir(parents=True)
    for name in ("prometheus", "promtool"):  # what builds before the web UI left
        (final / name).write_text("api only")
    monkeypatch.setattr(build, "go_binary", lambda: "go")
    monkeypatch.setattr(build, "pnpm_binary", lambda: tmp_path / "pnpm")
    builds: list[Path] = []

    def fake_build(scratch: Path, *args: object) -> None:
        builds.append(scratch)
        for name in ("prometheus", "promtool", build.PROMETHEUS_UI_MARKER):
            (scratch / name).write_text("with the UI")

    monkeypatch.setattr(build, "prometheus_into", fake_build)
    assert build.build_prometheus(ROOT) == final
    assert build.build_prometheus(ROOT) == final
    assert len(builds) == 1
    assert (final / "prometheus").read_text() == "with the UI"
    assert build.prometheus_ui_marker(ROOT).is_file()


def test_the_ui_build_without_npm_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """No npm on PATH: the Prometheus build stops at once and names Node.js and npm."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(StackError, match=r"Node.js >= 20.19 and npm .*hypertool stack build"):
        build.pnpm_binary()


def test_a_missing_locked_package_is_substituted_and_only_it(tmp_path: Path) -> None:
    """The lockfile's unserved entry becomes an override; any other changed version fails."""
    entry, version = next(iter(build.UI_SUBSTITUTES.items()))
    name = entry.rsplit("@", 1)[0]
    lock = tmp_path / "pnpm-lock.yaml"
    lock.write_text(
        f"lockfileVersion: '9.0'\n\npackages:\n\n  '{entry}':\n    resolution: {{}}\n\n"
        "  clsx@2.1.1:\n    resolution: {}\n\nsnapshots:\n\n  clsx@2.1.1: {}\n"
    )
    (tmp_path / "pnpm-workspace.yaml").write_text("packages:\n  - mantine-ui\n")
    shipped = build.locked_packages(lock)
    assert shipped == {entry, "clsx@2.1.1"}
    assert build.substitute_missing_packages(tmp_path) == {entry: version}
    workspace = yaml.safe_load((tmp_path / "pnpm-workspace.yaml").read_text())
    assert workspace["overrides"] == {entry: version}
    assert workspace["minimumReleaseAgeExclude"] == [entry]
    lock.write_text(lock.read_text().replace(entry, f"{name}@{version}"))
    build.check_only_substituted(shipped, tmp_path, {entry: version})
    lock.write_text(lock.read_text().replace("clsx@2.1.1", "clsx@2.1.2"))
    with pytest.raises(StackError, match=r"clsx@2\.1\.2"):
        build.check_only_substituted(shipped, tmp_path, {entry: version})


def test_the_built_ui_is_gzipped_and_embedded(tmp_path: Path) -> None:
    """Every built file gets a reproducible .gz that embed.go names, as compress_assets.sh."""
    (tmp_path / "embed.go.tmpl").write_text('package ui\n\nimport "embed"\n\n')
    assets = tmp_path / "static" / "mantine-ui" / "assets"
    assets.mkdir(parents=True)
    (assets.parent / "index.html").write_text("<!doctype html>")
    (assets / "index.js").write_text("console.log(1)")
    names = build.embed_assets(tmp_path)
    assert names == ["static/mantine-ui/assets/index.js", "static/mantine-ui/index.html"]
    embed = (tmp_path / "embed.go").read_text()
    assert "//go:embed " + " ".join(f"{n}.gz" for n in names) in embed
    assert embed.endswith("var EmbedFS embed.FS\n")
    packed = (assets / "index.js.gz").read_bytes()
    assert gzip.decompress(packed) == b"console.log(1)"
    build.embed_assets(tmp_path)
    assert (assets / "index.js.gz").read_bytes() == packed, "equal sources, equal archives"


def test_composecheck_cache_key_is_its_go_sources(tmp_path: Path) -> None:
    """Changing main.go, go.mod or go.sum gives the compose checker a new cache entry."""
    copy = tmp_path / "repo" / "scripts" / "composecheck"
    shutil.copytree(ROOT / "scripts/composecheck", copy)
    repo = tmp_path / "repo"
    assert build.composecheck_path(repo) == build.composecheck_path(ROOT)
    (copy / "main.go").write_text((copy / "main.go").read_text() + "\n// changed\n")
    assert build.composecheck_path(repo) != build.composecheck_path(ROOT)


def test_thanos_cache_key_is_its_wrapper_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thanos is cached under thanos/<digest of scripts/thanos go.mod and go.sum>/thanos."""
    monkeypatch.setenv("HYPERTOOL_CACHE", str(tmp_path / "cache"))
    copy = tmp_path / "repo" / "scripts" / "thanos"
    shutil.copytree(ROOT / "scripts/thanos", copy)
    repo = tmp_path / "repo"
    path = build.thanos_path(repo)
    assert path == build.thanos_path(ROOT)
    assert path.parent.parent == tmp_path / "cache" / "thanos"
    assert path.name == "thanos"
    assert build.thanos_version(repo) == "v0.42.5"
    (copy / "go.sum").write_text((copy / "go.sum").read_text() + "\n")
    assert build.thanos_path(repo) != path


def test_a_stale_pid_file_is_forgotten_and_never_signalled(tmp_path: Path) -> None:
    """A pid file naming some other live process reads as stopped, and down leaves it be."""
    stack = stack_with(tmp_path)
    stack.state_dir.mkdir()
    # This test process's pid, with a start time it did not start at: a reused pid.
    (stack.state_dir / "collector.pid").write_text(f"{os.getpid()} 1")
    assert stack.status()["collector"] == "stopped"
    assert not (stack.state_dir / "collector.pid").exists()
    assert stack.down() == []


def test_status_and_down_use_the_ports_up_started_on(tmp_path: Path) -> None:
    """The ports chosen at `up` are kept in the state folder for `status` and `down`."""
    ports = Ports(prometheus=19999)
    (tmp_path / "ports.json").write_text(json.dumps(asdict(ports)))
    assert Stack.from_state(ROOT, tmp_path).ports == ports


def test_compose_runs_prometheus_with_the_launchers_flags() -> None:
    """Every Prometheus and Alertmanager flag the native stack depends on is in compose."""
    from hypertool_tools.stack.launcher import ALERTMANAGER_FLAGS, PROMETHEUS_FLAGS

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(PROMETHEUS_FLAGS) <= set(compose["services"]["prometheus"]["command"])
    assert set(ALERTMANAGER_FLAGS) <= set(compose["services"]["alertmanager"]["command"])


def test_alertmanager_copy_changes_only_the_webhook_and_timings(tmp_path: Path) -> None:
    """The webhook URL and route timings are set; routes, grouping and inhibition stay."""
    stack = stack_with(
        tmp_path,
        alert_webhook_url="http://127.0.0.1:5999/hook",
        alert_timings={"group_wait": "1s", "group_interval": "2s"},
    )
    compose = yaml.safe_load((ROOT / ALERTMANAGER_CONFIG).read_text())
    native = stack.alertmanager_runtime_config()
    hooks = [w["url"] for r in native["receivers"] for w in r.get("webhook_configs", [])]
    assert hooks == ["http://127.0.0.1:5999/hook"]
    assert native["route"]["group_wait"] == "1s"
    assert all(
        r["group_interval"] == "2s" for r in native["route"]["routes"] if "group_interval" in r
    )
    assert native["inhibit_rules"] == compose["inhibit_rules"]
    assert native["route"]["group_by"] == compose["route"]["group_by"] == ["alertname", "persona"]


def test_a_budgets_file_replaces_the_committed_budget_rules(tmp_path: Path) -> None:
    """With budgets_file, the rendered rules in the state folder replace budgets.yml."""
    stack = stack_with(tmp_path, budgets_file=ROOT / "budgets.yaml")
    rules = stack.prometheus_runtime_config()["rule_files"]
    assert str(ROOT / "prometheus/rules/budgets.yml") not in rules
    assert str(stack.state_dir / "budgets.yml") in rules
    assert str(ROOT / "prometheus/rules/workflow.yml") in rules
