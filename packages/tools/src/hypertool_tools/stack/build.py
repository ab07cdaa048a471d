"""Builds and finds the native binaries of the stack: our collector, Prometheus, Alertmanager.

Everything is built from source through the Go module proxy at the versions that
docker compose pins (``.env`` and ``collector-config/builder-manifest.yaml``; Thanos, which
only the scale-out stack runs, at the version scripts/thanos/go.mod requires), and cached
outside the repository under ``$HYPERTOOL_CACHE`` (default ``~/.cache/hypertool``). A build
whose cache entry is current does nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COLLECTOR_BINARY = "otelcol-hypertool"
MANIFEST = Path("collector-config") / "builder-manifest.yaml"
#: Our own collector components, built into the distribution from source.
COMPONENTS = Path("collector-config") / "components"
ENV_FILE = Path(".env")
COMPOSECHECK = Path("scripts") / "composecheck"
_COMPOSECHECK_SOURCES = ("go.mod", "go.sum", "main.go")
#: The wrapper module that pins the Thanos release and builds its command.
THANOS = Path("scripts") / "thanos"
_THANOS_SOURCES = ("go.mod", "go.sum")
_THANOS_MODULE = "github.com/thanos-io/thanos"
#: The build tags of Thanos' releases (.promu.yml). Without slicelabels, Prometheus'
#: default string labels break Thanos' unsafe label casts: a receiver panics in its
#: gRPC codec on the first Info call from Query.
_THANOS_TAGS = "netgo,slicelabels"
#: The build tags of Prometheus' releases (.promu.yml); builtinassets embeds the web UI.
_PROMETHEUS_TAGS = "netgo,builtinassets"
#: In the Prometheus cache entry once its binary embeds the web UI (see prometheus_ui_marker).
PROMETHEUS_UI_MARKER = "web-ui.json"
#: The Prometheus UI is a pnpm workspace (web/ui). Its CI takes the newest pnpm below 13;
#: 12.18.0 was the newest when 3.16.0 was released. pnpm 11 needs Node.js 22; 12 runs on 20.
_PNPM_VERSION = "12.18.0"
_PNPM_LOCKFILE = "pnpm-lock.yaml"
#: Vite 8, which builds the UI, needs Node.js ^20.19 or >= 22.12.
_NODE_MIN = (20, 19)
#: Locked npm packages that the npm registry does not serve (404), and the release used
#: instead: the newest older one it serves (the UI type-checks and builds against it). An
#: entry applies only when the lockfile pins exactly that version; the install then checks
#: that no other locked version changed.
UI_SUBSTITUTES = {"@mantine/code-highlight@9.7.2": "9.6.2"}
#: A bound on each npm or pnpm command: a stalled registry fails the build in time.
_NODE_STEP_TIMEOUT = 20 * 60.0
_REGISTRY_HINT = (
    "Its output above names what failed. Check that the npm registry answers "
    "(`npm ping`; `npm config get registry` says which), then run `hypertool stack build` "
    "again: finished downloads are kept. A registry that refuses a version the lockfile "
    'pins (E404, or ERR_PNPM_MINIMUM_RELEASE_AGE_VIOLATION "not present in registry '
    'manifest") no longer serves it: add a substitute to UI_SUBSTITUTES in '
    "hypertool_tools/stack/build.py."
)
#: Seconds between the "still building" lines that show a long build is alive.
HEARTBEAT_SECONDS = 30.0
_VERSION_PKG = "github.com/prometheus/common/version"


class StackError(RuntimeError):
    """A problem the user can fix; the message says how."""


def project_root() -> Path:
    """The checkout whose configs the stack runs: $HYPERTOOL_HOME, or found upwards."""
    env = os.environ.get("HYPERTOOL_HOME")
    candidates = [Path(env)] if env else [Path.cwd(), *Path.cwd().parents]
    here = Path(__file__).resolve()
    candidates += list(here.parents)
    for candidate in candidates:
        if (candidate / MANIFEST).is_file() and (candidate / ENV_FILE).is_file():
            return candidate
    raise StackError(
        "cannot find the hypertool configs (collector-config/, prometheus/, .env). "
        "Run from a checkout of the repository, or set HYPERTOOL_HOME to one."
    )


def cache_dir() -> Path:
    """Where built binaries live, outside the repository."""
    return Path(os.environ.get("HYPERTOOL_CACHE", Path.home() / ".cache" / "hypertool"))


def read_env_file(root: Path) -> dict[str, str]:
    """The KEY=VALUE pins of .env, as docker compose reads them."""
    pins: dict[str, str] = {}
    for line in (root / ENV_FILE).read_text().splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            key, value = stripped.split("=", 1)
            pins[key.strip()] = value.strip()
    return pins


def image_tag(root: Path, key: str) -> str:
    """The tag of the image pinned as ``key`` in .env."""
    image = read_env_file(root).get(key)
    if not image or ":" not in image:
        raise StackError(f"{root / ENV_FILE}: {key} must pin an image as name:tag")
    return image.rsplit(":", 1)[1]


def manifest_version(root: Path) -> str:
    """The collector version of the builder manifest (dist.version)."""
    text = (root / MANIFEST).read_text()
    match = re.search(r"^\s+version:\s*v?([0-9][0-9.]*)\s*$", text, re.MULTILINE)
    if match is None:
        raise StackError(f"{root / MANIFEST}: dist.version is missing")
    return match.group(1)


@dataclass(frozen=True)
class Binaries:
    """Paths of the native binaries the stack runs."""

    collector: Path
    prometheus: Path
    promtool: Path
    alertmanager: Path
    amtool: Path


def collector_path(root: Path) -> Path:
    """The cached collector, keyed by the manifest and our components' sources."""
    digest = hashlib.sha256((root / MANIFEST).read_bytes())
    for source in sorted((root / COMPONENTS).rglob("*")):
        if source.suffix in {".go", ".mod", ".sum"} and not source.name.endswith("_test.go"):
            digest.update(str(source.relative_to(root)).encode())
            digest.update(source.read_bytes())
    return cache_dir() / "otelcol" / digest.hexdigest()[:16] / COLLECTOR_BINARY


def prometheus_dir(root: Path) -> Path:
    """The cache folder of the pinned Prometheus release."""
    return cache_dir() / "prometheus" / image_tag(root, "PROMETHEUS_IMAGE")


def alertmanager_dir(root: Path) -> Path:
    """The cache folder of the pinned Alertmanager release."""
    return cache_dir() / "alertmanager" / image_tag(root, "ALERTMANAGER_IMAGE")


def binaries(root: Path) -> Binaries:
    """Where each binary is (or will be once built)."""
    prom, am = prometheus_dir(root), alertmanager_dir(root)
    return Binaries(
        collector=collector_path(root),
        prometheus=prom / "prometheus",
        promtool=prom / "promtool",
        alertmanager=am / "alertmanager",
        amtool=am / "amtool",
    )


def _log(message: str) -> None:
    print(f"[hypertool build] {message}", file=sys.stderr, flush=True)


def _elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.0f} s"


@contextlib.contextmanager
def _heartbeat(activity: str) -> Iterator[None]:
    """Log "still <activity> (N s)" every HEARTBEAT_SECONDS until the block ends."""
    started = time.monotonic()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            _log(f"still {activity} ({_elapsed(started)})")

    thread = threading.Thread(target=beat, name="hypertool-build-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def _progress(component: str) -> Iterator[None]:
    """Log when ``component`` starts and finishes building, and that it is alive meanwhile."""
    started = time.monotonic()
    _log(f"building {component} (the first build takes minutes; it is cached afterwards)")
    try:
        with _heartbeat(f"building {component}"):
            yield
    except BaseException:
        _log(f"building {component} failed after {_elapsed(started)}")
        raise
    _log(f"built {component} in {_elapsed(started)}")


def go_binary() -> str:
    """The ``go`` command on PATH; StackError saying how to install Go when there is none."""
    go = shutil.which("go")
    if go is None:
        raise StackError(
            "Go is not installed; the stack's binaries are built from source with it. "
            "Install Go >= 1.21 (https://go.dev/dl/; it fetches the newer toolchain the "
            "modules need) and run `hypertool stack build` again."
        )
    return go


def run_command(
    args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    """Run a build command, its output on ours; StackError naming it when it fails.

    ``env`` is added to this process's environment, with ``GOTOOLCHAIN=auto`` unless one
    of the two sets it.
    """
    # Any Go >= 1.21 can build: "auto" lets it fetch the toolchain the modules ask for
    # through the module proxy, even where a distribution's Go defaults to "local".
    merged = {"GOTOOLCHAIN": "auto", **os.environ, **(env or {})}
    completed = subprocess.run(args, cwd=cwd, env=merged, check=False)
    if completed.returncode != 0:
        raise StackError(f"command failed with exit code {completed.returncode}: {' '.join(args)}")


@contextlib.contextmanager
def _exclusive(entry: Path) -> Iterator[None]:
    """Hold the lock of one cache entry: concurrent builds of it wait for each other."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    with (entry.parent / f".{entry.name}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _log(f"another process is building {entry}; waiting for it")
            with _heartbeat(f"waiting for the other build of {entry}"):
                fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _install_into(final_dir: Path, build: Callable[[Path], None]) -> None:
    # Build into a scratch folder beside the cache entry and rename it into place, so
    # that an interrupted build never leaves a half-written entry that looks current.
    # Callers hold _exclusive(final_dir) and have seen no complete entry.
    scratch = Path(tempfile.mkdtemp(prefix=f".{final_dir.name}.", dir=final_dir.parent))
    try:
        build(scratch)
        if final_dir.exists():  # an incomplete entry from an older layout
            shutil.rmtree(final_dir)
        scratch.rename(final_dir)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def cache_entry(entry: Path, build: Callable[[Path], None], *names: str) -> Path:
    """The cache folder ``entry``, built by ``build`` unless each of ``names`` is a file in it.

    ``build`` fills the scratch folder it is given, which then replaces ``entry`` whole: an
    interrupted build leaves no entry that looks current. Processes asking for the same
    entry at once wait for each other (a lock file beside it), and it is built once.
    """
    with _exclusive(entry):
        if not _current(entry, *names):
            _install_into(entry, build)
    return entry


def go_tool(module: str, version: str, name: str) -> Path:
    """``go install module@version`` into the cache (``tools/<name>-<version>``), once.

    The path of the installed binary ``name``; the first call builds it from the Go module
    proxy, later ones (from any process) find it.
    """
    entry = cache_dir() / "tools" / f"{name}-{version}"

    def install(scratch: Path) -> None:
        with _progress(f"{name} {version}"):
            run_command(
                [go_binary(), "install", f"{module}@{version}"], env={"GOBIN": str(scratch)}
            )

    return cache_entry(entry, install, name) / name


def _version_ldflags(version: str, revision: str) -> str:
    return (
        f"-X {_VERSION_PKG}.Version={version} -X {_VERSION_PKG}.Revision={revision} "
        f"-X {_VERSION_PKG}.Branch=go-module-proxy -X {_VERSION_PKG}.BuildUser=hypertool"
    )


def build_collector(root: Path) -> Path:
    """Build our collector distribution with the builder (ocb) unless the cache is current."""
    target = collector_path(root)
    with _exclusive(target.parent):
        if target.is_file():
            _log(f"collector is current: {target}")
            return target
        version = manifest_version(root)
        builder = _builder(version)

        def build(scratch: Path) -> None:
            manifest = scratch / "manifest.yaml"
            manifest.write_text(_manifest_building_in(root, scratch / "src"))
            # The manifest's local component paths are relative to its own directory.
            run_command([str(builder), f"--config={manifest}"], cwd=root / MANIFEST.parent)
            (scratch / "src" / COLLECTOR_BINARY).rename(scratch / COLLECTOR_BINARY)
            shutil.rmtree(scratch / "src")
            manifest.unlink()

        with _progress(f"the collector v{version}"):
            _install_into(target.parent, build)
    _log(f"collector: {target}")
    return target


def _manifest_building_in(root: Path, output: Path) -> str:
    """The manifest with its output_path moved to ``output``.

    A relative ``replaces:`` target is relative to the go.mod the builder writes in
    output_path: it is made absolute, so it names the same directory from ``output``.
    """
    text = (root / MANIFEST).read_text()
    declared = re.search(r"^\s*output_path:\s*(\S+)", text, re.MULTILINE)
    base = root / MANIFEST.parent / (declared.group(1) if declared else ".")
    text = re.sub(r"output_path:.*", f"output_path: {output}", text)
    return re.sub(
        r"(=>\s*)(\.\.?/\S*)",
        lambda m: m.group(1) + os.path.normpath(base / m.group(2)),
        text,
    )


def _builder(version: str) -> Path:
    """The collector builder (ocb) of ``version``, installed once into the cache."""
    tools = cache_dir() / "tools" / f"builder-v{version}"
    with _exclusive(tools):
        if not _current(tools, "builder"):
            go = go_binary()
            with _progress(f"the collector builder v{version}"):
                _install_into(
                    tools,
                    lambda scratch: run_command(
                        [go, "install", f"go.opentelemetry.io/collector/cmd/builder@v{version}"],
                        env={"GOBIN": str(scratch)},
                    ),
                )
    return tools / "builder"


def _current(final: Path, *names: str) -> bool:
    return all((final / name).is_file() for name in names)


def prometheus_ui_marker(root: Path) -> Path:
    """The file that says the cached Prometheus embeds its web UI, and what it was built from.

    An entry without it (an API-only binary from an older build) is built again, once.
    """
    return prometheus_dir(root) / PROMETHEUS_UI_MARKER


def build_prometheus(root: Path) -> Path:
    """Build Prometheus and promtool at the compose-pinned release, with the web UI built in.

    Like the release (``make build``): the UI of the module source's npm workspace
    (``web/ui``) is installed from its lockfile and built, gzipped into ``web/ui/static``
    and embedded with the ``builtinassets`` build tag. Needs Node.js and npm besides Go.
    """
    final = prometheus_dir(root)
    tag = final.name  # v3.16.0
    with _exclusive(final):
        if _current(final, "prometheus", "promtool", PROMETHEUS_UI_MARKER):
            _log(f"prometheus {tag} is current: {final}")
            return final
        major, minor, patch = tag.lstrip("v").split(".")
        if major != "3":
            raise StackError(f"PROMETHEUS_IMAGE {tag}: the native build supports Prometheus 3")
        # Prometheus 3.x.y is published to Go as module version v0.3xx.y.
        module_version = f"v0.{300 + int(minor)}.{patch}"
        go = go_binary()
        if final.is_dir():
            _log(f"{final} is incomplete or has no web UI built in; building it again")
        pnpm = pnpm_binary()
        with _progress(f"prometheus and promtool {tag} with the web UI (module {module_version})"):
            _install_into(
                final, lambda scratch: prometheus_into(scratch, go, pnpm, tag, module_version)
            )
    _log(f"prometheus: {final} (web UI built in)")
    return final


def prometheus_into(scratch: Path, go: str, pnpm: Path, tag: str, module_version: str) -> None:
    """Build the release's module source, UI included, into ``scratch``."""
    src = scratch / "src"
    _copy_module(go, f"github.com/prometheus/prometheus@{module_version}", src)
    ui = src / "web" / "ui"
    shipped = locked_packages(ui / _PNPM_LOCKFILE)
    substitutes = substitute_missing_packages(ui)
    _log(f"installing the web UI's npm packages with pnpm {_PNPM_VERSION} ({_PNPM_LOCKFILE})")
    _pnpm_install(pnpm, ui, frozen=not substitutes)
    if substitutes:
        check_only_substituted(shipped, ui, substitutes)
    # `make ui-build` with BUILD_UI=mantine: the PromQL modules, then the UI the stack
    # serves. The old React app is served only with --enable-feature=old-ui.
    _log("building the web UI (web/ui: pnpm run build:mantine-ui)")
    _node_step(
        [str(pnpm), "run", "build:mantine-ui"],
        cwd=ui,
        what="building the Prometheus web UI (pnpm run build:mantine-ui in web/ui)",
        retry="Its output above says what failed.",
        # Its scripts call pnpm by name. CI="" as the Makefile runs it.
        env={"CI": "", "PATH": f"{pnpm.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assets = embed_assets(ui)
    _log(f"compiling prometheus and promtool with {len(assets)} embedded UI files")
    flags = _version_ldflags(tag.lstrip("v"), f"module-{module_version}")
    run_command(
        [
            go,
            "build",
            f"-tags={_PROMETHEUS_TAGS}",
            f"-ldflags={flags}",
            "-o",
            f"{scratch}/",
            "./cmd/prometheus",
            "./cmd/promtool",
        ],
        cwd=src,
        env={"GOWORK": "off"},  # the source's go.work names folders the module lacks
    )
    marker = {
        "module": f"github.com/prometheus/prometheus@{module_version}",
        "tags": _PROMETHEUS_TAGS,
        "pnpm": _PNPM_VERSION,
        "substituted": substitutes,
        "assets": assets,
    }
    (scratch / PROMETHEUS_UI_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    shutil.rmtree(src)


def _copy_module(go: str, module: str, dest: Path) -> None:
    """A writable copy of ``module``'s source (the module cache is read-only)."""
    shutil.copytree(_module_source(go, module), dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)


def substitute_missing_packages(ui: Path) -> dict[str, str]:
    """Replace the lockfile entries the npm registry does not serve; return what was replaced.

    The replacements go into the workspace's pnpm-workspace.yaml as overrides (and are
    exempted from its minimumReleaseAge check, which otherwise fails on the missing version
    before anything is installed).
    """
    import yaml

    lock = (ui / _PNPM_LOCKFILE).read_text()
    substitutes = {
        entry: version
        for entry, version in UI_SUBSTITUTES.items()
        if re.search(rf"^  '?{re.escape(entry)}'?:", lock, re.MULTILINE)
    }
    if substitutes:
        workspace_file = ui / "pnpm-workspace.yaml"
        workspace: dict[str, Any] = yaml.safe_load(workspace_file.read_text()) or {}
        workspace.setdefault("overrides", {}).update(substitutes)
        excluded = workspace.setdefault("minimumReleaseAgeExclude", [])
        excluded += [entry for entry in substitutes if entry not in excluded]
        workspace_file.write_text(yaml.safe_dump(workspace, sort_keys=False))
        for entry, version in substitutes.items():
            _log(
                f"using {entry.rsplit('@', 1)[0]}@{version} for {entry}, which the npm "
                "registry does not serve"
            )
    return substitutes


def locked_packages(lockfile: Path) -> set[str]:
    """The name@version keys of a pnpm lockfile's ``packages:`` section."""
    text = lockfile.read_text()
    section = text.partition("\npackages:\n")[2].partition("\nsnapshots:\n")[0]
    return set(re.findall(r"^  '?([^\s':]+@[^\s':]+)'?:", section, re.MULTILINE))


def check_only_substituted(shipped: set[str], ui: Path, substitutes: dict[str, str]) -> None:
    """Fail unless the install kept every locked version other than the substituted ones."""
    installed = locked_packages(ui / _PNPM_LOCKFILE)
    expected = (shipped - substitutes.keys()) | {
        f"{entry.rsplit('@', 1)[0]}@{version}" for entry, version in substitutes.items()
    }
    if installed != expected:
        changed = sorted(installed ^ expected)
        raise StackError(
            f"pnpm changed locked versions of the Prometheus web UI beyond the substitutes "
            f"{substitutes}: {changed[:10]}. Report this; the build cannot be trusted."
        )


def _pnpm_install(pnpm: Path, ui: Path, *, frozen: bool) -> None:
    store = cache_dir() / "pnpm"
    _node_step(
        [
            str(pnpm),
            "install",
            "--frozen-lockfile" if frozen else "--no-frozen-lockfile",
            f"--store-dir={store / 'store'}",
            f"--cache-dir={store / 'cache'}",
        ],
        cwd=ui,
        what=f"installing the Prometheus web UI's npm packages (pnpm install in web/ui, "
        f"{_PNPM_LOCKFILE})",
        retry=_REGISTRY_HINT,
    )


def _node_step(
    args: list[str], *, cwd: Path, what: str, retry: str, env: dict[str, str] | None = None
) -> None:
    """Run an npm or pnpm command; fail with what failed and how to retry, within a bound."""
    merged = {**os.environ, "npm_config_update_notifier": "false", **(env or {})}
    # pnpm reads pnpm_config_* and not npm's variables: it uses the registry npm is told to.
    npm_registry = merged.get("npm_config_registry") or merged.get("NPM_CONFIG_REGISTRY")
    if npm_registry:
        merged.setdefault("pnpm_config_registry", npm_registry)
    process = subprocess.Popen(
        args, cwd=cwd, env=merged, stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        code = process.wait(timeout=_NODE_STEP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise StackError(
            f"{what} did not finish within {_NODE_STEP_TIMEOUT / 60:.0f} minutes "
            f"({' '.join(args)}). {retry}"
        ) from None
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    if code != 0:
        raise StackError(f"{what} failed with exit code {code} ({' '.join(args)}). {retry}")


def embed_assets(ui: Path) -> list[str]:
    """Gzip the built UI and write web/ui/embed.go, as scripts/compress_assets.sh does."""
    static = ui / "static"
    for old in static.rglob("*.gz"):
        old.unlink()
    embedded = []
    for path in sorted(p for p in static.rglob("*") if p.is_file()):
        packed = path.with_name(path.name + ".gz")
        # gzip -n: no name or time stamp, so equal sources give equal binaries.
        packed.write_bytes(gzip.compress(path.read_bytes(), compresslevel=6, mtime=0))
        embedded.append(packed.relative_to(ui).as_posix())
    if not any(name.endswith("/index.html.gz") for name in embedded):
        raise StackError(f"the Prometheus web UI build left no index.html in {static}")
    template = (ui / "embed.go.tmpl").read_text()
    (ui / "embed.go").write_text(
        f"{template}//go:embed {' '.join(embedded)}\nvar EmbedFS embed.FS\n"
    )
    return [name.removesuffix(".gz") for name in embedded]


def _node_version() -> tuple[int, ...] | None:
    node = shutil.which("node")
    if node is None:
        return None
    done = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"v(\d+)\.(\d+)", done.stdout.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def pnpm_binary() -> Path:
    """The pinned pnpm, installed once with npm into the cache."""
    npm = shutil.which("npm")
    version = _node_version()
    if npm is None or version is None or version < _NODE_MIN:
        found = "no Node.js" if version is None else "no npm"
        if version is not None and npm is not None:
            found = f"Node.js {version[0]}.{version[1]}"
        raise StackError(
            f"Prometheus' web UI is built with Node.js >= {_NODE_MIN[0]}.{_NODE_MIN[1]} "
            f"and npm ({found} here; Vite, which builds the UI, needs that Node.js). "
            "Install them (Debian 12's nodejs is too old: use NodeSource's or nvm's) and "
            "run `hypertool stack build` again."
        )
    tools = cache_dir() / "tools" / f"pnpm-{_PNPM_VERSION}"
    binary = tools / "node_modules" / ".bin" / "pnpm"
    with _exclusive(tools):
        if not binary.is_file():
            with _progress(f"pnpm {_PNPM_VERSION} (from npm)"):
                _install_into(tools, lambda scratch: _npm_install_pnpm(npm, scratch))
    return binary


def _npm_install_pnpm(npm: str, scratch: Path) -> None:
    _node_step(
        [
            npm,
            "install",
            f"--prefix={scratch}",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            # pnpm 12 is a native binary that its install script takes from the platform's
            # optional package; a user's npmrc may turn either off.
            "--ignore-scripts=false",
            "--include=optional",
            f"pnpm@{_PNPM_VERSION}",
        ],
        cwd=scratch,
        what=f"installing pnpm {_PNPM_VERSION} with npm",
        retry=_REGISTRY_HINT,
    )
    done = subprocess.run(
        [str(scratch / "node_modules" / ".bin" / "pnpm"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.stdout.strip() != _PNPM_VERSION:
        raise StackError(
            f"npm installed pnpm {_PNPM_VERSION}, but it does not run ({done.stderr.strip()}). "
            "Run `hypertool stack build` again; if it persists, check `npm config get "
            "ignore-scripts` (pnpm's install script must run)."
        )


def _module_source(go: str, module: str) -> Path:
    listing = subprocess.run(
        [go, "mod", "download", "-json", module], capture_output=True, text=True, check=False
    )
    try:
        return Path(json.loads(listing.stdout)["Dir"])
    except (ValueError, KeyError):
        raise StackError(
            f"cannot download {module} through the Go module proxy "
            f"(GOPROXY={os.environ.get('GOPROXY', 'default')}): {listing.stderr.strip()}"
        ) from None


def _alertmanager_into(scratch: Path, go: str, tag: str) -> None:
    """Build the release's module source into ``scratch``, with a placeholder web UI."""
    src = scratch / "src"
    _copy_module(go, f"github.com/prometheus/alertmanager@{tag}", src)
    dist = src / "ui" / "app" / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "index.html").write_text(
        "<!doctype html><title>Alertmanager</title><p>Native hypertool build: the web "
        "UI is not included. Use the API or amtool.</p>"
    )
    flags = _version_ldflags(tag.lstrip("v"), f"module-{tag}")
    run_command(
        [
            go,
            "build",
            f"-ldflags={flags}",
            "-o",
            f"{scratch}/",
            "./cmd/alertmanager",
            "./cmd/amtool",
        ],
        cwd=src,
    )
    shutil.rmtree(src)


def build_alertmanager(root: Path) -> Path:
    """Build Alertmanager and amtool at the compose-pinned release.

    The release's module embeds its web UI from ``ui/app/dist``, which is built by npm
    and not part of the module, so ``go install`` fails. We build the same module source
    with a one-page placeholder there: the API and amtool are the release's own.
    """
    final = alertmanager_dir(root)
    tag = final.name
    with _exclusive(final):
        if _current(final, "alertmanager", "amtool"):
            _log(f"alertmanager {tag} is current: {final}")
            return final
        go = go_binary()
        with _progress(f"alertmanager and amtool {tag}"):
            _install_into(final, lambda scratch: _alertmanager_into(scratch, go, tag))
    _log(f"alertmanager: {final}")
    return final


def build_all(root: Path) -> Binaries:
    """Build whatever is not current yet; cheap when everything is cached."""
    started = time.monotonic()
    _log(f"checking the collector, Prometheus and Alertmanager in {cache_dir()}")
    build_collector(root)
    build_prometheus(root)
    build_alertmanager(root)
    _log(f"all binaries are ready ({_elapsed(started)})")
    return binaries(root)


def composecheck_path(root: Path) -> Path:
    """The cached compose validator, keyed by the content of its Go sources."""
    digest = hashlib.sha256()
    for name in _COMPOSECHECK_SOURCES:
        digest.update(f"{name}\0".encode() + (root / COMPOSECHECK / name).read_bytes())
    return cache_dir() / "composecheck" / digest.hexdigest()[:16] / "composecheck"


def build_composecheck(root: Path) -> Path:
    """Build scripts/composecheck, compose-go's loader as a command, unless it is cached."""
    target = composecheck_path(root)
    with _exclusive(target.parent):
        if target.is_file():
            return target
        go = go_binary()
        argv = [go, "build", "-trimpath", "-buildvcs=false", "-o"]
        with _progress("composecheck (compose-go)"):
            _install_into(
                target.parent,
                lambda scratch: run_command(
                    [*argv, str(scratch / target.name), "."], cwd=root / COMPOSECHECK
                ),
            )
    return target


def thanos_version(root: Path) -> str:
    """The Thanos release that scripts/thanos/go.mod requires, e.g. ``v0.42.5``."""
    text = (root / THANOS / "go.mod").read_text()
    pattern = rf"^\s*(?:require\s+)?{re.escape(_THANOS_MODULE)}\s+(v\S+)"
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise StackError(f"{root / THANOS / 'go.mod'}: it must require {_THANOS_MODULE}")
    return match.group(1)


def thanos_path(root: Path) -> Path:
    """The cached Thanos binary, keyed by the wrapper's go.mod and go.sum and the tags."""
    digest = hashlib.sha256(f"tags={_THANOS_TAGS}\0".encode())
    for name in _THANOS_SOURCES:
        digest.update(f"{name}\0".encode() + (root / THANOS / name).read_bytes())
    return cache_dir() / "thanos" / digest.hexdigest()[:16] / "thanos"


def build_thanos(root: Path) -> Path:
    """Build Thanos (one binary: receive, query, rule, ...) unless it is cached.

    Thanos' go.mod has replace directives, so ``go install ...@version`` refuses it.
    scripts/thanos is a module that requires the release, repeats its replace block and
    names its command as a tool; the build runs there, with the release's build tags, on
    the toolchain that go.mod asks for (GOTOOLCHAIN=auto fetches it through the module
    proxy). Not part of ``build_all``: only the scale-out stack runs Thanos, and a cold
    build takes minutes.
    """
    target = thanos_path(root)
    with _exclusive(target.parent):
        if target.is_file():
            _log(f"thanos is current: {target}")
            return target
        tag = thanos_version(root)
        go = go_binary()
        flags = _version_ldflags(tag.lstrip("v"), f"module-{tag}")
        argv = [go, "build", "-trimpath", "-buildvcs=false", f"-tags={_THANOS_TAGS}"]
        argv += [f"-ldflags={flags}", "-o"]
        with _progress(f"thanos {tag}"):
            _install_into(
                target.parent,
                lambda scratch: run_command(
                    [*argv, str(scratch / target.name), f"{_THANOS_MODULE}/cmd/thanos"],
                    cwd=root / THANOS,
                ),
            )
    _log(f"thanos: {target}")
    return target
