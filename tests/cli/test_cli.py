import json
import shutil
import subprocess
import sys

import pytest

from explorer import __version__


def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == f"vae-explorer {__version__}"


def test_help_lists_the_subcommands(cli):
    code, out, _ = cli("--help")
    assert code == 0
    assert "train" in out and "info" in out and "explorer window" in out and "--screenshot" in out


def test_installed_console_script_runs():
    exe = shutil.which("vae-explorer")
    assert exe, "vae-explorer is not on PATH: install the package (pip install -e .)"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"vae-explorer {__version__}"


def test_python_dash_m_reports_a_missing_file_in_one_line(tmp_path):
    missing = tmp_path / "nope.safetensors"
    out = subprocess.run(
        [sys.executable, "-m", "explorer", "info", "--model", str(missing)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1
    assert (
        out.stderr.strip() == f"vae-explorer: error: {missing}: no such file (a model SPEC is builtin:faces, "
        f"builtin:faces-beta1, a .safetensors checkpoint, FILE.py:ClassName, a TorchScript .pt or a pythae folder)"
    )
    assert "Traceback" not in out.stderr


def test_info_on_the_bundled_model(cli):
    code, out, _ = cli("info", "--model", "builtin:faces")
    assert code == 0
    assert out.startswith("builtin:faces\n")
    assert "latent size   16" in out
    assert "image shape   3 x 64 x 64" in out
    assert "smiling, glasses, eyes_open, hat" in out
    assert "held-out      ELBO" in out and "builtin:faces:test" in out
    assert "recipe        vae-explorer train --data builtin:faces" in out


def test_info_json(cli):
    code, out, _ = cli("info", "--model", "builtin:faces", "--json")
    facts = json.loads(out)
    assert code == 0
    assert facts["latent_dim"] == 16 and facts["image_shape"] == [3, 64, 64]
    assert facts["label_names"][:4] == ["smiling", "glasses", "eyes_open", "hat"]
    assert facts["parameters"] > 100_000 and len(facts["content_sha256"]) == 64
    assert facts["training"]["dataset"] == "builtin:faces"


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["info", "--model", "builtin:cats"],
            "vae-explorer: error: unknown built-in model 'builtin:cats'; available: builtin:faces",
        ),
        (
            ["info", "--model", "model.pt"],
            "vae-explorer: error: model.pt: no such file (a model SPEC is builtin:faces, builtin:faces-beta1, a "
            ".safetensors checkpoint",
        ),
        (
            ["train", "--data", "builtin:dogs", "--out", "{tmp}/m.safetensors"],
            "vae-explorer: error: unknown built-in dataset 'builtin:dogs'",
        ),
        (
            ["train", "--data", "{tmp}/none", "--out", "{tmp}/m.safetensors"],
            "vae-explorer: error: {tmp}/none: no such file or folder",
        ),
        (
            ["train", "--data", "builtin:faces", "--out", "{tmp}/m.pt"],
            "vae-explorer: error: --out {tmp}/m.pt: the file name must end in .safetensors",
        ),
        (
            ["train", "--data", "builtin:faces", "--out", "{tmp}/no/m.safetensors"],
            "vae-explorer: error: --out {tmp}/no/m.safetensors: folder {tmp}/no does not exist",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_1(cli, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = cli(*argv)
    assert code == 1
    assert err.startswith(message.replace("{tmp}", str(tmp_path)))
    assert len(err.strip().splitlines()) == 1 and out == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["info"], "the following arguments are required: --model"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["train", "--data", "x", "--out", "y", "--arch", "rnn"], "argument --arch: invalid choice: 'rnn'"),
        (["train", "--data", "x", "--out", "y", "--epochs", "many"], "argument --epochs: invalid int value: 'many'"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(cli, argv, message):
    code, _, err = cli(*argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err and "--help" in err


@pytest.fixture
def picture_folder(make_pictures):
    return make_pictures(24, 32)


def test_train_writes_a_model_that_info_reads(cli, tmp_path, picture_folder):
    out_path = tmp_path / "mine.safetensors"
    code, out, err = cli(
        "train",
        "--data",
        str(picture_folder),
        "--out",
        str(out_path),
        "--image-size",
        "32",
        "--latent-dim",
        "3",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--device",
        "cpu",
    )
    assert code == 0, err
    assert out_path.exists()
    assert "ELBO" in err and "epoch 2/2" in err  # the progress bar shows the terms
    code, out, _ = cli("info", "--model", str(out_path), "--json")
    facts = json.loads(out)
    assert facts["latent_dim"] == 3 and facts["image_shape"] == [3, 32, 32] and facts["name"] == "mine"
    assert facts["training"]["epochs"] == 2 and facts["training"]["images"] == 24
    assert set(facts["training"]["final_train"]) == {"elbo", "recon", "kl"}
    assert "heldout" not in facts["training"]  # an image folder has no held-out split

    before = out_path.read_bytes()
    code, _, err = cli("train", "--data", str(picture_folder), "--out", str(out_path), "--epochs", "1")
    assert code == 1 and "the file exists; add --force to replace it" in err
    assert out_path.read_bytes() == before


def test_train_refuses_an_image_size_the_conv_vae_cannot_take(cli, tmp_path, picture_folder):
    out = tmp_path / "m.safetensors"
    code, _, err = cli("train", "--data", picture_folder, "--out", out, "--image-size", "48")
    assert code == 1 and "--image-size 48: the conv VAE takes square images of 32, 64, 128 px" in err


def test_vector_command_saves_a_vector_for_the_model_and_prints_its_quality(cli, tmp_path, held_out_faces_cached):
    from explorer.core.space.vector_file import load_vectors
    from explorer_models import load_model

    out = tmp_path / "smile.json"
    code, stdout, err = cli(
        "vector",
        "--model",
        "builtin:faces",
        "--data",
        "builtin:faces:test",
        "--label",
        "smiling",
        "--balance-by",
        "glasses",
        "--out",
        str(out),
        "--device",
        "cpu",
    )
    assert code == 0, err
    assert stdout.startswith("smiling (balanced by glasses): balanced on builtin:faces:test (2,000 points)")
    assert f"saved to {out}" in stdout
    model = load_model("builtin:faces")
    (vector,) = load_vectors(out, model.info.content_hash, model.latent_dim)
    assert vector.confounders == ("glasses",) and vector.quality.n_positive + vector.quality.n_negative == 2000
    assert f"AUC {vector.quality.auc:.4f}   Cohen's d {vector.quality.cohens_d:.3f}" in stdout
    assert 0.5 < vector.quality.auc <= 1

    code, _, err = cli(
        "vector",
        "--model",
        "builtin:faces",
        "--data",
        "builtin:faces:test",
        "--label",
        "smiling",
        "--out",
        str(out),
    )
    assert code == 1 and "the file exists; add --force" in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--label", "grin"], "no label called 'grin' (labels: smiling, glasses"),
        (["--label", "smiling", "--balance-by", "moustache"], "no label called 'moustache'"),
        (["--label", "head_x"], "label 'head_x' is not binary"),
    ],
)
def test_vector_command_errors(cli, tmp_path, extra, message):
    code, _out, err = cli(
        "vector",
        "--model",
        "builtin:faces",
        "--data",
        "builtin:faces:test",
        "--out",
        str(tmp_path / "v.json"),
        *extra,
    )
    assert code == 1 and err.startswith("vae-explorer: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "v.json").exists()
