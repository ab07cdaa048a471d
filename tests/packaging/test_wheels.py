"""The two wheels, built and installed into a fresh venv outside the checkout.

The library wheel must hold only what runs in an agent process and need only
OpenTelemetry; the tools wheel must give a working ``hypertool`` command that says
clearly when it needs the repository's config files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest

from tests.conftest import free_ports

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
#: Every module of the library: emitting code only.
AGENT_MODULES = {
    "__init__",
    "_budgets",
    "_delivery",  # the exporter that names each export and keeps failed ones in the spool
    "_guard",
    "_instruments",
    "_llm",
    "_persona",
    "_pricing",
    "_spans",
    "_spool",
    "_spools",
    "_sums",
    "_telemetry",
    "_workflow",
    "errors",
    "names",
    "testing",
}


@dataclass
class Installed:
    """A fresh venv, in a folder that is not a checkout, and the wheels built for it."""

    venv: Path
    cwd: Path
    agent_wheel: Path
    tools_wheel: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run a program of the venv from outside the checkout, HYPERTOOL_HOME unset."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("HYPERTOOL_", "OTEL_"))}
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=self.cwd,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def pip_install(self, *wheels: Path) -> None:
        """Install wheels and their dependencies from the package index."""
        result = self.run("python", "-m", "pip", "install", "--quiet", *map(str, wheels))
        assert result.returncode == 0, result.stderr


def build_wheel(package: str, dist: Path) -> Path:
    """The wheel of ``packages/<package>``, built into ``dist`` from a copy of its source."""
    # setuptools builds in the source folder (build/, *.egg-info): keep the checkout clean.
    source = str(dist / f"src-{package}")
    shutil.copytree(ROOT / "packages" / package, source)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    subprocess.run([*pip_wheel, "-w", str(dist), source], check=True, timeout=300)
    name = "hypertool_agent" if package == "agent" else "hypertool"
    return next(dist.glob(f"{name}-*.whl"))


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The library's and the tools' wheels."""
    dist = tmp_path_factory.mktemp("dist")
    return build_wheel("agent", dist), build_wheel("tools", dist)


def fresh_venv(tmp_path_factory: pytest.TempPathFactory, wheels: tuple[Path, Path]) -> Installed:
    """A new venv with nothing installed, in a folder that is not a checkout."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    return Installed(venv, tmp_path_factory.mktemp("elsewhere"), *wheels)


@pytest.fixture(scope="module")
def library_only(tmp_path_factory: pytest.TempPathFactory, wheels: tuple[Path, Path]) -> Installed:
    """A fresh venv with the library wheel alone."""
    venv = fresh_venv(tmp_path_factory, wheels)
    venv.pip_install(venv.agent_wheel)
    return venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, wheels: tuple[Path, Path]) -> Installed:
    """A fresh venv with both wheels."""
    venv = fresh_venv(tmp_path_factory, wheels)
    venv.pip_install(venv.agent_wheel, venv.tools_wheel)
    return venv


def _metadata(wheel: Path) -> tuple[set[str], list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(meta_name).decode())
    return names, metadata.get_all("Requires-Dist") or []


def test_the_library_wheel_holds_only_emitting_modules(wheels: tuple[Path, Path]) -> None:
    """hypertool_agent's wheel: its emit modules and py.typed, OpenTelemetry-only deps."""
    names, requires = _metadata(wheels[0])
    code = {n for n in names if not n.startswith("hypertool_agent-")}
    assert code == {f"hypertool_agent/{m}.py" for m in AGENT_MODULES} | {"hypertool_agent/py.typed"}
    required = [r for r in requires if "extra ==" not in r]
    assert required
    assert all(r.startswith("opentelemetry-") for r in required), required
    assert [r.split(";")[0].strip() for r in requires if "extra ==" in r] == ["PyYAML>=6"]


def test_the_library_alone_imports_no_yaml_and_no_tools(library_only: Installed) -> None:
    """With only the library installed: no hypertool command, no YAML, a clear YAML error."""
    assert not (library_only.venv / "bin" / "hypertool").exists()
    probe = (
        "import sys, hypertool_agent\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'yaml', 'hypertool_tools'}))\n"
        "open('b.yaml', 'w').write('budgets: []')\n"
        "try:\n"
        "    hypertool_agent.load_budgets('b.yaml')\n"
        "except hypertool_agent.ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    result = library_only.run("python", "-c", probe)
    assert result.returncode == 0, result.stderr
    loaded, error = result.stdout.splitlines()
    assert loaded == "[]"
    assert "pip install 'hypertool-agent[yaml]'" in error


def test_the_tools_wheel_runs_the_demo_outside_a_checkout(installed: Installed) -> None:
    """`hypertool demo` needs no checkout: it runs and exits promptly with no collector."""
    (closed,) = free_ports(1)
    result = installed.run(
        "hypertool",
        "demo",
        "--workflow",
        "package_release",
        "--exact",
        "--json",
        "--stage-seconds",
        "0",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed}",
        HYPERTOOL_SHUTDOWN_TIMEOUT="0.5",
    )
    assert result.returncode == 0, result.stderr
    # The design note's reference run: 2000 - 850, 1500 - 650, 1800 - 550.
    remaining = json.loads(result.stdout)["budget_remaining"]
    assert remaining == {
        "backend-engineer": 1150,
        "testing-specialist": 850,
        "devops-engineer": 1250,
    }


@pytest.mark.parametrize(
    "command",
    [["stack", "up"], ["stack", "build"], ["render", "--check"], ["budgets", "render"]],
)
def test_commands_that_need_the_configs_say_so(installed: Installed, command: list[str]) -> None:
    """Outside a checkout, config-bound commands exit 2 and say how to point at one."""
    result = installed.run("hypertool", *command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "HYPERTOOL_HOME" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_installed_command_works_on_a_checkout_named_by_hypertool_home(
    installed: Installed,
) -> None:
    """With HYPERTOOL_HOME set, the installed command checks the checkout's generated files."""
    result = installed.run("hypertool", "render", "--check", HYPERTOOL_HOME=str(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_library_alone_prices_calls_at_your_price_and_carries_no_table(
    library_only: Installed,
) -> None:
    """With only the library: your prices work, list prices are the collector's alone."""
    probe = (
        "import importlib.util, hypertool_agent\n"
        "print(importlib.util.find_spec('genai_prices') is None)\n"
        "usage = hypertool_agent.Usage(1_000_000, 1_000_000)\n"
        "own = hypertool_agent.PriceTable({'house-model': hypertool_agent.Price(0.15, 0.60)})\n"
        "listed = hypertool_agent.PriceTable().cost('gpt-4o-mini', usage)\n"
        "print(own.cost('house-model', usage), listed)\n"
    )
    result = library_only.run("python", "-c", probe)
    assert result.returncode == 0, result.stderr
    absent, costs = result.stdout.splitlines()
    assert absent == "True"
    own, listed = costs.split()
    assert float(own) == pytest.approx(0.15 + 0.60)
    assert listed == "None"
