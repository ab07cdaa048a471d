"""The ``hypertool`` command: ``demo``, ``stack build|up|down|status``, ``spool`` and ``render``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

#: Verbs older than `hypertool render` that the docs name (`hypertool budgets render`): each
#: runs only the renderer of that name.
_ALIASES = {"budgets": "fleet-wide token budgets", "dashboards": "Grafana dashboards"}


def _path_option(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], flag: str, help_text: str
) -> None:
    """The same path option on every action of a command."""
    for action in actions.choices.values():
        action.add_argument(flag, type=Path, default=None, help=help_text)


def _stack_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from hypertool_tools.stack.launcher import PORT_LABELS, Ports

    stack = sub.add_parser("stack", help="run the collector, Prometheus and Alertmanager natively")
    actions = stack.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="build the native binaries (cached; Go >= 1.21)")
    build.add_argument(
        "--scale-out",
        action="store_true",
        help="also build Thanos, which the scale-out stack runs (minutes, once)",
    )
    up = actions.add_parser("up", help="start the stack on loopback and wait until healthy")
    actions.add_parser("down", help="stop the stack")
    actions.add_parser("status", help="show each service's state")
    _path_option(actions, "--state-dir", "data, logs and pids (default: ~/.cache/hypertool/stack)")
    defaults = Ports()
    for f in fields(Ports):
        up.add_argument(
            f"--{f.name.replace('_', '-')}-port",
            dest=f.name,
            type=int,
            default=None,
            help=f"{PORT_LABELS[f.name]} (default {getattr(defaults, f.name)})",
        )
    up.add_argument(
        "--scrape-interval", default=None, help="override prometheus.yml's scrape interval, e.g. 1s"
    )
    up.add_argument(
        "--evaluation-interval",
        default=None,
        help="override prometheus.yml's rule evaluation interval, e.g. 1s",
    )


def _spool_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    spool = sub.add_parser(
        "spool", help="exports the collector could not take yet, kept on this host (per user)"
    )
    actions = spool.add_subparsers(dest="action", required=True)
    status = actions.add_parser("status", help="what waits, per endpoint")
    status.add_argument("--json", action="store_true", help="print it as JSON")
    actions.add_parser("drain", help="send everything waiting now; exit 3 if some still waits")
    _path_option(
        actions,
        "--dir",
        "the spool (default: $HYPERTOOL_SPOOL_DIR, else ~/.local/state/hypertool/spool)",
    )


def _spool(args: argparse.Namespace) -> int:
    import json

    from hypertool_agent import drain_spool, spool_status

    if args.action == "drain":
        results = drain_spool(args.dir)
        for before, result in results:
            state = "refused, stopped" if result.failed else "done"
            print(f"{before.endpoint}: sent {result.sent} files, {result.waiting} wait ({state})")
        if not results:
            print("nothing waits")
        return 3 if any(r.waiting for _, r in results) else 0
    statuses = spool_status(args.dir)
    if args.json:
        rows = [{**vars(s), "directory": str(s.directory)} for s in statuses]
        print(json.dumps(rows, indent=2))
        return 0
    for s in statuses:
        age = "" if s.oldest_age_s is None else f", oldest {s.oldest_age_s:.0f} s"
        print(
            f"{s.endpoint}: {s.files} files, {s.points} points, {s.bytes} bytes{age}, "
            f"{s.dropped_pending} dropped measurements to report ({s.directory})"
        )
    if not statuses:
        print("nothing waits")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hypertool", description="hypertool observability for multi-persona LLM agents"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    from hypertool_tools.demo.workflows import WORKFLOWS

    demo = sub.add_parser(
        "demo",
        help="send three demo workflows (package release, feature, bug fix) to the OTLP endpoint",
    )
    demo.add_argument(
        "--workflow",
        action="append",
        choices=sorted(WORKFLOWS),
        help="run only this workflow (repeatable; default: all three)",
    )
    demo.add_argument(
        "--exact",
        action="store_true",
        help="fixed numbers (the design note's reference run): no variation, no random failures",
    )
    demo.add_argument("--count", type=int, default=1, help="runs of each workflow (default 1)")
    demo.add_argument(
        "--loop",
        type=float,
        metavar="SECONDS",
        default=None,
        help="run until interrupted, pausing SECONDS between rounds",
    )
    demo.add_argument(
        "--seed", type=int, default=None, help="random-number seed, for repeatable varied runs"
    )
    demo.add_argument(
        "--stage-seconds", type=float, default=0.5, help="simulated work per stage (default 0.5)"
    )
    demo.add_argument("--fail-stage", default=None, help="make this stage's quality gate fail")
    demo.add_argument(
        "--json", action="store_true", help="print what was emitted as JSON instead of the summary"
    )
    _stack_parser(sub)
    _spool_parser(sub)
    render = sub.add_parser(
        "render",
        help="write the budget rules, dashboards and collector config from their sources",
    )
    render.add_argument(
        "--check", action="store_true", help="only check that every file is current (exit 1 if not)"
    )
    for command, what in _ALIASES.items():
        alias = sub.add_parser(command, help=f"{what} (`render` is part of `hypertool render`)")
        action = alias.add_subparsers(dest="action", required=True).add_parser(
            "render", help=f"run only the {command} renderer of `hypertool render`"
        )
        action.add_argument(
            "--check", action="store_true", help="only check that it is current (exit 1 if not)"
        )
    return parser


def _stack(args: argparse.Namespace) -> int:
    from hypertool_tools.stack.build import build_all, build_thanos, cache_dir, project_root
    from hypertool_tools.stack.launcher import Ports, Stack

    root = project_root()
    if args.action == "build":
        build_all(root)
        if args.scale_out:
            build_thanos(root)
        return 0
    state_dir = args.state_dir or cache_dir() / "stack"
    if args.action == "up":
        ports = Ports.from_env(**{f.name: getattr(args, f.name) for f in fields(Ports)})
        stack = Stack(root, state_dir, ports, args.scrape_interval, args.evaluation_interval)
        stack.up()
        print("hypertool stack is up and healthy:")
        for name, url in stack.endpoints().items():
            print(f"  {name:42} {url}")
        print(f"Point agents at it: export OTEL_EXPORTER_OTLP_ENDPOINT={stack.otlp_grpc_endpoint}")
        print(f"Logs and data: {state_dir}")
        return 0
    stack = Stack.from_state(root, state_dir)
    if args.action == "down":
        stopped = stack.down()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    report = stack.status()
    for name, state in report.items():
        print(f"  {name:12} {state}")
    return 0 if all(s.startswith("healthy") for s in report.values()) else 3


def _render(args: argparse.Namespace) -> int:
    from hypertool_tools.render import RENDERERS
    from hypertool_tools.stack.build import project_root

    root = project_root()
    selected = [r for r in RENDERERS if args.command in {"render", r.name}]
    width = max(len(str(r.target)) for r in selected)
    stale = False
    for renderer in selected:
        current = renderer.render(root, check=args.check)
        stale |= not current
        if current:
            state = "current"
        elif args.check:
            state = "stale"
        else:
            state = f"rendered from {renderer.source}; {renderer.apply}"
        print(f"{renderer.target!s:{width}}  {state}")
    if args.check and stale:
        print("Run `hypertool render` to update the stale files.")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hypertool`` console script."""
    from hypertool_agent import ConfigurationError
    from hypertool_tools.stack.build import StackError

    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from hypertool_tools.demo.workflows import WORKFLOWS, run_demo

            run_demo(
                args.workflow or list(WORKFLOWS),
                stage_seconds=args.stage_seconds,
                exact=args.exact,
                fail_stage=args.fail_stage,
                count=args.count,
                loop_interval=args.loop,
                seed=args.seed,
                as_json=args.json,
                out=sys.stdout,
            )
            return 0
        if args.command in {"render", *_ALIASES}:
            return _render(args)
        if args.command == "spool":
            return _spool(args)
        return _stack(args)
    except (StackError, ConfigurationError) as exc:
        print(f"hypertool: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
