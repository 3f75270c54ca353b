"""`vae-explorer strip` and `grid`: headless figures from the bundled model and held-out faces."""

import json

import numpy as np
import pytest
from PIL import Image

from explorer.core.figures.export import sidecar_path
from explorer_models import decode_images, load_model

BASE = ("--model", "builtin:faces", "--data", "builtin:faces:test", "--device", "cpu")


# the held-out faces are encoded once per run, for every test that needs them (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("held_out_faces_cached")


@pytest.fixture(scope="module")
def model():
    return load_model("builtin:faces")


def test_strip_writes_the_same_bytes_twice_and_its_tiles_are_the_decoded_latents(cli, tmp_path, model):
    args = (
        *BASE,
        "--from",
        "3",
        "--via",
        "40",
        "--to",
        "17",
        "--steps",
        "5",
        "--method",
        "slerp",
        "--padding",
        "4",
        "--columns",
        "4",
        "--background",
        "#102030",
    )
    code, out, err = cli("strip", *args, "--out", str(tmp_path / "a.png"))
    assert code == 0, err
    assert out.startswith(
        f"wrote {tmp_path / 'a.png'} (9 images: slerp, 5 steps/segment: data point 3 -> data point 40 -> data point 17)"
    )
    assert "data support: " in out
    code, _, err = cli("strip", *args, "--out", str(tmp_path / "b.png"))
    assert code == 0, err
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()

    doc = json.loads(sidecar_path(tmp_path / "a.png").read_text())
    assert [k["index"] for k in doc["keyframes"]] == [3, 40, 17] and doc["spec"]["method"] == "slerp"
    assert doc["model"]["hash"] == model.info.content_hash
    latents = np.asarray(doc["latents"], np.float32)
    decoded = decode_images(model, latents)
    image = np.asarray(Image.open(tmp_path / "a.png").convert("RGB"))
    assert image.shape == (4 + 3 * (64 + 4), 4 + 4 * (64 + 4), 3)  # 9 tiles wrapped 4 per row
    for i, tile in enumerate(decoded):
        r, c = divmod(i, 4)
        y, x = 4 + r * 68, 4 + c * 68
        assert np.array_equal(image[y : y + 64, x : x + 64], tile), f"tile {i}"
    assert (image[:4] == (0x10, 0x20, 0x30)).all()


def test_strip_refuses_to_overwrite_without_force(cli, tmp_path):
    out = tmp_path / "strip.png"
    out.write_bytes(b"keep me")
    code, _, err = cli("strip", *BASE, "--from", "1", "--to", "2", "--out", str(out))
    assert code == 1 and err == f"vae-explorer: error: {out}: the file exists; add --force to replace it\n"
    assert out.read_bytes() == b"keep me"
    code, _, err = cli("strip", *BASE, "--from", "1", "--to", "2", "--out", str(out), "--force")
    assert code == 0, err
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--from", "2000", "--to", "1"],
            "--from 2000: no such data point; builtin:faces:test has 2,000 points (0 to 1,999)",
        ),
        (["--from", "1", "--via", "-1", "--to", "2"], "--via -1: no such data point"),
        (
            ["--from", "1", "--vector", "grin"],
            "--vector grin: no such file, and no label called 'grin' (labels: smiling, glasses",
        ),
        (["--from", "1", "--to", "2", "--vector", "smiling"], "give --to J (a strip between data points) or --vector"),
        (["--from", "1", "--to", "2", "--steps", "1"], "steps must be 2..64, got 1"),
        (["--from", "1", "--to", "2", "--background", "bluish"], "'bluish' is not a colour"),
    ],
)
def test_strip_errors_are_one_line_and_write_nothing(cli, tmp_path, extra, message):
    out = tmp_path / "s.png"
    code, _, err = cli("strip", *BASE, *extra, "--out", str(out))
    assert code == 1 and err.startswith("vae-explorer: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []


def test_a_sweep_along_a_label_or_a_saved_vector(cli, tmp_path, model):
    code, _, err = cli("vector", *BASE, "--label", "smiling", "--out", str(tmp_path / "smile.json"))
    assert code == 0, err
    for name, vector in (("label.png", "smiling"), ("file.png", str(tmp_path / "smile.json"))):
        code, out, err = cli(
            "strip",
            *BASE,
            "--from",
            "5",
            "--vector",
            vector,
            "--range",
            "-2",
            "2",
            "--steps",
            "5",
            "--out",
            str(tmp_path / name),
        )
        assert code == 0, err
        assert "(5 images: smiling, -2 to +2 sd, from data point 5)" in out
    # the label's mean-difference vector and the saved one are the same vector: the same figure
    assert (tmp_path / "label.png").read_bytes() == (tmp_path / "file.png").read_bytes()
    doc = json.loads(sidecar_path(tmp_path / "file.png").read_text())
    latents = np.asarray(doc["latents"])
    step = np.diff(latents, axis=0)
    assert np.allclose(step, step[0], atol=1e-5)  # equal steps along one direction
    assert np.allclose(np.linalg.norm(step[0]), doc["vector"]["std"], rtol=1e-5)  # one slider unit per step


def test_a_gif_has_one_frame_per_image(cli, tmp_path):
    out = tmp_path / "morph.gif"
    code, _, err = cli(
        "strip",
        *BASE,
        "--from",
        "1",
        "--to",
        "2",
        "--steps",
        "6",
        "--scale",
        "2",
        "--pingpong",
        "--duration",
        "100",
        "--out",
        str(out),
    )
    assert code == 0, err
    with Image.open(out) as im:
        assert im.n_frames == 10 and im.size == (128, 128) and im.info["duration"] == 100


def test_grid_and_analogy_grid(cli, tmp_path, model):
    code, _out, err = cli(
        "grid",
        *BASE,
        "--corners",
        "1",
        "2",
        "3",
        "4",
        "--size",
        "3",
        "4",
        "--method",
        "lerp",
        "--padding",
        "0",
        "--out",
        str(tmp_path / "grid.png"),
    )
    assert code == 0, err
    image = np.asarray(Image.open(tmp_path / "grid.png").convert("RGB"))
    assert image.shape == (3 * 64, 4 * 64, 3)
    doc = json.loads(sidecar_path(tmp_path / "grid.png").read_text())
    corners = decode_images(model, np.asarray(doc["latents"], np.float32)[[0, 3, 8, 11]])
    assert np.array_equal(image[:64, :64], corners[0]) and np.array_equal(image[128:, 192:], corners[3])

    code, _out, err = cli(
        "grid",
        *BASE,
        "--analogy",
        "1",
        "2",
        "3",
        "--size",
        "2",
        "2",
        "--method",
        "lerp",
        "--out",
        str(tmp_path / "analogy.png"),
    )
    assert code == 0, err
    doc = json.loads(sidecar_path(tmp_path / "analogy.png").read_text())
    a, b, c = (np.asarray(k["latent"]) for k in doc["keyframes"])
    assert np.allclose(doc["latents"][3], c + b - a, atol=1e-5)

    code, _, err = cli("grid", *BASE, "--corners", "1", "2", "3", "99999", "--out", str(tmp_path / "bad.png"))
    assert code == 1 and "--corners 99999: no such data point" in err
