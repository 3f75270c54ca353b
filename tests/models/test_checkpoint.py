import json
from pathlib import Path

import pytest
import safetensors
import safetensors.torch
import torch

from explorer_models import (
    CheckpointError,
    ModelInfo,
    ModelSpecError,
    VAEConfig,
    build_model,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from explorer_models.atomic import atomic_write


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(1)
    model = build_model(
        VAEConfig("conv", (3, 32, 32), latent_dim=6, widths=(8, 16, 16), likelihood="gaussian"),
        ModelInfo(name="tiny", label_names=("a", "b"), training={"epochs": 3, "final": {"elbo": -1.5}}),
    )
    with torch.no_grad():  # move the learned sigma off its initial value so the test sees it kept
        model.log_sigma.fill_(-1.234)
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(model, path)
    return model.eval(), path


def _rewrite(path, out, metadata_update=None, tensor_update=None):
    with safetensors.safe_open(str(path), "pt") as f:
        metadata = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    metadata.update(metadata_update or {})
    tensors.update(tensor_update or {})
    out.write_bytes(safetensors.torch.save(tensors, metadata=metadata))
    return out


def test_round_trip_gives_bit_identical_outputs(saved):
    model, path = saved
    loaded = load_checkpoint(path)
    x = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    z = torch.randn(5, 6, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        for a, b in zip(model.encode(x), loaded.encode(x)):
            assert torch.equal(a, b)
        assert torch.equal(model.decode(z), loaded.decode(z))
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    assert loaded.config == model.config
    assert loaded.info.name == "tiny" and loaded.info.label_names == ("a", "b")
    assert loaded.info.training == {"epochs": 3, "final": {"elbo": -1.5}}
    assert loaded.info.content_hash == model.info.content_hash and len(loaded.info.content_hash) == 64
    assert not loaded.training  # eval mode


def test_content_hash_changes_with_the_weights(saved, tmp_path):
    model, path = saved
    with torch.no_grad():
        model.log_sigma.add_(1e-3)
    save_checkpoint(model, tmp_path / "other.safetensors")
    assert load_checkpoint(tmp_path / "other.safetensors").info.content_hash != load_checkpoint(path).info.content_hash


@pytest.mark.parametrize("keep", [0.5, 0.999, 20])
def test_truncated_file_is_refused_with_its_name(saved, tmp_path, keep):
    _, path = saved
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: int(len(data) * keep) if keep < 1 else keep])
    with pytest.raises(CheckpointError, match=r"cut\.safetensors: not a readable \.safetensors file.*truncated"):
        load_checkpoint(cut)


def test_flipped_byte_in_the_weights_is_detected(saved, tmp_path):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"flipped\.safetensors: .*checksum.*damaged"):
        load_checkpoint(bad)


def test_config_that_does_not_fit_the_weights_is_refused(saved, tmp_path):
    model, path = saved
    wrong = json.loads(model.config.to_json()) | {"latent_dim": 9}
    bad = _rewrite(path, tmp_path / "mismatch.safetensors", {"config": json.dumps(wrong)})
    with pytest.raises(
        CheckpointError,
        match=r"mismatch\.safetensors: the weights do not match the model "
        r"config: .*shape",
    ):
        load_checkpoint(bad)


@pytest.mark.parametrize(
    "update, message",
    [
        (
            {"config": json.dumps({"arch": "transformer", "image_shape": [3, 32, 32]})},
            "invalid model config: config.arch is 'transformer', not one of conv, mlp",
        ),
        (
            {"config": json.dumps({"arch": "conv", "image_shape": [3, 32, 32], "depth": 3})},
            "invalid model config: config has unknown entries depth",
        ),
        ({"config": "{not json"}, "header entry 'config' is not valid JSON"),
        ({"vae_explorer_format": "99"}, "checkpoint format '99' is not supported"),
    ],
)
def test_bad_header_is_refused_with_the_reason(saved, tmp_path, update, message):
    _, path = saved
    bad = _rewrite(path, tmp_path / "bad.safetensors", update)
    with pytest.raises(CheckpointError, match=r"bad\.safetensors: " + message):
        load_checkpoint(bad)


def test_missing_tensor_is_named(saved, tmp_path):
    _, path = saved
    with safetensors.safe_open(str(path), "pt") as f:
        metadata, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys() if k != "log_sigma"}
    bad = tmp_path / "partial.safetensors"
    bad.write_bytes(safetensors.torch.save(tensors, metadata=metadata))
    with pytest.raises(CheckpointError, match="missing tensors log_sigma"):
        load_checkpoint(bad)


def test_foreign_safetensors_file_is_not_taken_for_a_checkpoint(tmp_path):
    path = tmp_path / "foreign.safetensors"
    path.write_bytes(safetensors.torch.save({"w": torch.zeros(2)}))
    with pytest.raises(CheckpointError, match="not a vae-explorer checkpoint"):
        load_checkpoint(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.safetensors: no such file"):
        load_checkpoint(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)


def test_load_model_answers_weights_alone_and_unknown_specs(tmp_path):
    pickle_file = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(1)}, pickle_file)
    with pytest.raises(ModelSpecError, match=r"model\.pt: holds weights only .* --model your_model\.py:ClassName"):
        load_model(pickle_file)
    with pytest.raises(ModelSpecError, match="unknown built-in model 'builtin:cats'; available: builtin:faces"):
        load_model("builtin:cats")
    with pytest.raises(ModelSpecError, match=r"missing\.safetensors: no such file"):
        load_model(tmp_path / "missing.safetensors")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"old content")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write(b"half of the new")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_failed_save_leaves_an_existing_checkpoint_intact(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(safetensors.torch, "save", broken)
    with pytest.raises(OSError):
        save_checkpoint(model, path)
    assert path.read_bytes() == before


def test_atomic_write_gives_new_files_ordinary_permissions_and_keeps_existing_ones(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "new.bin") as f:
            f.write(b"x")
        assert (tmp_path / "new.bin").stat().st_mode & 0o777 == 0o644
        (tmp_path / "old.bin").write_bytes(b"old")
        (tmp_path / "old.bin").chmod(0o600)
        with atomic_write(tmp_path / "old.bin") as f:
            f.write(b"new")
        assert (tmp_path / "old.bin").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


def _config(model, **changes) -> str:
    return json.dumps(json.loads(model.config.to_json()) | changes)


# Each case of issue 11 ("checkpoint metadata is trusted as typed", "configs that allocate
# without limit"): refused before anything is built, naming the file and the field.
HEADER_CASES = {
    "latent_dim as a float": (
        lambda m: {"config": _config(m, latent_dim=6.0)},
        "config.latent_dim is a number, not a whole number",
    ),
    "latent_dim as true": (lambda m: {"config": _config(m, latent_dim=True)}, "config.latent_dim is true/false"),
    "image_shape of 100000 px": (
        lambda m: {"config": _config(m, arch="mlp", image_shape=[3, 100_000, 100_000], widths=[8])},
        r"config.image_shape\[1\] is 100000, more than 1,024",
    ),
    "huge layer widths": (
        lambda m: {"config": _config(m, arch="mlp", image_shape=[3, 1024, 1024], widths=[16_384, 16_384])},
        "the model config asks for [0-9,]+ weights, more than the 500,000,000",
    ),
    "image_shape nested": (
        lambda m: {"config": _config(m, image_shape=[[3], 32, 32])},
        r"config.image_shape\[0\] is a list",
    ),
    "label_names as an int": (
        lambda m: {"label_names": "7"},
        "invalid header: label_names is a whole number, not a list",
    ),
    "label_names nested": (lambda m: {"label_names": '[["a"], "b"]'}, r"label_names\[0\] is a list, not text"),
    "training as a list": (lambda m: {"training": "[1, 2]"}, "invalid header: training is a list, not an object"),
    "training.final_train empty": (
        lambda m: {"training": '{"final_train": {}}'},
        "training.final_train has no elbo, recon, kl",
    ),
    "training.images as text": (
        lambda m: {"training": '{"images": "many"}'},
        "training.images is text, not a whole number",
    ),
    "training.heldout NaN": (
        lambda m: {"training": '{"heldout": {"elbo": NaN, "recon": 1, "kl": 1}}'},
        "training.heldout.elbo is nan, not a finite number",
    ),
    "training nested 100,000 deep": (lambda m: {"training": "[" * 100_000 + "]" * 100_000}, "nested too deeply"),
}


@pytest.mark.parametrize("case", list(HEADER_CASES))
def test_a_header_field_of_the_wrong_type_or_size_is_refused_naming_it(saved, tmp_path, case, capsys):
    from explorer.cli import main as cli_main

    model, path = saved
    update, message = HEADER_CASES[case]
    bad = _rewrite(path, tmp_path / "bad.safetensors", update(model))
    with pytest.raises(CheckpointError, match=r"bad\.safetensors: .*" + message):
        load_checkpoint(bad)
    assert cli_main(["info", "--model", str(bad)]) == 1  # `vae-explorer info`: one line, no traceback
    err = capsys.readouterr().err
    assert err.startswith("vae-explorer: error: ") and "bad.safetensors" in err and "Traceback" not in err


def test_a_checkpoint_behind_a_folder_that_cannot_be_searched_is_one_line(tmp_path, monkeypatch):
    locked = tmp_path / "locked" / "m.safetensors"
    real_stat = Path.stat

    def stat(self, *args, **kwargs):  # what a chmod 000 folder does to a user who is not root
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    with pytest.raises(ModelSpecError, match=r"locked/m\.safetensors: cannot be read \(Permission denied\)"):
        load_model(str(locked))
    with pytest.raises(CheckpointError, match=r"locked/m\.safetensors: cannot be read \(Permission denied\)"):
        load_checkpoint(locked)
