"""`vae-explorer report`: one self-contained HTML page about a model on a dataset: its facts,
health, reconstructions, prior samples, traversals, the map, attribute-vector sweeps with their
quality, and disentanglement figures (explorer.core.figures.report gathers them, report_html
writes the page). Deterministic for the same inputs; written atomically."""

from __future__ import annotations

import argparse
import os
import sys

from explorer.cli import common

# explorer.core.figures.report.ReportSpec's defaults, not imported here: it pulls in torch
DEFAULT_K, DEFAULT_N = 16, 128


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_and_data(p)
    p.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write (FILE.html)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    common.add_iwae_options(p, DEFAULT_K, DEFAULT_N)
    p.add_argument("--seed", type=int, default=0, help="seeds every sample the report draws (default 0)")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from explorer import __version__
    from explorer.core.figures import report as R
    from explorer.core.figures import report_html
    from explorer_models.atomic import write_bytes_atomic
    from explorer_models.errors import UserInputError
    from explorer_models.facts import format_facts, model_facts

    out = common.check_out(args.out, args.force)  # before any slow work
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise UserInputError(f"--out {out}: folder {out.parent} is not writable")
    opened = common.open_encoded(args)
    made_by = f"vae-explorer {__version__}"
    spec = R.ReportSpec(seed=args.seed, iwae_k=args.iwae_k, iwae_n=args.iwae_n, made_by=made_by)
    report = R.gather(
        opened.model,
        opened.dataset,
        opened.encodings,
        spec,
        facts=format_facts(model_facts(opened.model)),
        device=opened.device,
        on_step=lambda name: print(f"report: {name}", file=sys.stderr, flush=True),
    )
    data = report_html.render(report).encode("utf-8")
    write_bytes_atomic(out, data)
    print(f"wrote {out} ({len(data) / 1e6:.1f} MB: {', '.join(R.SECTIONS)})")
    return 0
