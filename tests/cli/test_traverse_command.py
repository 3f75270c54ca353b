"""`vae-explorer traverse`: a traversal of the bundled model over the held-out faces, its pixels
the decoding of the documented latents, its sidecar, and its one-line errors."""

import json

import numpy as np
import pytest
from PIL import Image

from explorer.cli import traverse as cli_traverse
from explorer.core.figures import traversal as T
from explorer.core.figures.export import sidecar_path
from explorer_models import decode_images, load_model

BASE = ("--model", "builtin:faces", "--data", "builtin:faces:test", "--device", "cpu")
TILE = 64


@pytest.fixture(scope="module")
def model():
    return load_model("builtin:faces")


def kl_per_dim(enc):
    mu, logvar = np.asarray(enc.mu, np.float64), np.asarray(enc.logvar, np.float64)
    return (0.5 * (mu**2 + np.exp(logvar) - logvar - 1)).mean(0)


def test_names_match_the_core():
    assert cli_traverse.RANGES == T.RANGES and cli_traverse.SORTS == T.SORTS


def test_a_traversal_from_a_data_point_is_the_decoding_of_the_documented_latents(
    cli, tmp_path, model, held_out_faces_cached
):
    enc = held_out_faces_cached
    out = tmp_path / "t.png"
    code, text, err = cli(
        "traverse",
        *BASE,
        "--dims",
        "4,0,9",
        "--range",
        "fixed:-2,2.5",
        "--columns",
        "5",
        "--base",
        "7",
        "--padding",
        "3",
        "--out",
        out,
    )
    assert code == 0, err
    assert text.startswith(f"wrote {out} (3 x 5 images: traversal of 3 dims (by KL), -2 to +2.5, from data point 7)")

    kl = kl_per_dim(enc)
    dims = sorted([4, 0, 9], key=lambda u: -kl[u])
    base = np.asarray(enc.mu[7], np.float32)
    latents = np.repeat(base[None], 15, axis=0).reshape(3, 5, -1)
    for r, u in enumerate(dims):
        latents[r, :, u] = np.linspace(-2, 2.5, 5)
    latents = latents.reshape(15, -1)

    doc = json.loads(sidecar_path(out).read_text())
    assert [row["dim"] for row in doc["rows"]] == dims
    assert np.allclose([row["kl"] for row in doc["rows"]], kl[dims], rtol=1e-6)
    assert np.array_equal(np.asarray(doc["latents"], np.float32), latents)
    assert doc["spec"]["kind"] == "traversal" and doc["spec"]["range"] == "fixed"
    assert (doc["spec"]["lo"], doc["spec"]["hi"], doc["spec"]["columns"]) == (-2.0, 2.5, 5)
    assert doc["spec"]["dims"] == [4, 0, 9] and doc["spec"]["base"] == "point" and doc["spec"]["index"] == 7
    assert doc["spec"]["layout"]["padding"] == 3 and doc["model"]["hash"] == model.info.content_hash

    image = np.asarray(Image.open(out).convert("RGB"))
    grid_width = 3 + 5 * (TILE + 3)
    label_width = image.shape[1] - grid_width
    assert image.shape[0] == 3 + 3 * (TILE + 3) and label_width > 40  # three rows, labels on the left
    decoded = decode_images(model, latents)
    for i, tile in enumerate(decoded):
        r, c = divmod(i, 5)
        x, y = label_width + 3 + c * (TILE + 3), 3 + r * (TILE + 3)
        assert np.array_equal(image[y : y + TILE, x : x + TILE], tile), f"tile {i}"
    assert (image[:3] == 255).all()  # white padding above the first row


def test_a_sigma_traversal_from_the_data_mean_without_labels(cli, tmp_path, model, held_out_faces_cached):
    enc = held_out_faces_cached
    out = tmp_path / "mean.png"
    code, _, err = cli(
        "traverse", *BASE, "--dims", "all", "--sort", "index", "--columns", "3", "--no-labels", "--out", out
    )
    assert code == 0, err
    d = enc.mu.shape[1]
    doc = json.loads(sidecar_path(out).read_text())
    assert doc["spec"]["range"] == "sigma" and doc["spec"]["sigmas"] == 3.0 and doc["base"]["source"] == "data mean"
    mean = np.asarray(enc.mu, np.float64).mean(0)
    latents = np.asarray(doc["latents"], np.float32).reshape(d, 3, d)
    for u in range(d):
        want = np.repeat(mean[None], 3, axis=0)
        want[:, u] = mean[u] + np.array([-3.0, 0.0, 3.0])
        assert np.allclose(latents[u], want, atol=1e-5), u
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (2 + d * (TILE + 2), 2 + 3 * (TILE + 2), 3)
    decoded = decode_images(model, latents.reshape(-1, d))
    for i in (0, 2, 3 * d - 1):
        r, c = divmod(i, 3)
        y, x = 2 + r * (TILE + 2), 2 + c * (TILE + 2)
        assert np.array_equal(image[y : y + TILE, x : x + TILE], decoded[i]), f"tile {i}"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--range", "sigma"], "argument --range: 'sigma': sigma takes 1 finite number, e.g. sigma:3"),
        (["--range", "fixed:1,1"], "argument --range: 'fixed:1,1': the two ends of a fixed range must differ"),
        (
            ["--range", "normal:2"],
            "argument --range: 'normal:2': the range kind must be one of fixed, sigma, quantiles",
        ),
        (["--range", "quantiles:0.6"], "argument --range: 'quantiles:0.6': the quantile Q must be 0 to below 0.5"),
        (["--dims", "1,b"], "argument --dims: '1,b': give all or dimension numbers such as 0,3,5"),
        (["--dims", "2,2"], "argument --dims: '2,2': a dimension is named twice"),
    ],
)
def test_a_bad_range_or_dims_is_a_one_line_usage_error(cli, tmp_path, extra, message):
    code, _, err = cli("traverse", *BASE, *extra, "--out", tmp_path / "t.png")
    assert code == 2 and err.startswith("vae-explorer traverse: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--dims", "3,16"], "dims: no dimension 16; the model has 16 (0 to 15)"),
        (["--base", "2000"], "--base 2000: no such data point"),
        (["--columns", "1"], "--columns: columns must be 2..32, got 1"),
    ],
)
def test_what_only_the_model_or_data_can_refuse_is_a_one_line_error(cli, tmp_path, extra, message):
    code, _, err = cli("traverse", *BASE, *extra, "--out", tmp_path / "t.png")
    assert code == 1 and err.startswith("vae-explorer: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []
