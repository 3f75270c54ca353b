"""One benchmark command: the figures of issue 13, each beside its target, in one table.

    python -m benchmarks [--only NAME[,NAME]] [--quick] [--list] [--markdown] [--json PATH]
    python benchmarks/run_all.py ...          (the same)

Each benchmark is a script of this folder, run in a fresh process (its own Qt, its own torch
threads) with `--json FILE`, where it writes its named figures; its own report goes to stderr
as it runs, and stdout gets the table alone (`--markdown` for docs/benchmarks.md). Qt renders
offscreen unless a display is set (QT_QPA_PLATFORM, when set, is kept). The children's
temporary files go to a folder removed at the end.

`--quick` is a smoke run (fewer points, repeats and images, the held-out faces): its figures
say the command works, not how fast the app is. The targets are issue 13's and
../shared/DESIGN-NOTES.md section 7's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 3600  # one benchmark; the full 1,000,000-point ones take minutes


@dataclass(frozen=True)
class Figure:
    key: str  # in the script's figures file
    label: str
    unit: str = "ms"  # "ms", "s", "/s" (a rate), "x" (a ratio), "" (a count)
    target: tuple[str, float] | None = None  # ("<=", 16.7): met when the value is at most 16.7
    out_of: str | None = None  # a count shown as "value / figures[out_of]"

    def target_text(self) -> str:
        if self.target is None:
            return ""
        op, bound = self.target
        return f"{op} {bound:g} {'' if self.unit == 'x' else self.unit}".rstrip()

    def measured(self, figures: dict) -> str:
        value = figures.get(self.key)
        if value is None:
            return "-"
        if self.out_of is not None:
            return f"{value:,} / {figures.get(self.out_of, '?'):,}"
        return _number(value, self.unit)

    def verdict(self, figures: dict) -> str:
        value = figures.get(self.key)
        if value is None:
            return "missing"
        if self.target is None:
            return "no target"
        op, bound = self.target
        return "met" if (value <= bound if op == "<=" else value >= bound) else "NOT MET"


def _number(value: float, unit: str) -> str:
    if unit == "/s":
        return f"{value:,.0f} /s"
    if unit == "x":
        return f"{value:.2f}"
    if unit == "":
        return f"{value:,.0f}"
    digits = 3 if abs(value) < 1 else 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
    return f"{value:,.{digits}f} {unit}"


@dataclass(frozen=True)
class Benchmark:
    name: str  # for --only
    title: str
    quick_title: str
    script: str  # in this folder, or a path
    args: tuple[str, ...]
    quick_args: tuple[str, ...]
    figures: tuple[Figure, ...]

    def command(self, quick: bool) -> list[str]:
        return [sys.executable, str(HERE / self.script), *(self.quick_args if quick else self.args)]


FRAME, RECOLOUR, NEAREST, CURSOR = ("<=", 33.0), ("<=", 100.0), ("<=", 1.0), ("<=", 16.7)


def _map_figures() -> tuple[Figure, ...]:
    """large_map.py's rows (gui_tools.figure_key of each printed name): frames have the target,
    the catch-up (until the exact image of the new view is shown) is beside them."""
    steps = (("pan_step_whole_map", "pan, whole map"), ("zoom_step_wheel", "zoom (wheel)"))
    steps += (("pan_step_zoomed_in_3x", "pan, zoomed in 3x"),)
    figures = [Figure("recolour_choice_to_new_image_p95_ms", "recolour, choice to new image, p95", target=RECOLOUR)]
    for key, label in steps:
        figures.append(Figure(f"{key}_frame_p95_ms", f"{label}: frame p95", target=FRAME))
        figures.append(Figure(f"{key}_catch_up_p95_ms", f"{label}: catch-up p95 (exact image shown)"))
    drag = "drag_at_60_moves_a_second"
    figures.append(Figure(f"{drag}_frame_p95_ms", "drag, a move every 16 ms: frame p95", target=FRAME))
    figures.append(Figure(f"{drag}_longest_gui_gap_p95_ms", "drag, a move every 16 ms: longest GUI-thread gap"))
    figures.append(Figure(f"{drag}_new_images_a_second", "drag, a move every 16 ms: new images shown a second", "/s"))
    figures.append(Figure("nearest_data_point_kd_tree_p95_ms", "nearest data point (KD-tree), p95", target=NEAREST))
    return tuple(figures)


def _map(points: int, quick_points: int) -> Benchmark:
    """large_map.py at `points`; quick at `quick_points`, on the same side of point_cloud.IMAGE_ABOVE
    (150,000: above it the map is drawn as an image off the GUI thread, below it point by point)."""
    return Benchmark(
        f"map-{points // 1000}k" if points < 1_000_000 else f"map-{points // 1_000_000}m",
        f"map in the window, {points:,} points (large_map.py)",
        f"map in the window, {quick_points:,} points (large_map.py, quick)",
        "large_map.py",
        ("--points", str(points), "--steps", "60"),
        ("--points", str(quick_points), "--steps", "20"),
        _map_figures(),
    )


BENCHMARKS = (
    Benchmark(
        "latency",
        "cursor latency, real mouse moves, bundled pair (20,000 faces), CPU (latency.py)",
        "cursor latency, real mouse moves, 2,000 held-out faces, CPU (latency.py, quick)",
        "latency.py",
        ("--device", "cpu", "--hover-only", "--gestures", "30"),
        ("--device", "cpu", "--hover-only", "--gestures", "6", "--data", "builtin:faces:test"),
        (
            Figure("moves_per_s", "mouse moves per second (250 asked)", "/s", target=(">=", 200.0)),
            Figure("latency_p50_ms", "mouse move to image shown, p50"),
            Figure("latency_p95_ms", "mouse move to image shown, p95", target=CURSOR),
            Figure("latency_p99_ms", "mouse move to image shown, p99"),
            Figure("event_cpu_p50_ms", "GUI-thread CPU per mouse move, p50", target=("<=", 2.0)),
            Figure("event_cpu_p95_ms", "GUI-thread CPU per mouse move, p95"),
            Figure("final_shown", "gestures whose final position is shown", "", out_of="gestures"),
        ),
    ),
    _map(100_000, 10_000),
    _map(1_000_000, 200_000),
    Benchmark(
        "projection",
        "non-linear map: inverse at 1,000,000 points, fits of 20,000 latents (nonlinear_inverse.py)",
        "non-linear map: inverse at 20,000 points, fits of 1,000 latents (nonlinear_inverse.py, quick)",
        "nonlinear_inverse.py",
        ("--speed-only", "--points", "1000000", "--fit", "20000"),
        ("--speed-only", "--points", "20000", "--fit", "1000"),
        (
            Figure("inverse_p95_ms", "inverse, one cursor query, p95", target=("<=", 5.0)),
            Figure("index_build_s", "inverse's two KD-trees built", "s"),
            Figure("fit_umap_s", "UMAP fit", "s"),
            Figure("fit_tsne_s", "t-SNE fit", "s"),
            Figure("first_fit_umap_s", "first UMAP fit in a process, 300 latents (numba compiles)", "s"),
        ),
    ),
    Benchmark(
        "encode",
        "encode throughput, bundled model, 8,192 images (encode_throughput.py)",
        "encode throughput, bundled model, 1,024 images (encode_throughput.py, quick)",
        "encode_throughput.py",
        ("--images", "8192"),
        ("--images", "1024", "--batches", "64,512"),
        (
            Figure("app_over_raw", "the app / raw model forward", "x", target=(">=", 0.9)),
            Figure("raw_forward_per_s", "raw model forward, best batch", "/s"),
            Figure("app_per_s", "the app (encode_dataset_steps into the store)", "/s"),
        ),
    ),
    Benchmark(
        "startup",
        "start-up, vae-explorer --screenshot against a bare import, 5 runs each (startup.py)",
        "start-up, 2,000 held-out faces, 2 runs each (startup.py, quick)",
        "startup.py",
        ("--runs", "5"),
        ("--runs", "2", "--data", "builtin:faces:test"),
        (
            Figure("start_s", "vae-explorer --screenshot, encodings cached, median", "s"),
            Figure("bare_import_s", 'python -c "import torch, PySide6.QtWidgets", median', "s"),
            Figure("ratio", "start-up / bare import", "x"),
            Figure("difference_s", "start-up - bare import", "s"),
            Figure("first_start_s", "first start, empty cache (the dataset encodes)", "s"),
        ),
    ),
)


@dataclass
class Outcome:
    figures: dict
    seconds: float
    error: str | None = None  # why there are no figures


def run(bench: Benchmark, quick: bool, tmp: Path) -> Outcome:
    """Run one benchmark's script in a fresh process and read its figures file."""
    out, scratch = tmp / f"{bench.name}.json", tmp / bench.name
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    command = [*bench.command(quick), "--json", str(out)]
    shown = shlex.join(["python", os.path.relpath(command[1]), *command[2:-2]])
    print(f"\n== {bench.name}: {shown}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    t = time.perf_counter()
    try:  # the script's report goes to stderr: stdout is the table's
        done = subprocess.run(command, stdout=2, cwd=HERE.parent, env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Outcome({}, time.perf_counter() - t, f"timed out after {TIMEOUT_S} s")
    seconds = time.perf_counter() - t
    if done.returncode != 0:
        return Outcome({}, seconds, f"exit status {done.returncode}")
    try:
        return Outcome(json.loads(out.read_text())["figures"], seconds)
    except (OSError, ValueError, KeyError) as e:
        return Outcome({}, seconds, f"no figures file ({e})")


def _version(*names: str) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return "?"


def machine() -> str:
    qt = os.environ.get("QT_QPA_PLATFORM") or (
        "offscreen" if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") else "a display"
    )
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, torch {_version('torch')}, "
        f"PySide6 {_version('PySide6', 'PySide6-Essentials', 'PySide6_Essentials')}, "
        f"pyqtgraph {_version('pyqtgraph')}; Qt platform {qt}"
    )


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def rows(chosen, outcomes: dict[str, Outcome]) -> list[tuple[str, str, str, str, str]]:
    """(benchmark, figure, measured, target, verdict) for every figure of every benchmark run."""
    table = []
    for bench in chosen:
        outcome = outcomes[bench.name]
        for f in bench.figures:
            verdict = f"failed: {outcome.error}" if outcome.error else f.verdict(outcome.figures)
            table.append((bench.name, f.label, f.measured(outcome.figures), f.target_text(), verdict))
    return table


def render(table, header: list[str], markdown: bool) -> str:
    columns = ("benchmark", "figure", "measured", "target", "verdict")
    if markdown:
        lines = [*(f"{h}  " for h in header), ""]
        lines += ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table]
        return "\n".join(lines)
    widths = [max(len(str(row[i])) for row in (columns, *table)) for i in range(len(columns))]
    line = lambda row: "  ".join(
        str(c).ljust(w) if i != 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))
    )
    out, last = [*header, "", line(columns), "  ".join("-" * w for w in widths)], None
    for row in table:
        out.append(line(("" if row[0] == last else row[0], *row[1:])).rstrip())
        last = row[0]
    return "\n".join(out)


def listing(chosen) -> str:
    lines = []
    for bench in chosen:
        lines += [f"{bench.name}: {bench.title}"]
        for quick in (False, True):
            command = bench.command(quick)
            lines.append(
                f"    {'quick' if quick else 'run'}: python {os.path.relpath(command[1])} {shlex.join(command[2:])}"
            )
        lines += [f"    - {f.label}" + (f" (target {f.target_text()})" if f.target else "") for f in bench.figures]
    return "\n".join(lines)


def main(argv: list[str] | None = None, benchmarks: tuple[Benchmark, ...] = BENCHMARKS) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", metavar="NAME[,NAME]", help=f"run only these: {', '.join(b.name for b in benchmarks)}"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer points, repeats and images")
    parser.add_argument("--list", action="store_true", help="list the benchmarks, their commands and figures; run none")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", metavar="PATH", help="also write the machine and every figure to PATH")
    args = parser.parse_args(argv)
    chosen = benchmarks
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(names) - {b.name for b in benchmarks})
        if unknown:
            parser.error(f"no benchmark {', '.join(unknown)}; choose from {', '.join(b.name for b in benchmarks)}")
        chosen = tuple(b for b in benchmarks if b.name in names)
    if args.list:
        print(listing(chosen))
        return 0

    before, started, t = load(), datetime.datetime.now(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vae-explorer-benchmarks-") as tmp:
        outcomes = {b.name: run(b, args.quick, Path(tmp)) for b in chosen}
    total, after = time.perf_counter() - t, load()
    table = rows(chosen, outcomes)
    times = ", ".join(f"{name} {o.seconds:.0f} s" for name, o in outcomes.items())
    header = [
        f"benchmarks {started:%Y-%m-%d %H:%M}"
        + (", QUICK run (a smoke test: fewer points and repeats)" if args.quick else ""),
        f"machine: {machine()}",
        f"load average (1/5/15 min): {before} before, {after} after",
        f"took {total / 60:.1f} min: {times}",
        *(f"{b.name}: {b.quick_title if args.quick else b.title}" for b in chosen),
    ]
    sys.stderr.flush()
    print(render(table, header, args.markdown), flush=True)
    if args.json:
        record = dict(started=started.isoformat(timespec="seconds"), quick=args.quick, machine=machine())
        record.update(load_before=before, load_after=after, seconds={n: o.seconds for n, o in outcomes.items()})
        record["figures"] = {n: o.figures for n, o in outcomes.items()}
        record["errors"] = {n: o.error for n, o in outcomes.items() if o.error}
        record["table"] = [dict(zip(("benchmark", "figure", "measured", "target", "verdict"), r)) for r in table]
        Path(args.json).write_text(json.dumps(record, indent=1))
    return 1 if any(o.error for o in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
