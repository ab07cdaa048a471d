"""Scale curve: series, collector and Prometheus memory as the fleet grows.

Two sweeps, each point on a fresh native stack (1 s scrape): agent processes 10, 100 and
1,000 with 10 personas, then personas 10, 100 and 1,000 with 100 agent processes. Each
agent process is the real library, short-lived and exporting at exit: it switches into
each persona of its share and records a known number of tokens for it, so that together
the processes use every persona. At most CONCURRENCY run at once, as a fleet of short
jobs would: 1,000 interpreters importing OpenTelemetry at once would measure the CPU
queue, not the stack.

Both the agents' and the collector's bound on distinct label values
(HYPERTOOL_MAX_LABEL_VALUES) are raised to twice the persona count, never below the
default, so that every persona is a series of its own rather than folded into "other";
the folded points are reported and should be 0. The collector's and Prometheus' RSS are
sampled from /proc every 100 ms from before the first agent starts until the measurement;
after the last agent exits, the figures are read once Prometheus counts every token
emitted and its series count has stopped moving.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.flood import PeakRss, cpu_seconds, rss_mib
from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, PrometheusClient, running_stack

ROOT = Path(__file__).resolve().parents[1]
AGENT_COUNTS = (10, 100, 1000)
PERSONA_COUNTS = (10, 100, 1000)
FIXED_PERSONAS = 10
FIXED_AGENTS = 100
#: Agent processes alive at once: enough to overlap their exports on 2 cores.
CONCURRENCY = 50
#: Unchanged series counts, a second apart, before the figures are read.
STEADY_SCRAPES = 3
JOB = f'job="{c.JOB_COLLECTOR_EXPORTER}"'
TOKENS = c.TOKENS_USED.prometheus_name
AGENT = """
    import os
    from hypertool_agent import PersonaMetricsCollector
    collector = PersonaMetricsCollector()
    tokens = int(os.environ["TOKENS"])
    previous = None
    for persona in os.environ["PERSONAS"].split(","):
        collector.switch_persona(previous, persona, "scale")
        collector.record_token_usage(persona, "scale", "gpt-4o", tokens)
        previous = persona
"""


@dataclass
class _Agent:
    """One agent process's share of the personas and the tokens it records for each."""

    personas: list[str]
    tokens: int

    @property
    def total(self) -> int:
        return len(self.personas) * self.tokens


def _fleet(agents: int, personas: int) -> list[_Agent]:
    # Round robin over the larger of the two counts: with more personas than processes
    # each persona is used once; with fewer, each process uses one and all are used.
    names = [f"scale-{j % personas}" for j in range(max(agents, personas))]
    return [_Agent(names[i::agents], 100 + i % 50) for i in range(agents)]


def label_bound(personas: int) -> int:
    """HYPERTOOL_MAX_LABEL_VALUES for ``personas``: room for all of them and "none"."""
    return max(n.MAX_LABEL_VALUES, 2 * personas)


def _run_agent(native: NativeStack, agent: _Agent, bound: int) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(AGENT)],
        env=native.agent_env(
            PERSONAS=",".join(agent.personas),
            TOKENS=str(agent.tokens),
            HYPERTOOL_MAX_LABEL_VALUES=str(bound),
            PYTHONWARNINGS="ignore",
        ),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return done.returncode, done.stderr[-2000:]


def _run_fleet(
    native: NativeStack, fleet: list[_Agent], bound: int, concurrency: int
) -> tuple[int, int, str]:
    """Tokens emitted by the processes that exited 0, how many did, and a failure's stderr."""
    with ThreadPoolExecutor(concurrency) as pool:
        outcomes = list(pool.map(lambda a: _run_agent(native, a, bound), fleet))
    emitted = sum(a.total for a, (code, _) in zip(fleet, outcomes, strict=True) if code == 0)
    ok = sum(code == 0 for code, _ in outcomes)
    failure = next((err for code, err in outcomes if code != 0), "")
    return emitted, ok, failure


def _value(prometheus: PrometheusClient, promql: str) -> float:
    result = prometheus.query(promql)
    return result[0].value if result else 0.0


def _settle(prometheus: PrometheusClient, emitted: int, timeout: float = 120) -> float:
    """Wait for every token, then for the series count to hold for a few scrapes."""
    started = time.monotonic()
    prometheus.wait_for(
        f"sum({TOKENS}{{{JOB}}})",
        lambda s: bool(s) and s[0].value >= emitted,
        timeout=timeout,
    )
    # Span-derived series (time in persona) come through a connector, after the tokens.
    series, steady = -1.0, 0
    deadline = time.monotonic() + timeout
    while steady < STEADY_SCRAPES and time.monotonic() < deadline:
        time.sleep(1)
        now = _value(prometheus, 'count({__name__=~"hypertool_.+"})')
        steady = steady + 1 if now == series else 0
        series = now
    return time.monotonic() - started


@contextmanager
def _sampled(native: NativeStack) -> Iterator[dict[str, PeakRss]]:
    pids = {name: native.stack.pid(name) for name in ("collector", "prometheus")}
    samplers = {name: PeakRss(pid).start() for name, pid in pids.items() if pid is not None}
    try:
        yield samplers
    finally:
        for sampler in samplers.values():
            sampler.stop()


def _counted(prometheus: PrometheusClient) -> dict[str, float]:
    """What Prometheus holds once the fleet has settled."""
    queries = {
        "series_hypertool": 'count({__name__=~"hypertool_.+"})',
        "series_tokens": f"count({TOKENS}{{{JOB}}})",
        "series_prometheus_head": "prometheus_tsdb_head_series",
        "tokens_counted": f"sum({TOKENS}{{{JOB}}})",
        "folded_points": f"sum({c.PIPELINE_FOLDED_POINTS.prometheus_name}{{{JOB}}})",
    }
    return {key: _value(prometheus, promql) for key, promql in queries.items()}


def _memory(rss: dict[str, PeakRss]) -> dict[str, float]:
    """Each process's RSS now, and its peak including now (a sample is up to 100 ms old)."""
    figures = {}
    for name, sampler in rss.items():
        end = rss_mib(sampler.pid)
        figures[f"{name}_rss_end_mib"] = round(end, 1)
        figures[f"{name}_peak_rss_mib"] = round(max(sampler.mib, end), 1)
    return figures


def point(agents: int, personas: int, concurrency: int = CONCURRENCY) -> dict[str, Any]:
    """One fleet on a fresh stack: its series, memory, CPU and tokens counted."""
    bound = label_bound(personas)
    limits = {"HYPERTOOL_MAX_LABEL_VALUES": str(bound)}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp) / "scale", "1s", collector_env=limits) as native,
        _sampled(native) as rss,
    ):
        collector = rss["collector"].pid
        idle = rss_mib(collector)
        cpu_before = cpu_seconds(collector)
        started = time.monotonic()
        emitted, ok, failure = _run_fleet(native, _fleet(agents, personas), bound, concurrency)
        agents_seconds = time.monotonic() - started
        settle_seconds = _settle(native.prometheus, emitted)
        cpu = cpu_seconds(collector) - cpu_before
        counted, memory = _counted(native.prometheus), _memory(rss)
    return {
        "agents": agents,
        "personas": personas,
        "max_label_values": bound,
        "concurrency": concurrency,
        "agent_processes_exited_0": ok,
        **({"agent_failure": failure} if failure else {}),
        "tokens_emitted": emitted,
        **counted,
        "collector_idle_rss_mib": round(idle, 1),
        **memory,
        "collector_cpu_seconds": round(cpu, 2),
        "agents_wall_seconds": round(agents_seconds, 1),
        "settle_wall_seconds": round(settle_seconds, 1),
    }


def run(
    agent_counts: Sequence[int] = AGENT_COUNTS,
    persona_counts: Sequence[int] = PERSONA_COUNTS,
    fixed_personas: int = FIXED_PERSONAS,
    fixed_agents: int = FIXED_AGENTS,
    concurrency: int = CONCURRENCY,
) -> dict[str, Any]:
    """Both sweeps; a point they share (100 agents, 10 personas) is run once."""
    wanted = [(a, fixed_personas) for a in agent_counts]
    wanted += [(fixed_agents, p) for p in persona_counts]
    points = []
    for agents, personas in dict.fromkeys(wanted):
        print(f"scale: {agents} agents, {personas} personas ...", file=sys.stderr, flush=True)
        points.append(point(agents, personas, concurrency))
    return {
        "agent_sweep": {"personas": fixed_personas, "agents": list(agent_counts)},
        "persona_sweep": {"agents": fixed_agents, "personas": list(persona_counts)},
        "scrape_interval": "1s",
        "points": points,
    }


def _sweeps(results: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]], str]]:
    """Each sweep's label, its points in order, and the key its x axis reads."""
    by_key = {(p["agents"], p["personas"]): p for p in results["points"]}
    a, p = results["agent_sweep"], results["persona_sweep"]
    return [
        (
            f"agent processes ({a['personas']} personas)",
            [by_key[(x, a["personas"])] for x in a["agents"]],
            "agents",
        ),
        (
            f"personas ({p['agents']} agent processes)",
            [by_key[(p["agents"], x)] for x in p["personas"]],
            "personas",
        ),
    ]


def plot(results: dict[str, Any], path: Path) -> None:
    """Three panels against fleet size: series, collector peak RSS, Prometheus peak RSS."""
    import matplotlib as mpl

    mpl.use("Agg")  # no display: the PNG is the product
    import matplotlib.pyplot as plt

    panels = [
        ("series_hypertool", "hypertool_* series in Prometheus"),
        ("collector_peak_rss_mib", "collector peak RSS (MiB)"),
        ("prometheus_peak_rss_mib", "Prometheus peak RSS (MiB)"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 4), layout="constrained")
    for ax, (key, title) in zip(axes, panels, strict=True):
        for label, points, x in _sweeps(results):
            ax.plot([q[x] for q in points], [q[key] for q in points], "o-", label=label)
        ax.set_xscale("log")
        ax.set_xticks([10, 100, 1000], ["10", "100", "1,000"])
        ax.set_xlabel("fleet size (log scale)")
        ax.set_title(title)
        ax.grid(visible=True, alpha=0.3)
        if key == "series_hypertool":
            ax.set_yscale("log")  # personas multiply series; a log axis keeps both sweeps
        else:
            ax.set_ylim(bottom=0)
    axes[0].legend(loc="upper left", fontsize="small")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results: dict[str, Any]) -> str:
    """The points as a Markdown table for BENCHMARKS.md."""
    lines = [
        "| agent processes | personas | hypertool series | token series | tokens emitted "
        "| tokens counted | collector peak RSS MiB | collector CPU s | Prometheus peak RSS MiB "
        "| wall s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in results["points"]:
        wall = p["agents_wall_seconds"] + p["settle_wall_seconds"]
        lines.append(
            f"| {p['agents']:,} | {p['personas']:,} | {p['series_hypertool']:,.0f} "
            f"| {p['series_tokens']:,.0f} | {p['tokens_emitted']:,} "
            f"| {p['tokens_counted']:,.0f} | {p['collector_peak_rss_mib']:,.0f} "
            f"| {p['collector_cpu_seconds']:.2f} | {p['prometheus_peak_rss_mib']:,.0f} "
            f"| {wall:.0f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sweeps (or one point), print JSON and the table, and render the plot."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only 10 agents, 10 personas")
    parser.add_argument(
        "--point", nargs=2, type=int, metavar=("AGENTS", "PERSONAS"), help="only this point"
    )
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--png", type=Path, help="default: bench/scale.png for the full run")
    args = parser.parse_args(argv)
    only: tuple[int, int] | None = (10, 10) if args.quick else args.point
    if only is None:
        results = run(concurrency=args.concurrency)
        png: Path | None = args.png or ROOT / "bench" / "scale.png"
    else:
        agents, personas = only
        results = run((agents,), (personas,), personas, agents, args.concurrency)
        png = args.png
    print(json.dumps(results, indent=2))
    print(table(results))
    if png is not None:
        plot(results, png)
        print(f"plot: {png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
