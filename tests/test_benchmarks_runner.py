"""The benchmark runner (`python -m benchmarks`, benchmarks/run_all.py): its table, not the
figures. No wall-clock threshold here: the machines are shared and noisy."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_runner():
    spec = importlib.util.spec_from_file_location("benchmarks_run_all", ROOT / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


run_all = _load_runner()
Figure = run_all.Figure


def fake_benchmark(tmp_path: Path, body: str, figures) -> object:
    """A benchmark whose script runs `body` with args.json set (its --json PATH)."""
    script = tmp_path / "fake_bench.py"
    script.write_text(
        "import argparse, json, sys\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--json')\n"
        "parser.add_argument('--size')\n"
        "args = parser.parse_args()\n" + textwrap.dedent(body)
    )
    return run_all.Benchmark("fake", "a fake", "a fake, quick", str(script), ("--size", "9"), ("--size", "1"), figures)


FIGURES = (
    Figure("fast_ms", "fast", target=("<=", 10.0)),
    Figure("slow_ms", "slow", target=("<=", 10.0)),
    Figure("rate", "rate", "/s", target=(">=", 200.0)),
    Figure("ratio", "ratio", "x", target=(">=", 0.9)),
    Figure("shown", "shown", "", out_of="asked"),
    Figure("absent_ms", "absent", target=("<=", 1.0)),
)


def test_a_scripts_figures_become_rows_beside_their_targets(tmp_path, capsys):
    body = """
    sys.stdout.write("the script's own report\\n")
    figures = dict(fast_ms=5.0, slow_ms=50.0, rate=250.0, ratio=0.85, shown=3, asked=4, size=int(args.size))
    json.dump({"figures": figures, "about": {}}, open(args.json, "w"))
    """
    record = tmp_path / "all.json"
    bench = fake_benchmark(tmp_path, body, FIGURES)
    assert run_all.main(["--quick", "--json", str(record)], benchmarks=(bench,)) == 0
    out = capsys.readouterr().out
    assert "the script's own report" not in out  # the scripts report to stderr; stdout is the table
    saved = json.loads(record.read_text())
    assert saved["quick"] and saved["figures"]["fake"]["size"] == 1  # the quick arguments
    rows = {row["figure"]: (row["measured"], row["target"], row["verdict"]) for row in saved["table"]}
    assert rows == {
        "fast": ("5.00 ms", "<= 10 ms", "met"),
        "slow": ("50.0 ms", "<= 10 ms", "NOT MET"),
        "rate": ("250 /s", ">= 200 /s", "met"),
        "ratio": ("0.85", ">= 0.9", "NOT MET"),
        "shown": ("3 / 4", "", "no target"),
        "absent": ("-", "<= 1 ms", "missing"),
    }
    printed = [line.split() for line in out.splitlines()]
    assert ["fake", "fast", "5.00", "ms", "<=", "10", "ms", "met"] in printed
    assert ["slow", "50.0", "ms", "<=", "10", "ms", "NOT", "MET"] in printed
    assert "QUICK" in out and "load average" in out and "CPUs" in out


def test_a_failing_script_fails_its_rows_and_the_command(tmp_path, capsys):
    bench = fake_benchmark(tmp_path, "sys.exit(3)", FIGURES[:2])
    assert run_all.main(["--markdown"], benchmarks=(bench,)) == 1
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| fake")]
    assert len(rows) == 2 and all(row.endswith("| failed: exit status 3 |") for row in rows)


def test_list_names_every_benchmark_and_figure(capsys):
    assert run_all.main(["--list"]) == 0
    out = capsys.readouterr().out
    for bench in run_all.BENCHMARKS:
        assert f"{bench.name}: " in out
        assert len({f.key for f in bench.figures}) == len(bench.figures)
        for f in bench.figures:
            assert f"- {f.label}" in out
    for name in ("latency", "map-100k", "map-1m", "projection", "encode", "startup"):
        assert f"{name}: " in out


def test_every_benchmark_script_takes_json():
    for bench in run_all.BENCHMARKS:
        assert '"--json"' in (ROOT / "benchmarks" / bench.script).read_text(), bench.script


def test_only_takes_known_names(capsys):
    with pytest.raises(SystemExit):
        run_all.main(["--only", "latency,nope"])
    assert "nope" in capsys.readouterr().err


@pytest.mark.slow
def test_a_quick_real_run(tmp_path):
    """The cheapest real benchmark end to end, as `python -m benchmarks` (about 30 s on 2 cores)."""
    record = tmp_path / "all.json"
    command = [sys.executable, "-m", "benchmarks", "--quick", "--only", "projection", "--json", str(record)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    saved = json.loads(record.read_text())
    assert {"inverse_p95_ms", "index_build_s", "fit_umap_s", "fit_tsne_s"} <= set(saved["figures"]["projection"])
    assert all(row["verdict"] in ("met", "NOT MET", "no target") for row in saved["table"]), saved["table"]
    assert "inverse, one cursor query, p95" in done.stdout
