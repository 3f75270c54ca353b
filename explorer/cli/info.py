"""`vae-explorer info --model SPEC`: what a model is and how it was trained."""

from __future__ import annotations

import argparse
import json

from explorer.cli.common import add_model_arguments, model_source


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.add_argument("--json", action="store_true", help="print the facts as JSON")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from explorer_models import load_model
    from explorer_models.facts import format_facts, model_facts

    facts = model_facts(load_model(model_source(args)))
    print(json.dumps(facts, indent=2) if args.json else format_facts(facts))
    return 0
