"""Issue 13: `vae-explorer encode` writes a dataset's latents file, whole or one shard of N;
`vae-explorer merge` joins shards into a file equal to a whole encode bit for bit; the file
opens as a data SPEC with its terms; a cancelled encode resumes to the same result."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
import torch

from explorer.core.data import load_dataset, load_for_model
from explorer.core.steps import run_steps
from explorer.core.store import encoding, shards
from explorer_models import ModelInfo, VAEConfig, build_model, load_model, save_checkpoint

N = 700  # not a multiple of shards.CHUNK: the last chunk and the last shard are short


@pytest.fixture
def files(tmp_path, isolated_cache):
    """A small conv VAE for 32x32 RGB and 700 images with two labels, as an .npz."""
    torch.manual_seed(0)
    model = build_model(VAEConfig("conv", (3, 32, 32), latent_dim=6, widths=(8, 8, 8)), ModelInfo(name="small"))
    save_checkpoint(model, tmp_path / "small.safetensors")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "data.npz", images=images, smiling=rng.integers(0, 2, N), age=rng.random(N))
    return tmp_path


def encode(cli, folder, out, *extra):
    argv = ["encode", "--model", folder / "small.safetensors", "--data", folder / "data.npz", "--device", "cpu"]
    code, stdout, err = cli(*argv, "--out", folder / out, *extra)
    assert code == 0, err
    return stdout


def test_shards_merged_equal_a_whole_encode_bit_for_bit(cli, files):
    encode(cli, files, "whole.npz")
    assert shards.shard_rows(N, 0, 3) == range(0, 256) and shards.shard_rows(N, 2, 3) == range(512, N)
    for i in (2, 0, 1):  # in any order, as an array job's tasks finish
        stdout = encode(cli, files, f"part{i}.npz", "--shard", f"{i}/3")
        assert f"shard {i}/3" in stdout
    parts = [files / f"part{i}.npz" for i in (1, 2, 0)]
    code, stdout, err = cli("merge", *parts, "--out", files / "merged.npz")
    assert code == 0, err
    assert stdout.startswith(f"wrote {files / 'merged.npz'} (700 points from 3 shards)")
    whole, merged = np.load(files / "whole.npz"), np.load(files / "merged.npz")
    assert sorted(whole.files) == sorted(merged.files)
    for key in ("mu", "logvar", "recon", "kl", "mse", "smiling", "age"):
        assert np.array_equal(whole[key], merged[key]), key  # bit for bit
    meta = json.loads(bytes(merged[shards.META]).decode())
    assert meta["rows"] == [0, N] and meta["shard"] is None and meta["n"] == N
    model = load_model(files / "small.safetensors")
    assert meta["model_hash"] == model.info.content_hash


def test_the_latents_file_opens_as_data_with_its_terms_and_labels(cli, files):
    encode(cli, files, "all.npz")
    model = load_model(files / "small.safetensors")
    opened = load_for_model(files / "all.npz", model.image_shape, model.latent_dim)
    enc = encoding.file_encodings(opened)
    direct = encoding.encode_all(model, load_dataset(files / "data.npz", 32, 3).images)
    np.testing.assert_allclose(enc.mu, direct.mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(enc.recon, direct.recon, rtol=1e-5)  # the terms came with it, not NaN
    assert opened.label_names == ("smiling", "age") and opened.warnings == ()


def test_a_cancelled_shard_encode_resumes_to_the_same_result(files):
    model = load_model(files / "small.safetensors")
    dataset = load_for_model(files / "data.npz", model.image_shape)
    rows = shards.shard_rows(N, 1, 2)  # rows 256 to 699
    steps = shards.encode_rows_steps(model, dataset, rows, "cpu")
    next(steps)  # one chunk of 256, then the user cancels
    steps.close()
    resumed = run_steps(shards.encode_rows_steps(model, dataset, rows, "cpu"))
    assert resumed.resumed_from == shards.CHUNK
    fresh = encoding.encode_dataset_steps(
        model, shards.RowRange(dataset, rows), "cpu", None, first_chunk=shards.CHUNK, fixed_chunk=True
    )
    uninterrupted = run_steps(fresh).encodings
    for column in ("mu", "logvar", "recon", "kl", "mse"):
        assert np.array_equal(getattr(resumed.encodings, column), getattr(uninterrupted, column)), column


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda f: [f / "part0.npz", f / "part0.npz"], r"part0\.npz: holds rows 0 to 255, which overlaps"),
        (lambda f: [f / "part0.npz"], r"the shards hold rows 0 to 255 of 700: the last ones are missing"),
        (lambda f: [f / "part0.npz", f / "other.npz"], r"other\.npz: another encode than .*part0\.npz \(model_hash"),
        (lambda f: [f / "part0.npz", f / "data.npz"], r"data\.npz: not a latents file of `vae-explorer encode`"),
    ],
)
def test_merge_refuses_shards_that_do_not_make_one_encode(cli, files, make, message):
    encode(cli, files, "part0.npz", "--shard", "0/2")
    torch.manual_seed(1)  # another model: its shard 1 does not belong with the first model's shard 0
    other = build_model(VAEConfig("conv", (3, 32, 32), latent_dim=6, widths=(8, 8, 8)), ModelInfo(name="other"))
    save_checkpoint(other, files / "other.safetensors")
    argv = ["encode", "--model", files / "other.safetensors", "--data", files / "data.npz", "--device", "cpu"]
    assert cli(*argv, "--shard", "1/2", "--out", files / "other.npz")[0] == 0
    code, _, err = cli("merge", *make(files), "--out", files / "merged.npz")
    assert code == 1 and err.count("\n") == 1
    assert re.search(message, err), err
    assert not (files / "merged.npz").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--shard", "3/3"], "--shard '3/3': give I/N with 0 <= I < N"),
        (["--shard", "x"], "--shard 'x': give I/N"),
    ],
)
def test_bad_shard_options_are_one_line(cli, files, extra, message):
    argv = ["encode", "--model", files / "small.safetensors", "--data", files / "data.npz"]
    code, _, err = cli(*argv, "--out", files / "x.npz", *extra)
    assert code == 1 and message in err and not (files / "x.npz").exists()


@pytest.fixture
def local_ray(files):
    """A local Ray instance of 2 workers (CPUs), stopped after the test."""
    ray = pytest.importorskip("ray")  # installed with the test extra; the skip is for a bare install
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_the_ray_engine_on_a_local_instance_equals_the_single_process_encode(cli, files, local_ray):
    encode(cli, files, "whole.npz")
    stdout = encode(cli, files, "on-ray.npz", "--engine", "ray", "--shards", "3")
    assert stdout.startswith(f"wrote {files / 'on-ray.npz'} (700 points from 3 Ray tasks)")
    whole, on_ray = np.load(files / "whole.npz"), np.load(files / "on-ray.npz")
    for key in ("mu", "logvar", "recon", "kl", "mse", "smiling", "age"):
        assert np.array_equal(whole[key], on_ray[key]), key
    assert local_ray.is_initialized()  # it used the instance it found, and left it running
    code, _, err = cli("encode", "--model", files / "small.safetensors", "--data", files / "data.npz",
                           "--engine", "ray", "--shard", "0/2", "--out", files / "x.npz")  # fmt: skip
    assert code == 1 and "--shard and --engine ray: give one" in err


def test_without_ray_installed_the_message_says_how_to_get_it(cli, files, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    code, _, err = cli("encode", "--model", files / "small.safetensors", "--data", files / "data.npz",
                           "--engine", "ray", "--out", files / "x.npz")  # fmt: skip
    assert code == 1 and '--engine ray needs Ray: pip install "vae-explorer[ray]"' in err
