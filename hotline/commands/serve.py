"""``hotline serve [--demo]``: run Hotline until SIGINT / SIGTERM."""

from __future__ import annotations

import argparse
import asyncio

from hotline.app import Hotline
from hotline.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="run Hotline: AMI link, IVR, ACD, agent and supervisor pages"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run on the built-in switch simulator with demo agents, customers and callers",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    hotline = Hotline(settings, demo=args.demo, report=_print)
    asyncio.run(hotline.run(ready=_announce))
    return hotline.exit_status  # 3: a cluster node that lost its lease, to be started again


def _announce(hotline: Hotline) -> None:
    print(f"Hotline is running: open {hotline.url}", flush=True)
    if hotline.demo:
        print("demo: log in as agent1001, supervisor or admin with the password demo", flush=True)
    print("Stop with Ctrl-C.", flush=True)


def _print(line: str) -> None:
    print(line, flush=True)
