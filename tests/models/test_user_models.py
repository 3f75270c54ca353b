"""Issue 12: a user's own model class, TorchScript archive or pickled model opens behind the
model contract, with the adapter chosen by one test forward pass, and only with trust."""

from __future__ import annotations

import pickle
import sys
import textwrap
import warnings

import numpy as np
import pytest
import safetensors.torch
import torch

from explorer_models import load_model
from explorer_models.adapter import AdaptedModel
from explorer_models.contract import likelihood_of
from explorer_models.errors import CheckpointError, ModelSpecError, UserInputError
from explorer_models.probing import shape_candidates
from explorer_models.sources import ModelSource, TrustRequired, file_sha256
from explorer_models.user_code import candidate_classes

MARKER_CODE = "import pathlib, os; pathlib.Path(os.environ['VAE_EXPLORER_TEST_MARKER']).touch()\n"


def trusted(spec, **kw) -> ModelSource:
    return ModelSource(str(spec), trusted=True, **kw)


def module_of(model: AdaptedModel):
    return model.module


# -- a user's class, in each of the usual conventions -----------------------------------------------------
def test_tutorial_mlp_with_flattened_input_and_mu_logvar_encodes_like_its_own_code(user_file, tmp_path):
    path = user_file("mlp.py")
    model = load_model(trusted(f"{path}:VAE", model_args='{"z_dim": 5}'))
    assert isinstance(model, AdaptedModel)
    assert (model.latent_dim, model.image_shape) == (5, (1, 28, 28))
    c = model.conventions
    assert (c.flat_input, c.encoder_output, c.decoder_output) == (True, "mu-logvar", "probabilities")
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    mu, logvar = model.encode(x)
    own_mu, own_logvar = model.module.encode(x.flatten(1))
    torch.testing.assert_close(mu, own_mu)
    torch.testing.assert_close(logvar, own_logvar)
    decoded = model.decode(mu)
    assert decoded.shape == (3, 1, 28, 28)
    torch.testing.assert_close(decoded.flatten(1), model.module.decode(mu))
    assert "flattened 1x28x28 input" in model.adapter_description
    assert (model.info.source, model.info.options) == (f"{path}:VAE", {"model_args": '{"z_dim": 5}'})


def test_conv_logits_decoder_and_concatenated_encoder_output(user_file):
    model = load_model(trusted(f"{user_file('conv.py')}:ConvVAE"))
    c = model.conventions
    assert (c.image_shape, c.latent_dim, c.flat_input) == ((3, 32, 32), 6, False)
    assert (c.encoder_output, c.decoder_output) == ("concat", "logits")
    z = torch.randn(4, 6)
    torch.testing.assert_close(model.decode(z), torch.sigmoid(model.module.decode(z)))
    assert likelihood_of(model).kind == "bernoulli"  # logits decoders are trained with cross-entropy


def test_normal_encoder_and_tanh_decoder(user_file):
    model = load_model(trusted(f"{user_file('normal.py')}:NormalVAE"))
    c = model.conventions
    assert (c.image_shape, c.latent_dim, c.encoder_output, c.decoder_output) == ((1, 16, 16), 3, "normal", "signed")
    x = torch.rand(2, 1, 16, 16)
    mu, logvar = model.encode(x)
    dist = model.module.encode((x * 2 - 1).flatten(1))  # a [-1, 1] decoder's inputs are scaled to [-1, 1] too
    torch.testing.assert_close(mu, dist.loc)
    torch.testing.assert_close(logvar, 2 * dist.scale.log())
    out = model.decode(mu)
    assert 0 <= out.min() and out.max() <= 1
    torch.testing.assert_close(out, (model.module.decode(mu) + 1) / 2)


def test_dict_encoder_and_a_declared_log_sigma_pair_give_the_same_posterior(user_file):
    path = user_file("dicts.py")
    from_dict = load_model(trusted(f"{path}:DictVAE"))
    assert from_dict.conventions.encoder_output == "dict:mean,log_var"
    pair = load_model(trusted(f"{path}:PairVAE", encoder_output="mu-logsigma"))
    pair.module.load_state_dict(from_dict.module.state_dict())
    x = torch.rand(5, 1, 8, 8)
    for a, b in zip(from_dict.encode(x), pair.encode(x)):
        torch.testing.assert_close(a, b)
    undeclared = load_model(trusted(f"{path}:PairVAE"))
    undeclared.module.load_state_dict(from_dict.module.state_dict())
    assert not torch.allclose(undeclared.encode(x)[1], from_dict.encode(x)[1])  # read as logvar: half the spread


def test_a_pooled_conv_encoder_takes_the_shape_its_decoder_gives(user_file):
    model = load_model(trusted(f"{user_file('more.py')}:Pooled"))
    c = model.conventions
    assert (c.image_shape, c.latent_dim, c.flat_input) == ((3, 32, 32), 4, False)  # not the first size tried (28)
    mu, logvar = model.encode(torch.rand(2, 3, 32, 32))
    assert mu.shape == logvar.shape == (2, 4)  # (B, D, 1, 1) read as (B, D)


def test_z_mu_logvar_from_encode_is_read_by_which_one_changes(user_file):
    model = load_model(trusted(f"{user_file('more.py')}:Triple"))
    c = model.conventions
    # the decoder's Linear(3, 64) comes first in the module, and is passed over
    assert (c.encoder_output, c.image_shape, c.latent_dim) == ("triple:0", (1, 8, 8), 3)
    assert "encode() -> (z, mu, log-variance)" in model.adapter_description
    x = torch.rand(4, 1, 8, 8)
    _z, mu, logvar = model.module.encode(x.flatten(1))
    got_mu, got_logvar = model.encode(x)
    torch.testing.assert_close(got_mu, mu)
    torch.testing.assert_close(got_logvar, logvar)


def test_a_sigma_encoder_and_an_unbounded_decoder(user_file):
    path = user_file("more.py")
    model = load_model(trusted(f"{path}:Sigma"))
    c = model.conventions
    assert c.decoder_output == "probabilities"  # -0.05 to 1.06 is a linear output, not logits nor tanh
    assert c.notes and "--encoder-output mu-sigma" in model.adapter_description
    declared = load_model(trusted(f"{path}:Sigma", encoder_output="mu-sigma"))
    x = torch.rand(3, 1, 8, 8)
    _mu, sigma = declared.module.encode(x.flatten(1))
    torch.testing.assert_close(declared.encode(x)[1], 2 * sigma.log())
    assert not declared.conventions.notes


def test_image_shape_option_overrides_inference_and_is_checked(user_file):
    path = user_file("mlp.py")
    with pytest.raises(ModelSpecError, match=r"mlp\.py:VAE: encode\(\) fails on every image shape tried \(2, "):
        load_model(trusted(f"{path}:VAE", image_shape=(3, 28, 28)))
    assert shape_candidates(torch.nn.Linear(3 * 32 * 32, 2), None) == [(3, 32, 32)]
    assert shape_candidates(torch.nn.Linear(784, 2), None) == [(1, 28, 28), (4, 14, 14)]  # grey first
    assert shape_candidates(torch.nn.Linear(784, 2), (4, 14, 14)) == [(4, 14, 14)]


# -- weights ----------------------------------------------------------------------------------------------
def _weights_of(model) -> dict:
    return {k: v.clone() for k, v in model.module.state_dict().items()}


@pytest.mark.parametrize("layout", ["safetensors", "state_dict.pt", "lightning.ckpt.pt", "dataparallel.pth"])
def test_weights_load_from_each_common_layout(user_file, tmp_path, layout):
    path = user_file("mlp.py")
    torch.manual_seed(7)
    source_model = load_model(trusted(f"{path}:VAE"))
    weights = _weights_of(source_model)
    out = tmp_path / f"w.{layout.split('.', 1)[-1] if '.' in layout else layout}"
    if layout == "safetensors":
        safetensors.torch.save_file(weights, out)
    elif layout == "state_dict.pt":
        torch.save(weights, out)
    elif layout == "lightning.ckpt.pt":
        torch.save({"epoch": 3, "state_dict": {f"model.{k}": v for k, v in weights.items()}}, out)
    else:
        torch.save({f"module.{k}": v for k, v in weights.items()}, out)
    torch.manual_seed(99)  # a different initialisation: only the file can make the two equal
    loaded = load_model(trusted(f"{path}:VAE", weights=str(out)))
    for k, v in weights.items():
        torch.testing.assert_close(loaded.module.state_dict()[k], v)
    # the hash (which keys cached encodings) is of the weights in use, wherever they came from
    assert loaded.info.content_hash == source_model.info.content_hash
    assert load_model(trusted(f"{path}:VAE")).info.content_hash != source_model.info.content_hash  # new random ones


def test_weights_that_do_not_fit_the_class_are_refused_naming_the_tensors(user_file, tmp_path):
    path = user_file("mlp.py")
    small = load_model(trusted(f"{path}:VAE", model_args='{"hidden": 32}'))
    out = tmp_path / "small.safetensors"
    safetensors.torch.save_file(_weights_of(small), out)
    with pytest.raises(CheckpointError, match=r"small\.safetensors: the weights do not match .*VAE\(\): fc1\.bias "):
        load_model(trusted(f"{path}:VAE", weights=str(out)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable PyTorch file"),
        (b"PK\x03\x04 truncated zip", "not a readable PyTorch file"),
        (b"\x80\x04K\x05.", "holds no state dict of tensors"),  # a pickled int
    ],
)
def test_bad_weights_files_are_one_clear_error(user_file, tmp_path, content, message):
    weights = tmp_path / "w.pt"
    weights.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"w\.pt: {message}"):
        load_model(trusted(f"{user_file('mlp.py')}:VAE", weights=str(weights)))


# -- what goes wrong in a user's file ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        ("broken.py:WrongShape", {}, r"decode\(\) gave shape \(40, 50\) for 40 latents; the encoder takes 1x8x8"),
        ("broken.py:NaNDecoder", {}, r"decode\(\) gave NaN or infinite values"),
        ("broken.py:Pixels255", {}, r"decode\(\) gave values from [0-9.]+ to [0-9.]+: not probabilities in \[0, 1\]"),
        ("broken.py:NoDecode", {}, r"decode\(\) fails on latents of size 2: ValueError: not written yet"),
        ("broken.py:Missing", {}, r"no class .Missing. \(classes with encode and decode: WrongShape, NaNDecoder, Pix"),
        ("mlp.py:VAE", {"model_args": '{"depth": 3}'}, r"building VAE\(hidden=64, z_dim=4\) with --model-args"),
        ("mlp.py:VAE", {"model_args": "[1, 2]"}, r"--model-args: a JSON object of keyword arguments, not a list"),
        ("mlp.py:VAE", {"model_args": "{"}, r"--model-args: not valid JSON"),
        ("mlp.py", {}, r"mlp\.py: name the class too, as --model .*mlp\.py:VAE"),
    ],
)
def test_a_broken_user_model_is_one_clear_error(user_file, tmp_path, spec, kwargs, message):
    user_file("broken.py"), user_file("mlp.py")
    with pytest.raises(ModelSpecError, match=message):
        load_model(trusted(tmp_path / spec, **kwargs))


def test_classes_with_encode_and_decode_from_elsewhere_are_still_offered(tmp_path):
    path = tmp_path / "child.py"
    path.write_text("from base import BaseVAE\n\nclass Small(BaseVAE):\n    width = 8\n\nclass Plain:\n    pass\n")
    assert candidate_classes(path) == ["Small"]  # its methods come from base.py, which parsing cannot see
    both = "class Both:\n    def encode(self, x): ...\n    def decode(self, z): ...\n"
    path.write_text(both + "\nclass Other(Both):\n    pass\n")
    assert candidate_classes(path) == ["Both", "Other"]


def test_a_file_that_fails_to_import_names_its_line(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("import torch\n\nraise RuntimeError('needs a GPU')\n\nclass M:\n    def encode(self, x): ...\n")
    with pytest.raises(ModelSpecError, match=r"bad\.py: importing it failed \(line 3\): RuntimeError: needs a GPU"):
        load_model(trusted(f"{path}:M"))
    path.write_text("class M(\n")
    with pytest.raises(ModelSpecError, match=r"bad\.py: not valid Python \(line 1\)"):
        candidate_classes(path)


# -- trust ------------------------------------------------------------------------------------------------
def test_a_python_file_never_runs_without_trust(tmp_path, monkeypatch, user_file):
    marker = tmp_path / "ran"
    monkeypatch.setenv("VAE_EXPLORER_TEST_MARKER", str(marker))
    path = user_file("mlp.py")
    path.write_text(MARKER_CODE + path.read_text())
    assert candidate_classes(path) == ["VAE"]  # read by parsing: still nothing ran
    with pytest.raises(TrustRequired) as caught:
        load_model(ModelSource(f"{path}:VAE"))
    assert caught.value.path == path and caught.value.sha256 == file_sha256(path)
    assert "runs code on this computer when it is opened" in str(caught.value)
    assert not marker.exists()
    assert load_model(ModelSource(f"{path}:VAE").trust()).latent_dim == 4
    assert marker.exists()


def test_a_users_models_py_neither_shadows_ours_nor_is_shadowed(tmp_path):
    """Most ML projects have their own models.py: the user's file imports theirs, and ours
    (explorer_models) is untouched."""
    (tmp_path / "models.py").write_text("WIDTH = 3\n")
    (tmp_path / "net.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn
            from models import WIDTH

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.enc = nn.Linear(16, 2 * WIDTH)
                    self.dec = nn.Linear(WIDTH, 16)

                def encode(self, x):
                    return self.enc(x).chunk(2, dim=-1)

                def decode(self, z):
                    return torch.sigmoid(self.dec(z))
            """
        )
    )
    sys.modules.pop("models", None)
    try:
        model = load_model(trusted(f"{tmp_path / 'net.py'}:Net"))
        assert model.latent_dim == 3 and model.image_shape == (1, 4, 4)
        # the user's models.py served their file, and is not left behind for the next project
        assert "models" not in sys.modules
        assert type(model.module).__module__.startswith("_vae_explorer_user_")
        ours = sys.modules["explorer_models"].__file__
        assert ours != str(tmp_path / "models.py") and ours.endswith("__init__.py")
    finally:
        sys.modules.pop("models", None)


# -- TorchScript and pickled whole models -------------------------------------------------------------------
class ScriptableVAE(torch.nn.Module):
    """A tutorial MLP VAE as a user would export it to TorchScript."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 32)
        self.fc2 = torch.nn.Linear(32, 8)
        self.fc3 = torch.nn.Linear(4, 784)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.fc2(torch.relu(self.fc1(x))).chunk(2, dim=-1)
        return mu, logvar

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc3(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[0])


def _scripted(tmp_path):
    original = ScriptableVAE()
    with warnings.catch_warnings():  # torch.jit.script is deprecated in torch 2.10+; users still have archives
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)  # newer torch says it so
        torch.jit.script(original).save(str(tmp_path / "scripted.pt"))
    return original, tmp_path / "scripted.pt"


def test_a_torchscript_archive_opens_with_trust_and_matches_its_module(tmp_path):
    original, path = _scripted(tmp_path)
    with pytest.raises(TrustRequired, match=r"scripted\.pt: a TorchScript archive, which runs code"):
        load_model(str(path))
    model = load_model(trusted(path))
    assert (model.latent_dim, model.image_shape, model.conventions.flat_input) == (4, (1, 28, 28), True)
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(model.encode(x)[0], original.encode(x.flatten(1))[0])


class MarkerVAE(torch.nn.Module):
    """Unpickling one of these touches a marker file first: a pickle that runs code."""

    def __init__(self, marker: str = ""):
        super().__init__()
        self.marker = marker
        self.enc = torch.nn.Linear(16, 4)
        self.dec = torch.nn.Linear(2, 16)

    def encode(self, x):
        return self.enc(x).chunk(2, dim=-1)

    def decode(self, z):
        return torch.sigmoid(self.dec(z))

    def __setstate__(self, state):
        from pathlib import Path

        Path(state["marker"]).touch()
        super().__setstate__(state)


@pytest.mark.parametrize("suffix", [".pt", ".pkl"])
def test_a_pickle_that_runs_code_is_refused_without_trust_and_the_marker_never_appears(tmp_path, suffix):
    marker = tmp_path / "pwned"
    path = tmp_path / f"whole_model{suffix}"
    if suffix == ".pt":
        torch.save(MarkerVAE(str(marker)), path)
    else:
        path.write_bytes(pickle.dumps(MarkerVAE(str(marker))))
    with pytest.raises(TrustRequired, match=r"a pickled PyTorch file holding Python objects, which runs code"):
        load_model(str(path))
    assert not marker.exists()
    # and as --weights of an innocent class: still refused
    with pytest.raises(UserInputError):
        load_model(ModelSource(f"{tmp_path / 'x.py'}:X", weights=str(path)))
    assert not marker.exists()
    model = load_model(trusted(path))  # the one way in: trust
    assert marker.exists()
    assert model.latent_dim == 2 and model.image_shape == (1, 4, 4)


def test_a_weights_only_pt_given_as_the_model_says_how_to_name_its_class(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"fc1.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(ModelSpecError, match=r"weights\.pth: holds weights only .* --model your_model\.py:ClassName"):
        load_model(str(path))


def test_the_adapter_feeds_the_encoding_pipeline(user_file, tmp_path):
    """A user's model encodes a real dataset (the digits, as an .npy) through the same steps the
    window and the CLI use."""
    from sklearn.datasets import load_digits

    from explorer.core.data import load_for_model
    from explorer.core.steps import run_steps
    from explorer.core.store.encoding import encode_dataset_steps, model_cache_key

    digits = load_digits().images  # (1797, 8, 8), 0..16
    big = np.kron(digits, np.ones((3, 3)))  # 24x24, then a 2-pixel border: 28x28 like MNIST
    images = np.pad(big * (255 / 16), ((0, 0), (2, 2), (2, 2))).astype(np.uint8)[:300]
    np.save(tmp_path / "digits.npy", images)
    model = load_model(trusted(f"{user_file('mlp.py')}:VAE"))
    dataset = load_for_model(tmp_path / "digits.npy", model.image_shape)
    key = model_cache_key(model, dataset.fingerprint)
    encoded = run_steps(encode_dataset_steps(model, dataset, "cpu", key), lambda p: None)
    mu = encoded.encodings.mu
    assert mu.shape == (300, 4)
    x = torch.from_numpy(images[:5]).float().div(255).flatten(1)
    np.testing.assert_allclose(mu[:5], model.module.encode(x)[0].detach().numpy(), rtol=1e-4, atol=1e-5)


def test_trusting_a_python_file_does_not_trust_its_weights_file(user_file, tmp_path):
    """The window trusts files one by one, by their bytes: a .py the user let run does not let
    a pickled --weights file run too, and a .py edited after the answer is asked about again."""
    path = user_file("mlp.py")
    marker = tmp_path / "pwned"
    weights = tmp_path / "w.pth"
    torch.save({"state": MarkerVAE(str(marker))}, weights)  # unpickling it would run code
    source = ModelSource(f"{path}:VAE", weights=str(weights)).trust_file(file_sha256(path))
    with pytest.raises(TrustRequired, match=r"w\.pth: a weights file holding pickled Python objects") as caught:
        load_model(source)
    assert caught.value.sha256 == file_sha256(weights) and not marker.exists()
    with pytest.raises(UserInputError):  # trusted now, the file's objects are no state dict of these layers
        load_model(source.trust_file(file_sha256(weights)))
    assert marker.exists()
    answered = file_sha256(path)
    assert load_model(ModelSource(f"{path}:VAE").trust_file(answered)).latent_dim == 4
    path.write_text(path.read_text() + "\n# edited after the answer\n")
    with pytest.raises(TrustRequired, match=r"mlp\.py: a Python file"):
        load_model(ModelSource(f"{path}:VAE").trust_file(answered))
