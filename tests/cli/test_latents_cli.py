"""The figure commands on a file of precomputed latents (issue 12): decoded by the bundled model."""

import numpy as np
import pytest
from PIL import Image

from explorer.core.data.latents_file import placeholder_image
from explorer_models import decode_images, load_model


@pytest.fixture(scope="module")
def model():
    return load_model("builtin:faces")


def _latents(tmp_path, d, name, **labels):
    mu = np.random.default_rng(d).standard_normal((30, d)).astype(np.float32)
    path = tmp_path / name
    np.savez(path, mu=mu, logvar=np.full((30, d), -3.0, np.float32), **labels)
    return path, mu


def test_strip_decodes_the_files_latents_with_placeholders_for_originals(cli, tmp_path, model, isolated_cache):
    path, mu = _latents(tmp_path, 16, "latents.npz")
    base = ("--model", "builtin:faces", "--data", str(path), "--device", "cpu", "--from", "0", "--to", "5")
    code, out, err = cli("strip", *base, "--steps", "2", "--padding", "0", "--out", str(tmp_path / "a.png"))
    assert code == 0, err
    assert out.startswith(
        f"wrote {tmp_path / 'a.png'} (2 images: slerp, 2 steps/segment: data point 0 -> data point 5)"
    )
    strip = np.asarray(Image.open(tmp_path / "a.png").convert("RGB"))
    assert np.array_equal(strip, np.concatenate(list(decode_images(model, mu[[0, 5]])), axis=1))
    assert not (isolated_cache / "encodings").exists()  # read from the file, not encoded nor stored

    args = ("--steps", "2", "--padding", "0", "--originals", "--out", str(tmp_path / "b.png"))
    code, out, err = cli("strip", *base, *args)
    assert code == 0, err
    assert "warning: no image (precomputed latents): --originals shows a grey placeholder" in err
    tiles = np.split(np.asarray(Image.open(tmp_path / "b.png").convert("RGB")), 4, axis=1)
    assert np.array_equal(tiles[0], placeholder_image((3, 64, 64))) and np.array_equal(tiles[3], tiles[0])
    assert np.array_equal(np.concatenate(tiles[1:3], axis=1), strip)


def test_a_sweep_along_a_label_of_the_file_works(cli, tmp_path):
    path, _ = _latents(tmp_path, 16, "labelled.npz", smiling=np.arange(30) % 2)
    argv = ("--model", "builtin:faces", "--data", str(path), "--device", "cpu", "--from", "3", "--vector", "smiling")
    code, _, err = cli("strip", *argv, "--steps", "3", "--out", str(tmp_path / "s.png"))
    assert code == 0, err
    assert (tmp_path / "s.png").is_file()


def test_latents_of_another_size_than_the_models_are_refused_in_one_line(cli, tmp_path):
    path, _ = _latents(tmp_path, 8, "eight.npz")
    argv = ("--model", "builtin:faces", "--data", str(path), "--device", "cpu", "--from", "0", "--to", "5")
    code, out, err = cli("strip", *argv, "--out", str(tmp_path / "x.png"))
    assert code == 1 and out == ""
    assert err.strip() == (
        f"vae-explorer: error: {path}: latents of size 8 but the model's latent size is 16; "
        "open the model that made them"
    )
    assert not (tmp_path / "x.png").exists()
