"""The `vae-explorer` command: the window by default, headless subcommands beside it.

The parser is built from every subcommand module's add_arguments, so those modules import
nothing heavy at the top: torch, numpy and Qt come in only inside run() (and the window), which
keeps `--help` and `--version` instant (torch alone takes a second or two to import;
tests/cli/test_first_minutes.py checks what they import).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from explorer import __version__
from explorer.cli.common import add_device_argument, add_labels_argument, add_model_arguments, model_source

PROG = "vae-explorer"
SESSION_SUFFIX = ".vaesession"  # explorer.core.io.session.SUFFIX (not imported here: it pulls in torch)
# subcommand -> (module in explorer.cli, one-line help)
SUBCOMMANDS = {
    "train": ("train", "train a VAE on a dataset and save it as one .safetensors file"),
    "info": ("info", "describe a model: latent size, image shape, parameters, training facts, labels"),
    "vector": ("vector", "compute an attribute vector (e.g. smiling) for a model and dataset, and save it"),
    "strip": ("strip", "write an interpolation strip or an attribute sweep as PNG, GIF or APNG (no window)"),
    "grid": ("grid", "write a grid between four data points, or an analogy grid, as PNG, GIF or APNG"),
    "traverse": (
        "traverse",
        "write a latent traversal (one row per latent dimension, sorted by KL) as PNG, GIF or APNG",
    ),
    "health": ("health", "a model's health: active units, KL per dimension, I(x; z), an IWAE bound, prior holes"),
    "disentangle": ("disentangle", "disentanglement against the data's labelled factors: MIG, SAP, DCI, a heatmap"),
    "encode": ("encode", "encode a dataset (or one shard of it, --shard I/N) into a latents .npz"),
    "merge": ("merge", "join the latents files of an encode's shards into one"),
    "report": ("report", "one self-contained HTML report of a model on a dataset: figures, health, vectors"),
}


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (not the whole usage block)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog=PROG,
        description="Explore the latent space of a trained Variational Autoencoder. "
        "With no subcommand, opens the explorer window.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="log what happens (and every traceback) to stderr as well as the log file",
    )
    window = parser.add_argument_group("the window (no COMMAND)")
    add_model_arguments(parser, group=window, default="builtin:faces")
    window.add_argument(
        "--data",
        default="builtin:faces",
        metavar="SPEC",
        help="builtin:faces, builtin:faces:test, a folder of images, a .npy / .npz file of images, "
        "or a .npz of precomputed latents (mu, optional logvar, labels) (default builtin:faces)",
    )
    add_labels_argument(window)
    add_device_argument(window)
    window.add_argument(
        "--screenshot", metavar="PATH", help="open the window, wait until the map is drawn, save a PNG of it and exit"
    )
    window.add_argument("--session", metavar="FILE", help="open a saved session (also: vae-explorer FILE.vaesession)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _command_module(module).add_arguments(p)
    return parser


def _command_module(module: str):
    return importlib.import_module(f"explorer.cli.{module}")


def _session_shorthand(argv: list[str]) -> list[str]:
    """`vae-explorer FILE` opens a session: a first argument that is no command and names a
    .vaesession or an existing file (anything else stays a usage mistake argparse reports)."""
    first = argv[0] if argv else ""
    looks_like_file = first.endswith(SESSION_SUFFIX) or os.path.isfile(first)
    if first and not first.startswith("-") and first not in SUBCOMMANDS and looks_like_file:
        return ["--session", argv[0], *argv[1:]]
    return argv


def main(argv: list[str] | None = None) -> int:
    argv = _session_shorthand(sys.argv[1:] if argv is None else list(argv))
    args = build_parser().parse_args(argv)
    for option, value in vars(args).items():
        if isinstance(value, str) and "\0" in value:  # no file name or setting holds one
            print(f"{PROG}: error: --{option.replace('_', '-')} contains a NUL character", file=sys.stderr)
            return 1
    from explorer.log import setup_logging

    setup_logging(args.verbose)
    if args.command is None:
        from explorer.cli.display import window_problem

        problem = window_problem()  # before Qt, which would abort the process instead
        if problem is not None:
            print(f"{PROG}: error: {problem}", file=sys.stderr)
            return 1
        if args.session is not None:
            from explorer.core.io.session import SessionError, load

            try:
                load(args.session)  # a bad file is a one-line error, before any window opens
            except SessionError as e:
                print(f"{PROG}: error: {e}", file=sys.stderr)
                return 1
        from explorer_models.device import resolve_device
        from explorer_models.errors import UserInputError

        try:
            resolve_device(args.device)  # the one list of devices; a typo is one line, before any window
            source = model_source(args)
        except UserInputError as e:
            print(f"{PROG}: error: {e}", file=sys.stderr)
            return 1
        from explorer.qt.app import run_window

        return run_window(
            source, args.data, device=args.device, screenshot=args.screenshot, session=args.session, labels=args.labels
        )

    from explorer_models.errors import UserInputError  # imports torch: only once a command runs

    try:
        return _command_module(SUBCOMMANDS[args.command][0]).run(args, argv) or 0
    except UserInputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # the system refused a file we were given (its name, its folder): say which
        from explorer_models.atomic import printable, problem

        logging.getLogger(__name__).debug("file error", exc_info=True)
        where = f"{printable(e.filename)}: " if e.filename is not None else ""
        print(f"{PROG}: error: {where}{problem(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
        return 130
