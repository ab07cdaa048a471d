"""Runs every benchmark and prints the results table of BENCHMARKS.md.

scripts/bench            # everything, about thirty minutes on 2 cores
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import (
    alert_latency,
    collector_limit,
    crash,
    flood,
    hotpath,
    pipeline,
    pricing,
    scale,
)
from tests.conftest import running_stack

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run, print a Markdown table, and keep the raw figures in bench/results.json."""
    results: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "cpu_count": __import__("os").cpu_count(),
            "platform": platform.platform(),
        }
    }
    print("hot path ...", file=sys.stderr, flush=True)
    results["hotpath_ns_per_op"] = hotpath.run()
    print("price lookup in the collector ...", file=sys.stderr, flush=True)
    results["collector_price_lookup_us_per_point"] = pricing.run()
    print("collector against a passthrough (telemetrygen) ...", file=sys.stderr, flush=True)
    results["collector_limit"] = collector_limit.run()
    print("collector profile under that load ...", file=sys.stderr, flush=True)
    results["collector_profile_percent"] = {
        signal: collector_limit.profile(signal) for signal in collector_limit.SIGNALS
    }
    print("flood ...", file=sys.stderr, flush=True)
    results["flood"] = flood.run_all()
    print("collector crashes ...", file=sys.stderr, flush=True)
    results["crash_loss"] = crash.run()
    print("budget crossed to notification ...", file=sys.stderr, flush=True)
    results["alert_latency"] = alert_latency.run()
    print("exit latency ...", file=sys.stderr, flush=True)
    results["exit_latency"] = pipeline.exit_latency()
    with tempfile.TemporaryDirectory() as tmp:
        with running_stack(Path(tmp) / "test-settings") as native:
            stack, prom = native.stack, native.prometheus
            print("export cost ...", file=sys.stderr, flush=True)
            results["export_cost"] = pipeline.export_cost(stack)
            print("freshness (1 s scrape) ...", file=sys.stderr, flush=True)
            results["freshness_test_settings"] = pipeline.freshness(stack, prom, 20, 1.0)
            print("collector throughput ...", file=sys.stderr, flush=True)
            results["throughput_spans"] = pipeline.throughput(stack, prom)
            results["throughput_points"] = pipeline.points_throughput(stack, prom)
        with running_stack(Path(tmp) / "compose-defaults", interval=None) as native:
            stack, prom = native.stack, native.prometheus
            print("freshness (compose defaults, 15 s scrape) ...", file=sys.stderr, flush=True)
            results["freshness_compose_defaults"] = pipeline.freshness(stack, prom, 10, 15.0)
    print("scale curve ...", file=sys.stderr, flush=True)
    results["scale"] = scale.run()
    scale.plot(results["scale"], ROOT / "bench" / "scale.png")  # type: ignore[arg-type]
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(goals(results))
    print(table(results))
    print(scale.table(results["scale"]))  # type: ignore[arg-type]
    return 0


def goals(r: dict[str, Any]) -> str:
    """Each goal of BENCHMARKS.md beside the value this run measured."""
    hp = r["hotpath_ns_per_op"]
    record = hp["hypertool"]["record_token_usage"] / hp["prometheus_client"]["record_token_usage"]
    limit, alert, exits = r["collector_limit"], r["alert_latency"], r["exit_latency"]
    scale_points = r["scale"]["points"]
    exact = all(p["tokens_counted"] == p["tokens_emitted"] for p in scale_points)
    rows = [
        ("`record_token_usage` / prometheus_client", "≤ 0.2", f"{record:.2f}"),
        ("collector points/s / passthrough", "≥ 0.8", f"{limit['metrics']['ratio']:.2f}"),
        ("collector spans/s / passthrough", "≥ 0.8", f"{limit['traces']['ratio']:.2f}"),
        ("budget crossed to webhook, p95", "≤ 30 s", f"{alert['p95_seconds']:.1f} s"),
        (
            "exit added, collector refusing",
            "≤ 0.1 s",
            f"{exits['refused']['hypertool_added_s']:.2f} s",
        ),
        (
            "exit added, collector not answering",
            "≈ 1 s (the bound)",
            f"{exits['unresponsive']['hypertool_added_s']:.2f} s",
        ),
        (
            "agents' tokens counted under a flood, 40 MiB limit",
            "≥ 99 %",
            f"{r['flood']['limit_40_mib']['normal_counted_share']:.0%}",
        ),
        (
            "scale curve: tokens counted = emitted at every point",
            "yes",
            "yes" if exact else "no",
        ),
    ]
    lines = ["| goal | target | measured |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {target} | **{value}** |" for name, target, value in rows]
    return "\n".join(lines)


def table(r: dict[str, object]) -> str:
    """The results as the Markdown table of BENCHMARKS.md."""
    hp: dict[str, dict[str, float]] = r["hotpath_ns_per_op"]  # type: ignore[assignment]
    lines = [
        "| operation | hypertool ns/op | raw OTel ns/op | prometheus_client ns/op | "
        "hypertool / raw OTel | hypertool / prometheus_client |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for op in hp["hypertool"]:
        h, o, p = hp["hypertool"][op], hp["raw_otel"][op], hp["prometheus_client"][op]
        lines.append(f"| `{op}` | {h:,.0f} | {o:,.0f} | {p:,.0f} | {h / o:.2f} | {h / p:.2f} |")
    floor = hp["plain_dict"]["record_token_usage"]
    lines.append(f"| the floor: a dict add keyed by the label tuple | {floor:,.0f} | | | | |")
    return (
        "\n".join(lines)
        + "\n\n```json\n"
        + json.dumps(
            {k: v for k, v in r.items() if k not in ("hotpath_ns_per_op", "scale")}, indent=2
        )
        + "\n```"
    )


if __name__ == "__main__":
    sys.exit(main())
