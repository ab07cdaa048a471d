"""The repository's config files as Kubernetes ConfigMaps, for ``deploy/kubernetes``.

kustomize's ``configMapGenerator`` reads only files inside the kustomization's folder, and
the files the scale-out deployment runs live elsewhere: the collector config, the rule
files, the Alertmanager config, the dashboards. ``hypertool render`` writes them into
``deploy/kubernetes/generated/`` as ConfigMap manifests that ``kustomization.yaml`` lists,
so a cluster runs the same files as the single-node stack: each file is one key of a
ConfigMap, byte for byte (the rule files the Thanos Ruler evaluates are those Prometheus
loads). One file differs by design: Grafana's datasources, whose uids stay the
repository's (the dashboards refer to them) while their URLs become the cluster's
services, and those of services the deployment does not run (Tempo) are left out.

This renderer copies what the others write, so it runs after them (it is the last of
``RENDERERS``): an edit to, say, ``collector-config/otelcol.yaml`` leaves both that file's
renderer and this one stale until ``hypertool render``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from hypertool_agent import ConfigurationError

KUBERNETES_DIR: Final = Path("deploy") / "kubernetes"
GENERATED_DIR: Final = KUBERNETES_DIR / "generated"
NAMESPACE: Final = "hypertool"
SOURCE: Final = "collector-config/, prometheus/rules/, prometheus/alertmanager.yml and grafana/"

_COLLECTOR: Final = Path("collector-config")
_RULES: Final = Path("prometheus") / "rules"
_ALERTMANAGER: Final = Path("prometheus") / "alertmanager.yml"
_DASHBOARDS: Final = Path("grafana") / "dashboards"
_DASHBOARD_PROVIDERS: Final = Path("grafana") / "provisioning" / "dashboards"
_DATASOURCES: Final = Path("grafana") / "provisioning" / "datasources" / "datasources.yml"
_THIS: Final = "packages/tools/src/hypertool_tools/render/kubernetes.py"

#: Datasource uid -> its URL inside the cluster. A uid not here is a service this
#: deployment does not run: its datasource, and links to it, are left out.
CLUSTER_URLS: Final = {
    "hypertool-prometheus": f"http://thanos-query.{NAMESPACE}.svc:10902",
    "hypertool-alertmanager": f"http://alertmanager.{NAMESPACE}.svc:9093",
}


@dataclass(frozen=True)
class ConfigMap:
    """One generated manifest: a ConfigMap whose keys are files of the repository."""

    #: The manifest's file name in deploy/kubernetes/generated.
    file: str
    name: str
    #: Where its keys come from, for the header.
    source: str
    #: Key (a file name) -> the file's text.
    data: dict[str, str]


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _files(root: Path, folder: Path, pattern: str) -> dict[str, str]:
    found = {path.name: _read(path) for path in sorted((root / folder).glob(pattern))}
    if not found:
        raise ConfigurationError(f"{folder}: no {pattern} files to put in a ConfigMap")
    return found


def _without_links(json_data: dict[str, Any], kept: set[str]) -> dict[str, Any]:
    """``json_data`` without the links to datasources that are left out."""
    cleaned = dict(json_data)
    destinations = [
        d for d in cleaned.get("exemplarTraceIdDestinations", []) if d.get("datasourceUid") in kept
    ]
    if destinations:
        cleaned["exemplarTraceIdDestinations"] = destinations
    else:
        cleaned.pop("exemplarTraceIdDestinations", None)
    return cleaned


def cluster_datasources(text: str) -> str:
    """The repository's datasources file as the cluster's: same uids, in-cluster URLs."""
    config: dict[str, Any] = yaml.safe_load(text)
    datasources = config.get("datasources", [])
    found = {d.get("uid") for d in datasources}
    missing = sorted(set(CLUSTER_URLS) - found)
    if missing:
        raise ConfigurationError(
            f"{_DATASOURCES}: no datasource with uid {', '.join(missing)}; the Kubernetes "
            f"deployment maps these uids to its services ({_THIS}, CLUSTER_URLS)"
        )
    kept = []
    for datasource in datasources:
        if datasource.get("uid") not in CLUSTER_URLS:
            continue
        copy = {**datasource, "url": CLUSTER_URLS[datasource["uid"]]}
        if "jsonData" in copy:
            copy["jsonData"] = _without_links(copy["jsonData"], set(CLUSTER_URLS))
        kept.append(copy)
    header = [
        "# Grafana's datasources in the Kubernetes deployment, from",
        f"# {_DATASOURCES}: the same uids (the dashboards refer",
        "# to them), the cluster's URLs, and only the services deploy/kubernetes runs (no Tempo).",
    ]
    body = yaml.safe_dump(
        {**config, "datasources": kept}, sort_keys=False, default_flow_style=False
    )
    return "\n".join(header) + "\n" + body


def config_maps(root: Path) -> list[ConfigMap]:
    """Every generated ConfigMap, from the files of the checkout at ``root``."""
    collector = root / _COLLECTOR
    return [
        ConfigMap(
            "collector-config.yaml",
            "hypertool-collector-config",
            "collector-config/otelcol.yaml and generated/components.yaml",
            {
                "otelcol.yaml": _read(collector / "otelcol.yaml"),
                "components.yaml": _read(collector / "generated" / "components.yaml"),
            },
        ),
        ConfigMap(
            "collector-prices.yaml",
            "hypertool-collector-prices",
            "collector-config/generated/genai-prices.json, the genai connector's price book",
            {"genai-prices.json": _read(collector / "generated" / "genai-prices.json")},
        ),
        ConfigMap(
            "collector-security.yaml",
            "hypertool-collector-security",
            "collector-config/security/*.yaml",
            _files(root, _COLLECTOR / "security", "*.yaml"),
        ),
        ConfigMap(
            "rules.yaml",
            "hypertool-rules",
            "prometheus/rules/*.yml, the rule files of the single-node Prometheus",
            _files(root, _RULES, "*.yml"),
        ),
        ConfigMap(
            "alertmanager-config.yaml",
            "alertmanager-config",
            str(_ALERTMANAGER),
            {_ALERTMANAGER.name: _read(root / _ALERTMANAGER)},
        ),
        ConfigMap(
            "grafana-dashboards.yaml",
            "grafana-dashboards",
            "grafana/dashboards/*.json",
            _files(root, _DASHBOARDS, "*.json"),
        ),
        ConfigMap(
            "grafana-dashboard-providers.yaml",
            "grafana-dashboard-providers",
            "grafana/provisioning/dashboards/*.yml",
            _files(root, _DASHBOARD_PROVIDERS, "*.yml"),
        ),
        ConfigMap(
            "grafana-datasources.yaml",
            "grafana-datasources",
            str(_DATASOURCES),
            {_DATASOURCES.name: cluster_datasources(_read(root / _DATASOURCES))},
        ),
    ]


def _block(key: str, text: str) -> list[str]:
    """``key: text`` as YAML lines under ``data:``, literal where that reads back exactly."""
    if text and "\r" not in text:
        # Clip one final newline, keep several, strip where there is none.
        chomp = ("+" if text.endswith("\n\n") else "") if text.endswith("\n") else "-"
        # An explicit indentation indicator: a first line that starts with a space is
        # then content, not indentation.
        lines = [f"  {key}: |2{chomp}"]
        lines += [f"    {line}" if line else "" for line in text.split("\n")]
        if text.endswith("\n"):
            lines.pop()  # the empty string after the last newline
        rendered = "\n".join(lines) + "\n"
        try:
            literal = yaml.safe_load("data:\n" + rendered)["data"][key] == text
        except yaml.YAMLError:
            literal = False
        if literal:
            return lines
    return [f"  {key}: {json.dumps(text, ensure_ascii=False)}"]  # a JSON string is YAML


def manifest(config_map: ConfigMap) -> str:
    """The ConfigMap's manifest text, with the header that says where it comes from."""
    lines = [
        f"# GENERATED by `hypertool render` ({_THIS})",
        f"# from {config_map.source}.",
        "# Edit those files and run `hypertool render`, not this one.",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        f"  name: {config_map.name}",
        "  labels:",
        "    app.kubernetes.io/part-of: hypertool",
        "data:",
    ]
    for key, text in sorted(config_map.data.items()):
        lines += _block(key, text)
    text = "\n".join(lines) + "\n"
    parsed = yaml.safe_load(text)
    if parsed["data"] != config_map.data:  # a guard: the keys must read back byte for byte
        raise ConfigurationError(f"{config_map.file}: a key does not read back as its file")
    return text


def render_all(root: Path) -> dict[str, str]:
    """File name in deploy/kubernetes/generated -> its manifest text."""
    return {c.file: manifest(c) for c in config_maps(root)}


def _stale_files(folder: Path, keep: Iterable[str]) -> list[Path]:
    """Manifests in ``folder`` that no ConfigMap renders any more."""
    return sorted(p for p in folder.glob("*.yaml") if p.name not in set(keep))


def render_kubernetes(root: Path, *, check: bool) -> bool:
    """Write (or with ``check`` compare) deploy/kubernetes/generated; True when current."""
    folder = root / GENERATED_DIR
    rendered = render_all(root)
    current = True
    for name, text in rendered.items():
        path = folder / name
        if not path.is_file() or _read(path) != text:
            current = False
            if not check:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_bytes(text.encode("utf-8"))
    for leftover in _stale_files(folder, rendered):
        current = False
        if not check:
            leftover.unlink()
    return current
