"""pythae model folders: written by the real pythae package, read without unpickling anything
(unless the folder holds the user's pickled networks and the user trusted it), seen through the
model contract; every bad folder is a ModelSpecError or CheckpointError naming the file."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pickle
import sys

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from explorer_models import CheckpointError, LatentModel, ModelSpecError, load_model
from explorer_models.contract import Likelihood, likelihood_of
from explorer_models.pythae_folder import PythaeModel, load_pythae_folder
from explorer_models.sources import ModelSource, TrustRequired, file_sha256

LATENT = 4


def _digits(n: int = 16) -> torch.Tensor:
    """sklearn's bundled 8x8 digits as (n, 1, 28, 28) in [0, 1]: scaled up 3x, padded 2 px."""
    from sklearn.datasets import load_digits

    images = torch.from_numpy(load_digits().images[:n] / 16).float()[:, None]
    return F.pad(F.interpolate(images, size=(24, 24), mode="nearest"), (2, 2, 2, 2))


def _save(model, folder):
    """model.save(folder), as a user would; pythae registers the module of a custom network for
    cloudpickle's pickling by value, which is undone here so no other test sees it."""
    import cloudpickle

    try:
        model.save(str(folder))
    finally:
        for net in (model.encoder, model.decoder):
            try:
                cloudpickle.unregister_pickle_by_value(inspect.getmodule(net))
            except ValueError:  # pythae's own networks' module was never registered
                pass
    return folder


def _vae(tmp_path, reconstruction_loss="bce", input_dim=(1, 28, 28), **nets):
    """(folder, model): a seeded pythae VAE saved by pythae itself."""
    pythae_models = pytest.importorskip("pythae.models")
    torch.manual_seed(0)
    config = pythae_models.VAEConfig(input_dim=input_dim, latent_dim=LATENT, reconstruction_loss=reconstruction_loss)
    model = pythae_models.VAE(config, **nets).eval()
    return _save(model, tmp_path / "vae"), model


def _custom_nets(sigmoid: bool = True):
    """A small conv encoder and a linear decoder of the user's own, as pythae's docs build them."""
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class ConvEncoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 4, stride=4)  # 28 -> 7
            self.embedding = nn.Linear(4 * 7 * 7, LATENT)
            self.log_var = nn.Linear(4 * 7 * 7, LATENT)

        def forward(self, x):
            h = torch.relu(self.conv(x)).flatten(1)
            return ModelOutput(embedding=self.embedding(h), log_covariance=self.log_var(h))

    class LinearDecoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(LATENT, 28 * 28)

        def forward(self, z):
            out = self.fc(z).reshape(-1, 1, 28, 28) * 4
            return ModelOutput(reconstruction=torch.sigmoid(out) if sigmoid else out)

    return ConvEncoder(), LinearDecoder()


def test_a_folder_saved_by_pythae_loads_and_encodes_as_pythae_does(tmp_path):
    folder, original = _vae(tmp_path)
    torch.manual_seed(1)
    before = torch.rand(3)
    torch.manual_seed(1)
    model = load_model(str(folder))  # the SPEC dispatcher sends a folder here
    assert torch.equal(torch.rand(3), before)  # building pythae's networks did not move the caller's seed

    assert isinstance(model, PythaeModel) and isinstance(model, LatentModel) and isinstance(model, nn.Module)
    assert (model.latent_dim, model.image_shape) == (LATENT, (1, 28, 28))
    assert not model.training and all(p.device.type == "cpu" for p in model.parameters())
    assert model.info.name == "vae" and model.info.source == str(folder)
    assert likelihood_of(model) == Likelihood("bernoulli")
    assert model.adapter_description.startswith("pythae VAE (model_config.json; default encoder, default decoder)")
    assert "embedding + log_covariance" in model.adapter_description
    expected_count = sum(p.numel() for net in (original.encoder, original.decoder) for p in net.parameters())
    assert (
        model.parameter_count()
        == expected_count
        == 784 * 512 + 512 + 2 * (512 * 4 + 4) + 4 * 512 + 512 + 512 * 784 + 784
    )

    x = _digits()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        want = original.encoder(x)
        torch.testing.assert_close(mu, want["embedding"], rtol=0, atol=0)
        torch.testing.assert_close(logvar, want["log_covariance"], rtol=0, atol=0)
        images = model.decode(mu)
        torch.testing.assert_close(images, original.decoder(mu)["reconstruction"].reshape(16, 1, 28, 28))
    assert mu.shape == logvar.shape == (16, LATENT) and images.shape == (16, 1, 28, 28)
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0


def test_the_content_hash_covers_config_and_weights(tmp_path):
    folder, _ = _vae(tmp_path)
    model = load_pythae_folder(folder, ModelSource(str(folder)))
    files = "".join(f"{name}\0{file_sha256(folder / name)}\n" for name in ("model_config.json", "model.pt"))
    assert model.info.content_hash == hashlib.sha256(files.encode()).hexdigest()
    state = torch.load(folder / "model.pt")["model_state_dict"]
    torch.save({"model_state_dict": {k: v + 1 for k, v in state.items()}}, folder / "model.pt")
    assert load_pythae_folder(folder, ModelSource(str(folder))).info.content_hash != model.info.content_hash


def test_mse_means_a_gaussian_likelihood_and_a_flat_input_dim_a_square_image(tmp_path):
    folder, original = _vae(tmp_path, reconstruction_loss="mse", input_dim=(784,))
    model = load_pythae_folder(folder, ModelSource(str(folder)))
    assert likelihood_of(model) == Likelihood("gaussian") and model.image_shape == (1, 28, 28)
    x = _digits(4)
    with torch.no_grad():
        torch.testing.assert_close(model.encode(x)[0], original.encoder(x.flatten(1))["embedding"])
    with pytest.raises(ModelSpecError, match=r"model_config.json: input_dim \(784,\) does not match --image-shape"):
        load_pythae_folder(folder, ModelSource(str(folder), image_shape=(3, 16, 16)))


def test_pickled_networks_need_trust_and_then_load(tmp_path):
    pytest.importorskip("pythae")
    encoder, decoder = _custom_nets()
    folder, original = _vae(tmp_path, encoder=encoder, decoder=decoder)
    assert (folder / "encoder.pkl").is_file() and (folder / "decoder.pkl").is_file()

    with pytest.raises(TrustRequired, match="--trust-code") as caught:
        load_model(str(folder))
    assert caught.value.path == folder / "encoder.pkl"
    # one hash of both pickles: a remembered "trust" never covers a changed decoder.pkl
    both = "|".join(file_sha256(folder / f"{net}.pkl") for net in ("encoder", "decoder"))
    assert caught.value.sha256 == hashlib.sha256(both.encode()).hexdigest()

    model = load_model(ModelSource(str(folder), trusted=True))
    assert "encoder.pkl, decoder.pkl" in model.adapter_description
    x = _digits(8)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        want = original.encoder(x)
        torch.testing.assert_close(mu, want["embedding"], rtol=0, atol=0)
        torch.testing.assert_close(logvar, want["log_covariance"], rtol=0, atol=0)
        torch.testing.assert_close(model.decode(mu), original.decoder(mu)["reconstruction"])
    hashed = "".join(
        f"{name}\0{file_sha256(folder / name)}\n"
        for name in ("model_config.json", "model.pt", "encoder.pkl", "decoder.pkl")
    )
    assert model.info.content_hash == hashlib.sha256(hashed.encode()).hexdigest()


def test_a_decoder_without_a_sigmoid_is_refused_unless_the_user_says_what_it_gives(tmp_path):
    pytest.importorskip("pythae")
    encoder, decoder = _custom_nets(sigmoid=False)
    folder, original = _vae(tmp_path, encoder=encoder, decoder=decoder)
    with pytest.raises(ModelSpecError, match=r"decoder.pkl: the decoder gives values from .* --decoder-output logits"):
        load_model(ModelSource(str(folder), trusted=True))

    model = load_model(ModelSource(str(folder), trusted=True, decoder_output="logits"))
    z = torch.randn(5, LATENT, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model.decode(z), torch.sigmoid(original.decoder(z)["reconstruction"]))
    assert "logits (sigmoid applied)" in model.adapter_description


class _RunsCode:
    """A pickle that makes folder `marker` when unpickled: proof of whether a file was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_nothing_is_unpickled_before_trust(tmp_path):
    folder, _ = _vae(tmp_path)
    config = json.loads((folder / "model_config.json").read_text())
    (folder / "model_config.json").write_text(json.dumps({**config, "uses_default_encoder": False}))
    marker = tmp_path / "ran"
    (folder / "encoder.pkl").write_bytes(pickle.dumps(_RunsCode(marker)))

    with pytest.raises(TrustRequired):
        load_model(str(folder))
    assert not marker.exists()
    with pytest.raises(ModelSpecError, match="encoder.pkl: holds a NoneType, not a torch module"):
        load_model(ModelSource(str(folder), trusted=True))
    assert marker.exists()  # trusted, it ran


def test_model_pt_is_read_without_running_code(tmp_path):
    folder, _ = _vae(tmp_path)
    marker = tmp_path / "ran"
    torch.save({"model_state_dict": {}, "extra": _RunsCode(marker)}, folder / "model.pt")
    with pytest.raises(CheckpointError, match=r"model.pt: holds more than weights \(\w+\.mkdir\)") as caught:
        load_model(str(folder))
    assert type(caught.value) is CheckpointError and not marker.exists()


def test_without_pythae_the_message_says_how_to_install_it(tmp_path, monkeypatch):
    folder = tmp_path / "vae"
    folder.mkdir()
    (folder / "model_config.json").write_text(json.dumps({"name": "VAEConfig", "input_dim": [1, 28, 28]}))
    (folder / "model.pt").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "pythae", None)  # `import pythae` now fails as if it were not installed
    monkeypatch.setitem(sys.modules, "pythae.models", None)
    with pytest.raises(ModelSpecError) as caught:
        load_model(str(folder))
    assert type(caught.value) is ModelSpecError
    assert str(caught.value) == (
        f'{folder}: a pythae model folder; reading it needs the pythae package: pip install "vae-explorer[pythae]"'
    )


def test_a_folder_that_is_no_pythae_folder_says_what_one_holds(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"png")
    with pytest.raises(ModelSpecError) as caught:
        load_model(str(folder))
    message = str(caught.value)
    assert message.startswith(f"{folder}: a folder, but not a pythae model folder, which holds model_config.json and")
    assert "model.pt" in message and "in it:" not in message

    final = tmp_path / "pictures" / "VAE_training_2024-01-01" / "final_model"  # where pythae's trainer saves
    final.mkdir(parents=True)
    (final / "model_config.json").write_text("{}")
    with pytest.raises(ModelSpecError, match=f"the model folders in it: {final}$"):
        load_model(str(folder))


def _edit_config(**changes):
    def edit(folder):
        config = json.loads((folder / "model_config.json").read_text())
        config.update(changes)
        (folder / "model_config.json").write_text(json.dumps({k: v for k, v in config.items() if v is not None}))

    return edit


def _write(name, data: bytes):
    return lambda folder: (folder / name).write_bytes(data)


def _truncate(folder):
    data = (folder / "model.pt").read_bytes()
    (folder / "model.pt").write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "damage, error, message",
    [
        (_write("model_config.json", b"{not json"), ModelSpecError, "model_config.json: not valid JSON"),
        (_write("model_config.json", b"[1, 2]"), ModelSpecError, "model_config.json: not a pythae model config"),
        (_write("model_config.json", b"\xff\xfe"), ModelSpecError, "model_config.json: not valid JSON"),
        (_edit_config(latent_dim="abc"), ModelSpecError, "model_config.json: not a valid VAEConfig: latent_dim: Input"),
        (_edit_config(reconstruction_loss="l1"), ModelSpecError, "VAEConfig: reconstruction_loss: Input should be"),
        (_edit_config(input_dim=None), ModelSpecError, "model_config.json: no input_dim"),
        (_edit_config(input_dim=[5, 28, 28]), ModelSpecError, "model_config.json: input_dim (5, 28, 28) is not an"),
        (_edit_config(latent_dim=0), ModelSpecError, "model_config.json: latent_dim 0 is not in 1..4096"),
        (
            _edit_config(name="FooConfig"),
            ModelSpecError,
            "model_config.json: unknown pythae model \"name\": 'FooConfig'",
        ),
        (_edit_config(name="AEConfig"), ModelSpecError, "model_config.json: a pythae AE, an autoencoder whose encoder"),
        (_edit_config(name="VAMPConfig"), ModelSpecError, "its prior is a VampPrior mixture"),
        (lambda f: (f / "model.pt").unlink(), CheckpointError, "model.pt: no such file"),
        (_truncate, CheckpointError, "model.pt: not a readable PyTorch file; it may be truncated"),
        (_write("model.pt", b"\0" * 100), CheckpointError, "model.pt: not a readable PyTorch file"),
        (lambda f: torch.save({"weights": {}}, f / "model.pt"), CheckpointError, "model.pt: no 'model_state_dict'"),
        (_edit_config(latent_dim=5), CheckpointError, "model.pt: the weights do not match model_config.json: encoder"),
        (_edit_config(uses_default_decoder=False), ModelSpecError, "decoder.pkl: no such file"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_damaged_folder_is_an_error_naming_the_file(tmp_path, damage, error, message):
    folder, _ = _vae(tmp_path)
    damage(folder)
    with pytest.raises(error) as caught:
        load_model(ModelSource(str(folder), trusted=True))
    assert type(caught.value) is error
    assert str(caught.value).startswith(str(folder)) and message in str(caught.value)


def test_a_garbage_pickle_is_an_error_naming_it(tmp_path):
    folder, _ = _vae(tmp_path)
    _edit_config(uses_default_encoder=False)(folder)
    (folder / "encoder.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ModelSpecError, match="encoder.pkl: unpickling it failed: UnpicklingError") as caught:
        load_model(ModelSource(str(folder), trusted=True))
    assert type(caught.value) is ModelSpecError


def test_a_trainer_folder_is_named_with_its_training_run(tmp_path):
    _, model = _vae(tmp_path)
    final = _save(model, tmp_path / "VAE_training_2024-01-01_12-00-00" / "final_model")  # where pythae's trainer saves
    assert load_model(str(final)).info.name == "VAE_training_2024-01-01_12-00-00/final_model"
