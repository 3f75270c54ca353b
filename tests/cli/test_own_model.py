"""Issue 12 from the command line: `--model FILE.py:Class --weights W --trust-code` opens a
user's own VAE; `info` says which adapter was chosen; without --trust-code nothing runs."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import safetensors.torch
import torch
from PIL import Image

TUTORIAL_VAE = textwrap.dedent(
    """
    import torch
    from torch import nn
    from torch.nn import functional as F
    from pathlib import Path

    Path(__file__).with_name("imported").touch()  # proof that the file ran

    class VAE(nn.Module):
        def __init__(self, z_dim=3):
            super().__init__()
            self.fc1 = nn.Linear(784, 32)
            self.fc21, self.fc22 = nn.Linear(32, z_dim), nn.Linear(32, z_dim)
            self.fc3, self.fc4 = nn.Linear(z_dim, 32), nn.Linear(32, 784)

        def encode(self, x):
            h = F.relu(self.fc1(x))
            return self.fc21(h), self.fc22(h)

        def decode(self, z):
            return self.fc4(F.relu(self.fc3(z)))  # logits: trained with BCE-with-logits
    """
)


@pytest.fixture
def own_model(tmp_path):
    """A tutorial VAE file, its weights and 40 digit images as a .npy (sklearn's bundled digits,
    scaled up to MNIST's 28x28)."""
    from sklearn.datasets import load_digits

    (tmp_path / "vae.py").write_text(TUTORIAL_VAE)
    torch.manual_seed(0)
    weights = {
        "fc1.weight": torch.randn(32, 784) * 0.05,
        "fc1.bias": torch.zeros(32),
        "fc21.weight": torch.randn(3, 32) * 0.3,
        "fc21.bias": torch.zeros(3),
        "fc22.weight": torch.randn(3, 32) * 0.1,
        "fc22.bias": torch.full((3,), -2.0),
        "fc3.weight": torch.randn(32, 3),
        "fc3.bias": torch.zeros(32),
        "fc4.weight": torch.randn(784, 32) * 2,
        "fc4.bias": torch.zeros(784),
    }
    safetensors.torch.save_file(weights, tmp_path / "vae.safetensors")
    digits = np.kron(load_digits().images[:40], np.ones((3, 3)))
    np.save(tmp_path / "digits.npy", np.pad(digits * (255 / 16), ((0, 0), (2, 2), (2, 2))).astype(np.uint8))
    return tmp_path


def model_args(folder, *extra):
    return ["--model", f"{folder / 'vae.py'}:VAE", "--weights", folder / "vae.safetensors", *extra]


def test_info_names_the_adapter_it_chose(cli, own_model):
    code, out, err = cli("info", *model_args(own_model, "--trust-code"))
    assert code == 0, err
    assert "adapter       flattened 1x28x28 input; encode() -> (mu, log-variance); decode() -> logits" in out
    assert "likelihood    Bernoulli" in out
    assert "latent size   3" in out
    code, out, _ = cli("info", "--json", *model_args(own_model, "--trust-code"))
    facts = json.loads(out)
    assert facts["architecture"]["adapter"].startswith("flattened 1x28x28 input") and facts["latent_dim"] == 3
    assert facts["parameters"] == 32 * 784 + 32 + 2 * (3 * 32 + 3) + 32 * 3 + 32 + 784 * 32 + 784


def test_without_trust_code_the_file_never_runs(cli, own_model):
    code, out, err = cli("info", *model_args(own_model))
    assert code == 1 and out == ""
    assert err.startswith(f"vae-explorer: error: {own_model / 'vae.py'}: a Python file, which runs code on this")
    assert "--trust-code" in err and err.count("\n") == 1
    assert not (own_model / "imported").exists()


def test_a_strip_with_a_users_model_and_a_numpy_dataset(cli, own_model):
    out_png = own_model / "strip.png"
    code, _, err = cli(
        "strip",
        *model_args(own_model, "--trust-code"),
        "--data",
        own_model / "digits.npy",
        "--from",
        "0",
        "--to",
        "5",
        "--steps",
        "4",
        "--out",
        out_png,
    )
    assert code == 0, err
    assert (own_model / "imported").exists()
    strip = np.asarray(Image.open(out_png))
    assert strip.shape[:2] == (28 + 2 * 2, 4 * 28 + 5 * 2)  # four 28-pixel images in a 2-pixel frame
    sidecar = json.loads((own_model / "strip.png.json").read_text())
    assert sidecar["model"]["spec"].startswith(f"{own_model / 'vae.py'}:VAE")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--image-shape", "1,28"], "--image-shape '1,28': give channels,height,width"),
        (["--image-shape", "9,28,28"], "--image-shape '9,28,28': channels 1 to 4"),
        (["--model-args", "{oops"], "--model-args: not valid JSON"),
    ],
)
def test_bad_model_options_are_one_line(cli, own_model, extra, message):
    code, _, err = cli("info", *model_args(own_model, "--trust-code", *extra))
    assert code == 1
    assert message in err and err.count("\n") == 1


def test_labels_names_a_labels_file_for_a_folder(cli, tmp_path):
    """--labels FILE: the labels of a folder of images from a file elsewhere (here CelebA's format)."""
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(12):
        Image.new("RGB", (64, 64), (20 * i, 100, 255 - 20 * i)).save(folder / f"{i:02d}.png")
    attrs = tmp_path / "attrs.txt"
    attrs.write_text("12\nBright\n" + "".join(f"{i:02d}.png {1 if i >= 6 else -1}\n" for i in range(12)))
    out = tmp_path / "bright.json"
    argv = ["vector", "--model", "builtin:faces", "--data", folder, "--label", "Bright", "--out", out]
    code, _, err = cli(*argv, "--labels", attrs)
    assert code == 0, err
    assert json.loads(out.read_text())["vectors"][0]["name"] == "Bright"
    code, _, err = cli(*argv, "--force")  # without it: the folder has no such label
    assert code == 1 and err.endswith("faces: has no labels to make a vector from\n")
