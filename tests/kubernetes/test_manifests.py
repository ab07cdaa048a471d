"""deploy/kubernetes: kustomize builds it, kubeconform validates it offline, and it holds.

kustomize and kubeconform are built from the Go module proxy at pinned versions, and the
Kubernetes JSON schemas come from a pinned PyPI package (kubernetes-validate, whose wheel
ships them per Kubernetes version); all three are cached under ~/.cache/hypertool/tools
like the stack's binaries, so nothing is fetched at validation time. The generated
ConfigMaps and their renderer are checked in-process, by tests/unit/test_kubernetes.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypertool_tools import contract as c
from hypertool_tools.render.kubernetes import CLUSTER_URLS, KUBERNETES_DIR
from hypertool_tools.stack.build import (
    cache_dir,
    cache_entry,
    go_tool,
    read_env_file,
    run_command,
)
from tests.unit.test_dashboards import datasources

pytestmark = pytest.mark.kubernetes

ROOT = Path(__file__).resolve().parents[2]

#: v5.8.3 needs Go 1.27; v5.8.2 builds with the Go 1.26 that CI has.
KUSTOMIZE = ("sigs.k8s.io/kustomize/kustomize/v5", "v5.8.2", "kustomize")
KUBECONFORM = ("github.com/yannh/kubeconform/cmd/kubeconform", "v0.8.0", "kubeconform")
#: The Kubernetes JSON schemas: the wheel of this package, checked against its digest.
SCHEMAS_PACKAGE = "kubernetes-validate==1.37.0"
SCHEMAS_SHA256 = "85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"
#: The oldest and the newest Kubernetes the manifests are checked against.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
THANOS_IMAGE = "quay.io/thanos/thanos:v0.42.5"
#: Secrets the operator creates; the deployment ships none.
OPERATOR_SECRETS = {"thanos-objstore", "grafana-admin"}
#: A cold build of kustomize takes minutes on two cores.
BUILD_TIMEOUT = 900


_REF = "/api/_definitions.json#"


def _standalone(node: Any, target: str) -> Any:  # noqa: ANN401 - JSON
    """A schema whose definitions references point at a file beside it, not at a URL.

    kubernetes-validate's schemas name their definitions by absolute URL (their $id is
    https://kubernetes.io/api/...), which kubeconform would fetch. Without the $id, a
    reference resolves against the schema file's own path: ``target`` is the definitions
    file there (or ``#`` inside it).
    """
    if isinstance(node, dict):
        return {
            key: (
                target + value[len(_REF) :]
                if key == "$ref" and isinstance(value, str) and value.startswith(_REF)
                else _standalone(value, target)
            )
            for key, value in node.items()
            if key != "$id"
        }
    if isinstance(node, list):
        return [_standalone(value, target) for value in node]
    return node


def _schemas_into(scratch: Path, kubernetes: str) -> None:
    with tempfile.TemporaryDirectory() as download:
        requirement = Path(download) / "requirements.txt"
        requirement.write_text(f"{SCHEMAS_PACKAGE} --hash=sha256:{SCHEMAS_SHA256}\n")
        pip = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check"]
        only = ["--no-deps", "--only-binary=:all:", "--require-hashes", "-q"]
        run_command([*pip, *only, "-d", download, "-r", str(requirement)])
        (wheel,) = Path(download).glob("*.whl")
        prefix = f"kubernetes_validate/kubernetes-json-schema/v{kubernetes}-local-strict/"
        with zipfile.ZipFile(wheel) as archive:
            names = [n for n in archive.namelist() if n.startswith(prefix)]
            for name in names:
                file = name[len(prefix) :]
                target = "#" if file == "_definitions.json" else "_definitions.json#"
                schema = _standalone(json.loads(archive.read(name)), target)
                (scratch / file).write_text(json.dumps(schema))
    if not (scratch / "_definitions.json").is_file():
        raise AssertionError(f"{SCHEMAS_PACKAGE} has no strict schemas of {kubernetes}")


def schemas(kubernetes: str) -> Path:
    """The strict schemas of one Kubernetes version, standalone, cached once."""
    package = SCHEMAS_PACKAGE.replace("==", "-")
    entry = cache_dir() / "tools" / package / f"v{kubernetes}-standalone-strict"
    return cache_entry(
        entry, lambda scratch: _schemas_into(scratch, kubernetes), "_definitions.json"
    )


@pytest.fixture(scope="session")
def built() -> str:
    """`kustomize build deploy/kubernetes`: the manifests as they are applied."""
    kustomize = go_tool(*KUSTOMIZE)
    completed = subprocess.run(
        [str(kustomize), "build", str(ROOT / KUBERNETES_DIR)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.fixture(scope="session")
def objects(built: str) -> list[dict[str, Any]]:
    """Every object of the build, parsed."""
    return [d for d in yaml.safe_load_all(built) if d is not None]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` named ``name``."""
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, pod spec) of every workload."""
    for o in objects:
        if o["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}:
            yield o["metadata"]["name"], o["spec"]["template"]["spec"]


def containers(
    objects: list[dict[str, Any]], *, init: bool = True
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload/container, container) of every container, init containers too."""
    for workload, spec in pod_specs(objects):
        kinds = ("initContainers", "containers") if init else ("containers",)
        for key in kinds:
            for container in spec.get(key, []):
                yield f"{workload}/{container['name']}", container


def container(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The container ``workload/container``."""
    return dict(containers(objects))[name]


def data(objects: list[dict[str, Any]], config_map: str) -> dict[str, str]:
    """The data of one ConfigMap."""
    found: dict[str, str] = find(objects, "ConfigMap", config_map)["data"]
    return found


def env(cont: dict[str, Any]) -> dict[str, Any]:
    """A container's env, by name: the value, or the valueFrom source."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in cont.get("env", [])}


# Building and validating


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_kustomize_builds_every_part(objects: list[dict[str, Any]]) -> None:
    """The build holds the collector tier, Thanos, Alertmanager and Grafana, in one namespace."""
    workloads = {(o["kind"], o["metadata"]["name"]) for o in objects if "spec" in o}
    assert {
        ("DaemonSet", "hypertool-collector"),
        ("StatefulSet", "thanos-receive"),
        ("Deployment", "thanos-query"),
        ("StatefulSet", "thanos-rule"),
        ("StatefulSet", "thanos-store"),
        ("StatefulSet", "thanos-compact"),
        ("StatefulSet", "alertmanager"),
        ("Deployment", "grafana"),
        ("Service", "hypertool-otlp"),
    } <= workloads
    for o in objects:
        if o["kind"] == "Namespace":
            assert o["metadata"]["name"] == "hypertool"
        else:
            assert o["metadata"]["namespace"] == "hypertool", o["metadata"]["name"]


@pytest.mark.timeout(BUILD_TIMEOUT)
@pytest.mark.parametrize("kubernetes", KUBERNETES_VERSIONS)
def test_kubeconform_validates_every_object_strictly(
    built: str, objects: list[dict[str, Any]], kubernetes: str
) -> None:
    """Every object of the build is valid against the pinned strict schemas, none skipped."""
    kubeconform = go_tool(*KUBECONFORM)
    location = schemas(kubernetes).parent / (
        "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
        "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    )
    completed = subprocess.run(
        [
            *(str(kubeconform), "-strict", "-summary", "-verbose", "-output", "json"),
            *("-kubernetes-version", kubernetes, "-schema-location", str(location), "-"),
        ],
        input=built,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(completed.stdout)
    assert report["summary"] == {
        "valid": len(objects),
        "invalid": 0,
        "errors": 0,
        "skipped": 0,
    }


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_kubeconform_rejects_an_invalid_object(objects: list[dict[str, Any]]) -> None:
    """The validation bites: an unknown field and a wrong type each fail it."""
    kubeconform = go_tool(*KUBECONFORM)
    location = schemas(KUBERNETES_VERSIONS[0]) / "{{ .ResourceKind }}{{ .KindSuffix }}.json"
    unknown = json.loads(json.dumps(find(objects, "Deployment", "grafana")))
    unknown["metadata"]["name"] = "unknown-field"
    unknown["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostport"] = 3000
    wrong = json.loads(json.dumps(find(objects, "Deployment", "grafana")))
    wrong["metadata"]["name"] = "wrong-type"
    wrong["spec"]["replicas"] = "one"
    completed = subprocess.run(
        [str(kubeconform), "-strict", "-output", "json", "-schema-location", str(location), "-"],
        input=yaml.safe_dump_all([unknown, wrong]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    resources = json.loads(completed.stdout)["resources"]
    assert {r["name"]: r["status"] for r in resources} == {
        "unknown-field": "statusInvalid",
        "wrong-type": "statusInvalid",
    }


# What every workload must have


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_every_container_has_requests_limits_and_probes(objects: list[dict[str, Any]]) -> None:
    """CPU and memory requests and limits everywhere; readiness and liveness probes too."""
    for name, cont in containers(objects):
        resources = cont.get("resources", {})
        for kind in ("requests", "limits"):
            assert set(resources.get(kind, {})) == {"cpu", "memory"}, (name, kind)
    for name, cont in containers(objects, init=False):
        for probe in ("readinessProbe", "livenessProbe"):
            assert "httpGet" in cont.get(probe, {}), (name, probe)


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_probes_use_each_service_health_endpoint(objects: list[dict[str, Any]]) -> None:
    """/-/ready and /-/healthy, the collector's health_check, and Grafana's /api/health."""
    for name, cont in containers(objects, init=False):
        ready = cont["readinessProbe"]["httpGet"]
        alive = cont["livenessProbe"]["httpGet"]
        ports = {p["name"]: p["containerPort"] for p in cont["ports"]}
        if name == "hypertool-collector/collector":
            assert ready == alive == {"path": "/", "port": "health"}
            assert ports["health"] == 13133
        elif name == "grafana/grafana":
            assert ready["path"] == alive["path"] == "/api/health"
        else:
            assert (ready["path"], alive["path"]) == ("/-/ready", "/-/healthy"), name
        assert ready["port"] in ports, name


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_nothing_is_published_outside_the_cluster(objects: list[dict[str, Any]]) -> None:
    """No NodePort or LoadBalancer Service, no host port, no host network, PID or IPC."""
    for o in objects:
        if o["kind"] == "Service":
            assert o["spec"].get("type", "ClusterIP") == "ClusterIP", o["metadata"]["name"]
            assert "externalIPs" not in o["spec"]
        assert o["kind"] not in {"Ingress", "Gateway", "HTTPRoute"}
    for workload, spec in pod_specs(objects):
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(host, False), (workload, host)
    for name, cont in containers(objects):
        for port in cont.get("ports", []):
            assert "hostPort" not in port, name
            assert "hostIP" not in port, name


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_containers_run_unprivileged(objects: list[dict[str, Any]]) -> None:
    """Non-root with every capability dropped; only the ledger's chown runs as root."""
    for workload, spec in pod_specs(objects):
        assert spec["automountServiceAccountToken"] is False, workload
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for cont in spec.get("initContainers", []) + spec["containers"]:
            name = f"{workload}/{cont['name']}"
            context = {**spec["securityContext"], **cont.get("securityContext", {})}
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            if name == "hypertool-collector/ledger-owner":
                assert context["capabilities"]["add"] == ["CHOWN"]
                assert context["readOnlyRootFilesystem"] is True
                continue
            assert context["runAsNonRoot"] is True, name
            assert context["runAsUser"] > 0, name
            assert "add" not in context["capabilities"], name


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_images_are_the_pinned_ones(objects: list[dict[str, Any]]) -> None:
    """Images are .env's pins (the collector at OTELCOL_VERSION) and Thanos v0.42.5."""
    pins = read_env_file(ROOT)
    expected = {
        "hypertool-collector/ledger-owner": pins["BUSYBOX_IMAGE"],
        "hypertool-collector/collector": f"hypertool/otelcol:{pins['OTELCOL_VERSION']}",
        "hypertool-collector/prometheus-agent": pins["PROMETHEUS_IMAGE"],
        "alertmanager/alertmanager": pins["ALERTMANAGER_IMAGE"],
        "grafana/grafana": pins["GRAFANA_IMAGE"],
        **{
            f"thanos-{part}/thanos-{part}": THANOS_IMAGE
            for part in ("receive", "query", "rule", "store", "compact")
        },
    }
    assert {name: cont["image"] for name, cont in containers(objects)} == expected


def test_thanos_is_the_release_the_native_scale_out_stack_runs() -> None:
    """The image's tag is v0.42.5, the release scripts/thanos builds for tests/scaleout."""
    tag = THANOS_IMAGE.rsplit(":", 1)[1]
    assert tag == "v0.42.5"
    go_mod = ROOT / "scripts" / "thanos" / "go.mod"
    if go_mod.is_file():  # the native build's pin, where this checkout has it
        required = re.findall(
            r"^\s*(?:require\s+)?github\.com/thanos-io/thanos (v\S+)", go_mod.read_text(), re.M
        )
        assert required == [tag]


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_no_secret_or_credential_is_shipped(objects: list[dict[str, Any]]) -> None:
    """No Secret in the build; pods read only the two the operator creates."""
    assert not [o for o in objects if o["kind"] == "Secret"]
    referenced = {
        volume["secret"]["secretName"]
        for _, spec in pod_specs(objects)
        for volume in spec.get("volumes", [])
        if "secret" in volume
    }
    assert referenced == OPERATOR_SECRETS
    grafana = env(container(objects, "grafana/grafana"))
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana
    assert grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"].startswith("/run/secrets/hypertool/")
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    example = yaml.safe_load((ROOT / KUBERNETES_DIR / "objstore.example.yaml").read_text())
    assert example["type"] == "S3"
    for key in ("bucket", "endpoint", "access_key", "secret_key"):
        assert re.fullmatch(r"<[^>]+>", example["config"][key]), key
    kustomization = (ROOT / KUBERNETES_DIR / "kustomization.yaml").read_text()
    assert "objstore.example.yaml" not in yaml.safe_load(kustomization)["resources"]


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_every_mounted_configmap_is_in_the_build(objects: list[dict[str, Any]]) -> None:
    """Each ConfigMap a pod mounts, directly or projected, is applied with it, and used."""
    built_maps = {o["metadata"]["name"] for o in objects if o["kind"] == "ConfigMap"}
    mounted = set()
    for workload, spec in pod_specs(objects):
        for volume in spec.get("volumes", []):
            sources = volume.get("projected", {}).get("sources", [volume])
            for source in sources:
                if "configMap" in source:
                    name = source["configMap"]["name"]
                    assert name in built_maps, (workload, name)
                    mounted.add(name)
    assert mounted == built_maps


# The architecture's wiring


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_agents_reach_their_own_node_collector(objects: list[dict[str, Any]]) -> None:
    """One collector per node; the OTLP Service stays on the caller's node."""
    service = find(objects, "Service", "hypertool-otlp")
    assert service["spec"]["internalTrafficPolicy"] == "Local"
    assert {p["port"] for p in service["spec"]["ports"]} == {4317, 4318}
    daemonset = find(objects, "DaemonSet", "hypertool-collector")
    rolling = daemonset["spec"]["updateStrategy"]["rollingUpdate"]
    assert rolling["maxSurge"] == 0  # never two collectors on one ledger
    (ledger,) = [v for v in daemonset["spec"]["template"]["spec"]["volumes"] if "hostPath" in v]
    assert ledger["hostPath"] == {"path": "/var/lib/hypertool/ledger", "type": "DirectoryOrCreate"}
    collector = env(container(objects, "hypertool-collector/collector"))
    assert collector["HYPERTOOL_LEDGER_DIR"] == "/var/lib/hypertool/ledger"
    assert collector["HYPERTOOL_OTLP_GRPC_ENDPOINT"] == "0.0.0.0:4317"
    assert collector["HYPERTOOL_OTLP_HTTP_ENDPOINT"] == "0.0.0.0:4318"
    assert "HYPERTOOL_TRACE_EXPORTERS" not in collector


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_collector_loads_the_repository_config_files(objects: list[dict[str, Any]]) -> None:
    """Each --config file is mounted, and is the repository's file byte for byte."""
    collector = container(objects, "hypertool-collector/collector")
    (mount,) = [m for m in collector["volumeMounts"] if m["name"] == "config"]
    spec = find(objects, "DaemonSet", "hypertool-collector")["spec"]["template"]["spec"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "config"]
    mounted: dict[str, str] = {}
    for source in volume["projected"]["sources"]:
        files = data(objects, source["configMap"]["name"])
        items = source["configMap"].get("items") or [{"key": k, "path": k} for k in files]
        assert {i["key"] for i in items} == set(files)  # every file of the folder
        mounted |= {f"{mount['mountPath']}/{i['path']}": files[i["key"]] for i in items}
    for arg in collector["args"]:
        path = arg.removeprefix("--config=")
        relative = Path("collector-config") / Path(path).relative_to(mount["mountPath"])
        assert mounted[path] == (ROOT / relative).read_bytes().decode(), path
    assert collector["args"][2:] == [
        "--config=/etc/otelcol/security/auth-off.yaml",
        "--config=/etc/otelcol/security/tls-off.yaml",
    ]


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_prometheus_agent_labels_and_forwards_each_collector(
    objects: list[dict[str, Any]],
) -> None:
    """It scrapes its collector over loopback, labels by node, and writes to Receive."""
    agent = container(objects, "hypertool-collector/prometheus-agent")
    assert agent["args"] == [
        "--agent",
        "--config.file=/etc/prometheus-agent/prometheus.yml",
        "--storage.agent.path=/data",
        "--enable-feature=created-timestamp-zero-ingestion",
    ]
    assert env(agent)["NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    config = yaml.safe_load(data(objects, "prometheus-agent-config")["prometheus.yml"])
    assert config["global"]["scrape_interval"] == "15s"
    # Prometheus expands environment variables in external labels (config.Load).
    assert config["global"]["external_labels"] == {"collector": "${NODE_NAME}"}
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert jobs == {
        c.JOB_COLLECTOR_EXPORTER: ["127.0.0.1:8889"],
        c.JOB_COLLECTOR_TELEMETRY: ["127.0.0.1:8888"],
    }
    (write,) = config["remote_write"]
    assert write["url"] == "http://thanos-receive.hypertool.svc:19291/api/v1/receive"
    receive = find(objects, "Service", "thanos-receive")
    assert {p["name"]: p["port"] for p in receive["spec"]["ports"]}["remote-write"] == 19291


def args(cont: dict[str, Any], flag: str) -> list[str]:
    """The values of every ``--flag=value`` of a container."""
    return [a.split("=", 1)[1] for a in cont["args"] if a.startswith(f"--{flag}=")]


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_the_hashring_lists_every_receiver(objects: list[dict[str, Any]]) -> None:
    """One endpoint per receiver pod, and each receiver knows itself by the same name."""
    receive = find(objects, "StatefulSet", "thanos-receive")
    replicas = receive["spec"]["replicas"]
    assert replicas == 3
    (ring,) = json.loads(data(objects, "thanos-receive-hashrings")["hashrings.json"])
    assert ring["endpoints"] == [
        f"thanos-receive-{i}.thanos-receive.hypertool.svc:10901" for i in range(replicas)
    ]
    cont = container(objects, "thanos-receive/thanos-receive")
    assert args(cont, "receive.local-endpoint") == [
        "$(POD_NAME).thanos-receive.hypertool.svc:10901"
    ]
    assert args(cont, "receive.replication-factor") == ["2"]
    assert args(cont, "label") == ['receive_replica="$(POD_NAME)"']
    assert receive["spec"]["serviceName"] == "thanos-receive"
    assert find(objects, "Service", "thanos-receive")["spec"]["clusterIP"] == "None"


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_query_reads_every_store_and_deduplicates(objects: list[dict[str, Any]]) -> None:
    """Query finds receivers, the store gateway and the rulers by SRV; replicas collapse."""
    cont = container(objects, "thanos-query/thanos-query")
    endpoints = args(cont, "endpoint")
    assert endpoints == [
        f"dnssrv+_grpc._tcp.thanos-{part}.hypertool.svc" for part in ("receive", "store", "rule")
    ]
    for part in ("receive", "store", "rule"):
        service = find(objects, "Service", f"thanos-{part}")
        assert service["spec"]["clusterIP"] == "None"
        assert "grpc" in {p["name"] for p in service["spec"]["ports"]}
    assert args(cont, "query.replica-label") == ["receive_replica", "ruler_replica"]
    assert find(objects, "Deployment", "thanos-query")["spec"]["replicas"] == 2


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_ruler_evaluates_the_repository_rules(objects: list[dict[str, Any]]) -> None:
    """Two rulers on prometheus/rules/*.yml, byte for byte, alerting every Alertmanager."""
    ruler = find(objects, "StatefulSet", "thanos-rule")
    assert ruler["spec"]["replicas"] == 2
    cont = container(objects, "thanos-rule/thanos-rule")
    (rules_mount,) = [m for m in cont["volumeMounts"] if m["name"] == "rules"]
    assert args(cont, "rule-file") == [f"{rules_mount['mountPath']}/*.yml"]
    (volume,) = [v for v in ruler["spec"]["template"]["spec"]["volumes"] if v["name"] == "rules"]
    rules = data(objects, volume["configMap"]["name"])
    repository = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
    assert sorted(rules) == [p.name for p in repository]
    for path in repository:
        assert rules[path.name].encode() == path.read_bytes(), path.name
    assert args(cont, "query") == ["thanos-query.hypertool.svc:10902"]
    assert args(cont, "alertmanagers.url") == ["dnssrv+http://_web._tcp.alertmanager.hypertool.svc"]
    assert args(cont, "label") == ['ruler_replica="$(POD_NAME)"']
    assert args(cont, "alert.label-drop") == ["ruler_replica"]
    # The single node's evaluation interval (prometheus/prometheus.yml), so alerts are as fast.
    single_node = yaml.safe_load((ROOT / "prometheus/prometheus.yml").read_text())
    assert args(cont, "eval-interval") == [single_node["global"]["evaluation_interval"]]


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_alertmanagers_form_one_cluster(objects: list[dict[str, Any]]) -> None:
    """Each replica lists every peer by pod name; the config is the repository's."""
    alertmanager = find(objects, "StatefulSet", "alertmanager")
    replicas = alertmanager["spec"]["replicas"]
    assert replicas == 3
    cont = container(objects, "alertmanager/alertmanager")
    assert args(cont, "cluster.peer") == [
        f"alertmanager-{i}.alertmanager.hypertool.svc:9094" for i in range(replicas)
    ]
    assert args(cont, "cluster.listen-address") == ["0.0.0.0:9094"]
    assert args(cont, "data.maintenance-interval") == ["1m"]
    service = find(objects, "Service", "alertmanager")
    assert service["spec"]["clusterIP"] == "None"
    assert "web" in {p["name"] for p in service["spec"]["ports"]}  # the rulers' SRV record
    config = data(objects, "alertmanager-config")["alertmanager.yml"]
    assert config.encode() == (ROOT / "prometheus" / "alertmanager.yml").read_bytes()


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_every_thanos_store_component_reads_the_operator_bucket(
    objects: list[dict[str, Any]],
) -> None:
    """Receive, Ruler, store gateway and compactor use the thanos-objstore Secret's file."""
    for part in ("receive", "rule", "store", "compact"):
        cont = container(objects, f"thanos-{part}/thanos-{part}")
        assert args(cont, "objstore.config-file") == ["/etc/thanos/objstore/objstore.yaml"]
    assert find(objects, "StatefulSet", "thanos-store")["spec"]["replicas"] == 1
    assert find(objects, "StatefulSet", "thanos-compact")["spec"]["replicas"] == 1


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_grafana_dashboards_find_their_datasources(objects: list[dict[str, Any]]) -> None:
    """Every datasource uid a dashboard names is provisioned, pointing into the cluster."""
    provisioned = yaml.safe_load(data(objects, "grafana-datasources")["datasources.yml"])
    urls = {d["uid"]: d["url"] for d in provisioned["datasources"]}
    assert urls == CLUSTER_URLS
    assert urls["hypertool-prometheus"] == "http://thanos-query.hypertool.svc:10902"

    dashboards = data(objects, "grafana-dashboards")
    assert sorted(dashboards) == sorted(p.name for p in (ROOT / "grafana/dashboards").glob("*"))
    for name, text in dashboards.items():
        used = {s["uid"] for s in datasources(json.loads(text)) if "uid" in s}
        assert used, name
        assert used <= set(urls), name


def test_readme_names_what_the_operator_provides() -> None:
    """The README says how to apply it and names the image and the two Secrets."""
    readme = (ROOT / KUBERNETES_DIR / "README.md").read_text()
    assert "kubectl apply --server-side -k deploy/kubernetes" in readme
    for needed in ("hypertool/otelcol", *OPERATOR_SECRETS):
        assert needed in readme, needed
