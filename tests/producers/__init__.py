"""Real foreign GenAI producers the end-to-end tests run: pinned versions, paths, runners."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class NpmCli:
    """A command-line producer from npm, at the version pinned beside this file.

    ``tests/producers/<name>.version`` is the one place its version is set: the set-up's
    ``ensure_<...>`` function (scripts/lib/coding-agents.sh) installs that version into
    ``${HYPERTOOL_CACHE:-~/.cache/hypertool}/npm/<name>-<version>/``, and the tests run
    the binary there.
    """

    name: str
    command: str
    #: The set-up function that installs it, for the failure message.
    ensure: str

    @property
    def version_file(self) -> Path:
        """Where its version is pinned."""
        return HERE / f"{self.name}.version"

    @property
    def install_hint(self) -> str:
        """How to install it, for failure messages."""
        return (
            f"install it with `bash -c 'source scripts/lib/setup.sh; {self.ensure}'` "
            "(scripts/test does this), which needs npm"
        )

    def version(self) -> str:
        """The pinned version."""
        return self.version_file.read_text().strip()

    def install_dir(self) -> Path:
        """Where the set-up installs the pinned version."""
        cache = os.environ.get("HYPERTOOL_CACHE") or str(Path.home() / ".cache" / "hypertool")
        return Path(cache) / "npm" / f"{self.name}-{self.version()}"

    def binary(self) -> Path:
        """Its command, at the pinned version (it may not be installed)."""
        return self.install_dir() / "node_modules" / ".bin" / self.command


def clean_env(home: Path) -> dict[str, str]:
    """A command-line producer's environment, before its own settings.

    Nothing inherited but PATH; a throwaway HOME (its settings); loopback (the fake
    provider, the collector) never proxied.
    """
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
    }


def otel_env(
    persona: str | None,
    resource_attributes: Mapping[str, str] | None = None,
    temporality: str | None = None,
) -> dict[str, str]:
    """The standard variables naming a producer's persona and its metrics' temporality.

    Empty where nothing is given; other resource attributes join the persona.
    """
    env: dict[str, str] = {}
    attributes = dict(resource_attributes or {})
    if persona:
        attributes["hypertool.persona.name"] = persona
    if attributes:
        env["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(f"{k}={v}" for k, v in attributes.items())
    if temporality:
        env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] = temporality
    return env


def run_checked(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a producer to its end (bounded); raise with the tail of its output if it failed."""
    completed = subprocess.run(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{Path(argv[0]).name} exited {completed.returncode}\n"
            f"stdout: {completed.stdout[-2000:]}\nstderr: {completed.stderr[-4000:]}"
        )
    return completed
