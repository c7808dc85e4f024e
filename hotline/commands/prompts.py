"""``hotline prompts``: make the IVR's audio prompts from the menus' texts (espeak-ng + sox)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hotline.settings import load_settings
from ivr.errors import MenuInvalid
from ivr.prompts import PromptGenerationFailed, generate_prompts
from ivr.registry import MenuRegistry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("prompts", help="make the IVR prompts (skips the up-to-date ones)")
    parser.add_argument("--force", action="store_true", help="make every prompt again")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    registry = MenuRegistry(settings.agi.menus_dir)
    try:
        registry.load()
    except MenuInvalid as exc:
        print(f"hotline prompts: invalid menu:\n{exc}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        report = generate_prompts(registry.menus(), Path(settings.agi.prompts_dir), force=args.force)
    except PromptGenerationFailed as exc:
        print(f"hotline prompts: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(
        f"prompts: {len(report.generated)} made, {report.up_to_date} up to date, "
        f"{len(registry.numbers())} menu(s), in {settings.agi.prompts_dir} ({elapsed:.2f} s)"
    )
    return 0
