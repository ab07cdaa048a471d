"""collector-config/Dockerfile, the image compose builds, checked here without Docker."""

from __future__ import annotations

import posixpath
import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from hypertool_tools.stack.build import COLLECTOR_BINARY, MANIFEST, read_env_file

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = Path("collector-config") / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    parsed: list[tuple[str, str]] = []
    current = ""
    for line in (ROOT / DOCKERFILE).read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, arguments = (current + stripped).partition(" ")
        parsed.append((keyword.upper(), arguments.strip()))
        current = ""
    return parsed


def build_stage() -> list[tuple[str, str, PurePosixPath]]:
    """The first stage's instructions, each with the WORKDIR it runs in."""
    stage: list[tuple[str, str, PurePosixPath]] = []
    workdir = PurePosixPath("/")
    seen_from = False
    for keyword, arguments in instructions():
        if keyword == "FROM":
            if seen_from:
                break
            seen_from = True
        elif keyword == "WORKDIR":
            workdir = workdir / arguments
        if seen_from:
            stage.append((keyword, arguments, workdir))
    return stage


def in_image(repo_path: str) -> PurePosixPath | None:
    """Where the build stage's COPY instructions put a file or folder of the repository."""
    for keyword, arguments, workdir in build_stage():
        if keyword != "COPY":
            continue
        *sources, destination = [a for a in shlex.split(arguments) if not a.startswith("--")]
        target = workdir / destination
        for source in map(posixpath.normpath, sources):
            if repo_path == source:
                # A folder's content goes into the destination, a file into a folder ending in /.
                into_folder = destination.endswith("/") and (ROOT / source).is_file()
                return target / posixpath.basename(source) if into_folder else target
            if repo_path.startswith(source + "/"):
                return target / posixpath.relpath(repo_path, source)
    return None


def collector_service() -> dict[str, Any]:
    """The otel-collector service of docker-compose.yml, as written."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service: dict[str, Any] = compose["services"]["otel-collector"]
    return service


def test_compose_passes_every_dockerfile_arg_from_env() -> None:
    """Compose passes each ARG the Dockerfile declares, from the .env key of its own name."""
    declared = {
        arguments.split("=", 1)[0]: arguments.partition("=")[2] or None
        for keyword, arguments in instructions()
        if keyword == "ARG"
    }
    build = collector_service()["build"]
    assert (build["context"], build["dockerfile"]) == (".", str(DOCKERFILE))
    assert set(build["args"]) == set(declared)
    pins = read_env_file(ROOT)
    for arg, default in declared.items():
        assert build["args"][arg] == f"${{{arg}}}", arg
        assert arg in pins, arg
        assert default in {None, pins[arg]}, f"{arg}: the Dockerfile's default differs from .env"


def test_the_builder_and_the_image_tag_are_of_the_pinned_release() -> None:
    """The builder installed, the manifest check and the local image tag use OTELCOL_VERSION."""
    stage = build_stage()
    runs = " ".join(arguments for keyword, arguments, _ in stage if keyword == "RUN")
    install = re.search(r"cmd/builder@v\$\{(\w+)", runs)
    assert install is not None
    assert install.group(1) == "OTELCOL_VERSION"
    assert ("ARG", "OTELCOL_VERSION") in {(k, a) for k, a, _ in stage}
    assert '"  version: ${OTELCOL_VERSION}" builder-manifest.yaml' in runs
    service = collector_service()
    assert service["image"] == "hypertool/otelcol:${OTELCOL_VERSION}"
    assert service["pull_policy"] == "build"  # a local tag: never pulled from a registry


def test_the_builder_runs_beside_every_local_component_it_needs() -> None:
    """Every local `path:` of the manifest is copied where the builder resolves it."""
    runs = [(a, w) for k, a, w in build_stage() if k == "RUN" and "builder --config=" in a]
    assert len(runs) == 1
    command, workdir = runs[0]
    config = re.search(r"builder --config=(\S+)", command)
    assert config is not None
    assert in_image(str(MANIFEST)) == workdir / config.group(1)
    manifest = yaml.safe_load((ROOT / MANIFEST).read_text())
    paths = [
        entry["path"]
        for entries in manifest.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict) and "path" in entry
    ]
    assert paths  # components/ledgerprocessor at least
    for path in paths:
        repo_path = posixpath.normpath(str(MANIFEST.parent / path))
        assert (ROOT / repo_path / "go.mod").is_file(), path
        assert in_image(repo_path) == PurePosixPath(posixpath.normpath(workdir / path)), path


def dockerignored(repo_path: str) -> bool:
    """Whether .dockerignore keeps a path (or a folder above it) out of the build context."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = repo_path.split("/")
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.removeprefix("!").strip("/")
        regex = re.escape(glob).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    """.dockerignore keeps the manifest and every component source file in the context."""
    assert dockerignored("collector-config/build/otelcol-hypertool")  # a host build stays out
    components = (ROOT / MANIFEST.parent / "components").rglob("*")
    sources = [MANIFEST, *(p.relative_to(ROOT) for p in components if p.is_file())]
    for source in sources:
        assert not dockerignored(source.as_posix()), source


def test_the_ledger_volume_is_a_directory_the_collector_user_owns() -> None:
    """The ledger's volume, variable and image directory agree; the image's user owns it."""
    service = collector_service()
    directory = service["environment"]["HYPERTOOL_LEDGER_DIR"]
    assert f"collector-ledger:{directory}" in service["volumes"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "collector-ledger" in compose["volumes"]
    config = (ROOT / "collector-config/generated/components.yaml").read_text()
    assert f"${{env:HYPERTOOL_LEDGER_DIR:-{directory}}}" in config
    runtime = instructions()
    runtime = runtime[max(i for i, (k, _) in enumerate(runtime) if k == "FROM") :]
    user = next(a for k, a in runtime if k == "USER")
    assert not user.startswith(("0", "root"))
    assert ("COPY", f"--from=build --chown={user} /out/ledger {directory}") in runtime
    assert ("COPY", f"--from=build /out/{COLLECTOR_BINARY} /{COLLECTOR_BINARY}") in runtime
    assert ("ENTRYPOINT", f'["/{COLLECTOR_BINARY}"]') in runtime
