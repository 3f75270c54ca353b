"""Issues 11 and 12: every input the product reads answers with a clear message.

The fuzz run feeds every case of generators.py and formats.py (at the fixed seed;
VAE_EXPLORER_FUZZ_CASES=N for a run of about N cases) through the API and the CLI in a
memory-capped worker process (harness.py) and prints one line:

  fuzz: N cases, C clean errors, A accepted, T tracebacks, X crashes, H hangs, D damaged (...)

Issue 11 asks that nothing ends in a traceback, a crash, a hang or damage. Issue 12 asks more of
its malformed model files and datasets (formats.py): each one answers exactly as its case expects,
a clean error of the documented type naming the file, or (an unreadable image among readable
ones) accepted with the skipped file named in the dataset's problems.
Each case the issues list is a named regression test of its own (test_issue_11_case[...],
test_issue_12_case[...]).
Run the suite alone:   pytest tests/fuzz -v        or the harness:   python tests/fuzz/harness.py
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest


def _load(name: str, file: str):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(file))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


harness = _load("vae_explorer_fuzz_harness", "harness.py")
G = harness.G
F = G.formats()

# The cases issues 11 and 12 name, each a regression test: its id -> the fuzz case it is.
ISSUE_CASES = {c.issue: c.id for c in G.generate_cases() if c.issue and c.kind not in F.ISSUE_12_KINDS}
ISSUE_12_CASES = {c.issue: c.id for c in G.generate_cases() if c.issue and c.kind in F.ISSUE_12_KINDS}
KINDS = {
    "checkpoint", "cli-info", "vectors", "cli-strip-vector", "session", "cli-strip", "cli-grid", "cli-train",
    "cli-vector", "files", "selection-export", "control", *F.ISSUE_12_KINDS,
}  # fmt: skip
# What a bomb may cost before it is refused: a refusal by its declared size reads a few bytes
QUICK = {"seconds": 2.0, "grew_mb": 64.0}


def _show(capsys, line: str) -> None:
    """Print past pytest's output capture: the summary line belongs in every run's output."""
    with capsys.disabled():
        print(f"\n{line}")


def test_the_cases_are_the_same_in_every_process_and_cover_every_input_kind():
    first, again = G.generate_cases(), G.generate_cases()
    assert [c.id for c in first] == [c.id for c in again]
    assert len(first) >= 400
    assert {c.kind for c in first} >= KINDS - {"files"} - ({"model-pythae"} if not F.pythae_installed() else set())
    assert len([c for c in first if c.kind in F.ISSUE_12_KINDS]) >= 300
    assert len(G.generate_cases(total=len(first) + 200)) >= len(first) + 200


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    r = harness.Runner(tmp_path_factory.mktemp("fuzz-regressions"))
    yield r
    r.close()


def _issue_params():
    # "unreadable-folder" is generated only where chmod 000 keeps this process out (not as
    # root, as in CI); tests/models/test_checkpoint.py covers it everywhere with a refused stat
    return [pytest.param(case_id, id=issue) for issue, case_id in sorted(ISSUE_CASES.items())]


@pytest.mark.parametrize("case_id", _issue_params())
def test_issue_11_case(runner, case_id):
    """The input answers with the documented error type and a message naming it (or, where the
    issue allows it, is accepted), nothing escapes as a traceback, and nothing on disk changes."""
    result = runner.run(runner.index_of(case_id))
    allowed = {"clean"} if result.expect == "error" else {"clean", "accepted"}
    assert result.outcome in allowed and not result.damaged, result.line()


def _issue_12_params():
    return [pytest.param(case_id, id=issue) for issue, case_id in sorted(ISSUE_12_CASES.items())]


@pytest.mark.parametrize("case_id", _issue_12_params())
def test_issue_12_case(runner, case_id):
    """The malformed model file or dataset answers as its case expects (a clean error of the
    documented type naming the file; or accepted, every skipped file named), and no pickle ran."""
    result = runner.run(runner.index_of(case_id))
    assert harness.as_expected(result), result.line()


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Every case, once (both tests below read the results)."""
    run = harness.Runner(tmp_path_factory.mktemp("fuzz-run") / "run", total=G.default_total())
    try:
        yield run.run_all()
    finally:
        run.close()


@pytest.mark.slow
def test_fuzz_every_input_answers_with_a_clear_message(capsys, full_run):
    results = full_run
    line = harness.summary(results)
    _show(capsys, line)
    controls = [r for r in results if r.kind == "control" and r.outcome != "accepted"]
    assert not controls, "valid inputs refused (the harness or the product is broken):\n" + "\n".join(
        r.line() for r in controls
    )
    bad = [r for r in results if r.bad]
    by_kind = Counter(r.kind for r in bad)
    assert not bad, f"{line}\n{len(bad)} cases ended badly ({dict(by_kind)}):\n" + "\n".join(
        f"  {r.line()}" for r in bad
    )


@pytest.mark.slow
def test_issue_12_every_malformed_model_file_and_dataset_answers_as_documented(capsys, full_run):
    """Each issue-12 case ends as it expects: a clean error of the documented type (the
    UserInputError family; TrustRequired for what would run code) whose one line names the file;
    or the input accepted with every unreadable file it skipped named in the problems (and no
    readable one); a bomb is refused in moments without allocating. No pickle runs untrusted."""
    results = [r for r in full_run if r.kind in F.ISSUE_12_KINDS]
    assert len(results) >= 300
    by_outcome = Counter(r.outcome for r in results)
    _show(capsys, f"issue 12: {len(results)} model files and datasets, {dict(sorted(by_outcome.items()))}")
    wrong = [r for r in results if not harness.as_expected(r)]
    slow = [
        r
        for r in results
        if r.name.startswith("bomb-") and (r.seconds > QUICK["seconds"] or r.grew_mb > QUICK["grew_mb"])
    ]
    assert not wrong and not slow, (
        f"{len(wrong)} cases did not answer as expected:\n"
        + "\n".join(f"  [expects {r.expect}] {r.line()}" for r in wrong)
        + "".join(f"\n  bomb too costly: {r.id} {r.seconds:.2f} s, +{r.grew_mb:.0f} MB" for r in slow)
    )
