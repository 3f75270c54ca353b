"""`vae-explorer disentangle` on a file of latents whose factors are known, and on the bundled
model's held-out faces."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import mutual_info_score

from explorer.cli import disentangle as cli_module
from explorer.core.space import disentanglement as D

MODEL = ("--model", "builtin:faces", "--device", "cpu")  # its latent size, 16, is the file's
N = 600


def known_code(n: int = N) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """16-dim latents: smiling in dim 3, pos_x in dim 7, shape (3 classes) in dim 10, noise elsewhere."""
    rng = np.random.default_rng(0)
    factors = {
        "smiling": (rng.random(n) < 0.5).astype(np.float32),
        "pos_x": rng.random(n).astype(np.float32),
        "shape": rng.integers(0, 3, n).astype(np.float32),
    }
    mu = rng.standard_normal((n, 16)).astype(np.float32)
    mu[:, 3] = 2 * factors["smiling"] - 1 + 0.01 * mu[:, 3]
    mu[:, 7] = 3 * factors["pos_x"]
    mu[:, 10] = factors["shape"] + 0.01 * mu[:, 10]
    return mu, factors


@pytest.fixture
def latents(tmp_path):
    """A latents .npz (mu, logvar) whose labels are the known factors and a constant `bald`."""
    mu, factors = known_code()
    path = tmp_path / "codes.npz"
    np.savez(path, mu=mu, logvar=np.zeros_like(mu), bald=np.ones(N, np.float32), **factors)
    return path


def test_disentangle_prints_the_figures_and_writes_json_and_a_heatmap(cli, tmp_path, latents):
    out, picture = tmp_path / "d.json", tmp_path / "d.png"
    code, stdout, err = cli("disentangle", *MODEL, "--data", latents, "--json", out, "--heatmap", picture)
    assert code == 0, err
    mu, factors = known_code()
    expected = D.measure(mu, {"bald": np.ones(N), **factors})  # the labels, in the file's order
    lines = stdout.splitlines()
    assert lines[0] == f"disentanglement of builtin:faces on {latents}"
    assert lines[1:] == expected.lines()
    assert lines[-1] == "left out        bald (constant: zero entropy)"
    assert f"wrote {out}" in err and f"wrote {picture} (normalised_mi)" in err
    facts = json.loads(out.read_text())
    assert facts == json.loads(json.dumps({"model": "builtin:faces", "data": str(latents), **expected.to_dict()}))
    assert facts["best_dim"] == {"smiling": 3, "pos_x": 7, "shape": 10}
    assert facts["factors"] == ["smiling", "pos_x", "shape"] and facts["left_out"] == {"bald": "constant: zero entropy"}
    assert facts["points"] == N and facts["fit_points"] == N
    assert facts["mig"]["mean"] > 0.8 and facts["dci"]["disentanglement"] > 0.9
    assert facts["dci"]["completeness"] > 0.8 and facts["dci"]["informativeness"] > 0.95
    with Image.open(picture) as image:
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), D.heatmap_image(expected))


def test_factors_seed_and_the_heatmaps_matrix_are_chosen(cli, tmp_path, latents):
    out, picture = tmp_path / "d.json", tmp_path / "d.png"
    argv = ("disentangle", *MODEL, "--data", latents, "--factors", "shape, smiling", "--seed", "4")
    code, stdout, err = cli(
        *argv, "--max-points", "200", "--json", out, "--heatmap", picture, "--heatmap-of", "importance"
    )
    assert code == 0, err
    mu, factors = known_code()
    expected = D.measure(mu, {"shape": factors["shape"], "smiling": factors["smiling"]}, seed=4, max_points=200)
    assert stdout.splitlines()[1:] == expected.lines()
    facts = json.loads(out.read_text())
    assert facts["factors"] == ["shape", "smiling"] and facts["seed"] == 4 and facts["fit_points"] == 200
    with Image.open(picture) as image:
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), D.heatmap_image(expected, "importance"))
    assert cli(*argv, "--max-points", "200")[1] == stdout  # the same seed: the same figures


def test_a_file_is_replaced(cli, tmp_path, latents):
    out = tmp_path / "d.json"
    out.write_text("old")
    code, _, err = cli("disentangle", *MODEL, "--data", latents, "--factors", "pos_x", "--json", out)
    assert code == 0, err
    assert json.loads(out.read_text())["factors"] == ["pos_x"]


# -- refusals ------------------------------------------------------------------------------------
def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_data_without_labels_is_a_one_line_error(cli, tmp_path):
    mu, _ = known_code()
    path = tmp_path / "plain.npz"
    np.savez(path, mu=mu, logvar=np.zeros_like(mu))
    code, stdout, err = cli("disentangle", *MODEL, "--data", path)
    assert code == 1 and stdout == ""
    assert one_error_line(err) == (
        f"vae-explorer: error: {path}: has no labels; disentanglement is measured against labelled factors "
        "(e.g. builtin:faces, or an .npz with label arrays beside the images)"
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ("--factors", "smiling,beard"),
            "--factors: {data} has no label 'beard'; its labels: bald, smiling, pos_x, shape",
        ),
        (("--factors", "bald"), "every factor is constant (bald): nothing to measure against"),
    ],
)
def test_unknown_or_constant_factors_are_one_line_errors(cli, tmp_path, latents, extra, message):
    out = tmp_path / "d.json"
    code, stdout, err = cli("disentangle", *MODEL, "--data", latents, *extra, "--json", out)
    assert code == 1 and stdout == "" and not out.exists()
    assert one_error_line(err) == "vae-explorer: error: " + message.format(data=latents)


@pytest.mark.parametrize(
    "option, name, message",
    [
        ("--json", "missing/d.json", "--json {path}: folder {folder} does not exist"),
        ("--heatmap", "missing/d.png", "--heatmap {path}: folder {folder} does not exist"),
        ("--heatmap", "d.jpg", "--heatmap {path}: the heatmap is a PNG; give a FILE.png"),
    ],
)
def test_an_output_that_cannot_be_written_fails_before_any_slow_work(
    cli, tmp_path, latents, monkeypatch, option, name, message
):
    from explorer.cli import common

    def no_slow_work(args):
        raise AssertionError("the model was loaded and the data encoded before the output was checked")

    monkeypatch.setattr(common, "open_encoded", no_slow_work)
    path = tmp_path / name
    code, stdout, err = cli("disentangle", *MODEL, "--data", latents, option, path)
    assert code == 1 and stdout == "" and not path.exists()
    assert one_error_line(err) == "vae-explorer: error: " + message.format(path=path, folder=path.parent)


def test_a_seed_out_of_range_fails_before_any_slow_work(cli, latents, monkeypatch):
    from explorer.cli import common

    monkeypatch.setattr(common, "open_encoded", lambda args: pytest.fail("the data was opened first"))
    code, stdout, err = cli("disentangle", *MODEL, "--data", latents, "--seed", "-1")
    assert code == 1 and stdout == ""
    assert one_error_line(err) == "vae-explorer: error: --seed -1: a seed is a whole number from 0 to 2**32 - 1"


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--max-points", "10", "argument --max-points: must be at least 50, not 10"),
        ("--max-points", "lots", "argument --max-points: invalid int value: 'lots'"),
        ("--heatmap-of", "mi", "argument --heatmap-of: invalid choice: 'mi'"),
    ],
)
def test_a_bad_option_is_a_one_line_usage_error(cli, latents, option, value, message):
    code, out, err = cli("disentangle", *MODEL, "--data", latents, option, value)
    assert code == 2 and out == ""
    assert message in one_error_line(err) and "--help" in err


def test_the_commands_copies_of_core_constants_are_equal():
    # kept in the CLI module so --help imports neither numpy nor Pillow
    assert cli_module.MATRICES == D.MATRICES
    assert cli_module.DEFAULT_MAX_POINTS == D.MAX_POINTS and cli_module.MIN_POINTS == D.MIN_POINTS


# -- real data -----------------------------------------------------------------------------------
def test_disentangle_on_the_bundled_model_and_its_held_out_faces(cli, tmp_path, held_out_faces_cached):
    out = tmp_path / "faces.json"
    argv = ("disentangle", *MODEL, "--data", "builtin:faces:test", "--factors", "head_x,hat,smiling")
    code, stdout, err = cli(*argv, "--max-points", "600", "--json", out)
    assert code == 0, err
    assert stdout.splitlines()[0] == "disentanglement of builtin:faces on builtin:faces:test"
    facts = json.loads(out.read_text())
    assert facts["points"] == 2000 and facts["dims"] == list(range(16)) and facts["fit_points"] == 600
    assert facts["kinds"] == {"head_x": "continuous", "hat": "discrete", "smiling": "discrete"}
    # the figures follow from the cached encodings the command read
    mu = np.asarray(held_out_faces_cached.mu)
    from explorer.core.data import load_dataset

    faces = load_dataset("builtin:faces:test")
    mi = np.array(facts["matrices"]["mutual_info"])
    for k, name in enumerate(facts["factors"]):
        v = faces.label(name)
        v_codes = D.discretise(v) if facts["kinds"][name] == "continuous" else v.astype(int)
        best = facts["best_dim"][name]
        assert mi[best, k] == pytest.approx(mutual_info_score(v_codes, D.discretise(mu[:, best])), rel=1e-9)
        top = np.sort(mi[:, k])[::-1]
        assert facts["mig"]["per_factor"][name] == pytest.approx((top[0] - top[1]) / facts["entropy"][k], rel=1e-9)
    # what a VAE of these faces learns at the least: where the head is, and whether it wears a hat
    inform = facts["dci"]["informativeness_per_factor"]
    assert inform["head_x"] > 0.8 and inform["hat"] > 0.9
    for figure in (facts["mig"]["mean"], facts["sap"]["mean"], facts["dci"]["disentanglement"]):
        assert 0 <= figure <= 1
    assert f"MIG             {facts['mig']['mean']:.3f}" in stdout
