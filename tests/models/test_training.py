"""Issue 9 on the models side: training stops on a non-finite loss instead of saving garbage,
beta must be finite, the one writable-path check, and the .pt refusal's advice works."""

import math

import numpy as np
import pytest
import torch

from explorer_models import TrainingError, VAEConfig, build_model
from explorer_models.atomic import check_writable
from explorer_models.errors import UserInputError
from explorer_models.training import TrainSettings, train


def _small_mlp(seed=0):
    torch.manual_seed(seed)
    return build_model(VAEConfig("mlp", (3, 8, 8), latent_dim=2, widths=(16,)))


def test_a_nan_loss_stops_training_at_the_first_step_and_names_the_terms(tiny_images):
    model = _small_mlp()
    with torch.no_grad():
        model.decoder[-2].bias.fill_(float("nan"))  # every reconstruction is NaN
    images = tiny_images[:, :8, :8]
    with pytest.raises(TrainingError) as caught:
        train(model, images, TrainSettings(epochs=2, batch_size=16, lr=1e-3))
    message = str(caught.value)
    assert message.startswith("training diverged at epoch 1, step 1 of 4: the loss became non-finite (recon nan)")
    assert "the learning rate (lr 0.001) is probably too large, try a smaller one" in message


def test_weights_broken_by_the_last_step_are_caught_too(tiny_images):
    # One step only: its loss is finite, the update (lr 1e30) is not, and no later step sees it.
    model = _small_mlp()
    images = tiny_images[:16, :8, :8]
    with pytest.raises(
        TrainingError,
        match=r"training diverged in its last step \(epoch 1, step 1 of 1\): the loss "
        r"became non-finite .*the learning rate \(lr 1e\+30\)",
    ):
        train(model, images, TrainSettings(epochs=1, batch_size=16, lr=1e30))


def test_a_healthy_run_is_not_stopped(tiny_images):
    result = train(_small_mlp(), tiny_images[:32, :8, :8], TrainSettings(epochs=2, batch_size=16))
    assert len(result.history) == 2 and all(math.isfinite(h["elbo"]) for h in result.history)


@pytest.mark.parametrize("beta", [float("inf"), float("nan"), -0.5])
def test_config_refuses_a_beta_that_is_not_finite_and_non_negative(beta):
    with pytest.raises(ValueError, match=f"beta {beta} must be a finite number >= 0"):
        VAEConfig("mlp", (1, 8, 8), beta=beta)


def test_beta_zero_is_a_plain_autoencoder_and_allowed():
    assert VAEConfig("mlp", (1, 8, 8), beta=0.0).beta == 0.0


def test_check_writable_refuses_a_folder_a_missing_folder_and_an_existing_file(tmp_path):
    (tmp_path / "old.txt").write_text("keep")
    with pytest.raises(UserInputError, match=f"^--out {tmp_path}: is a folder; give the name of a file to write$"):
        check_writable(tmp_path, force=True, label="--out ")
    with pytest.raises(UserInputError, match="folder .*nope does not exist"):
        check_writable(tmp_path / "nope" / "a.txt", force=True)
    with pytest.raises(UserInputError, match="old.txt: the file exists; add --force to replace it"):
        check_writable(tmp_path / "old.txt", force=False)
    assert check_writable(tmp_path / "old.txt", force=True) == tmp_path / "old.txt"
    assert check_writable(tmp_path / "new.txt", force=False) == tmp_path / "new.txt"


def test_weights_of_our_architecture_in_a_pt_file_become_a_checkpoint(tmp_path):
    """A .pt of weights alone is answered with how to name its class; for our own architecture,
    the README's recipe turns it into a checkpoint."""
    from explorer_models import ModelInfo, load_model, save_checkpoint

    config = VAEConfig("conv", (3, 32, 32), latent_dim=4, widths=(8, 8, 8))
    torch.manual_seed(3)
    theirs = build_model(config).eval()
    torch.save(theirs.state_dict(), tmp_path / "theirs.pt")
    with pytest.raises(
        UserInputError,
        match=r"theirs\.pt: holds weights only .*name the class they belong to: --model your_model\.py:ClassName",
    ):
        load_model(tmp_path / "theirs.pt")

    model = build_model(config, ModelInfo(name="theirs"))
    model.load_state_dict(torch.load(tmp_path / "theirs.pt", weights_only=True))
    save_checkpoint(model, tmp_path / "theirs.safetensors")
    loaded = load_model(tmp_path / "theirs.safetensors")
    z = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32))
    with torch.no_grad():
        assert torch.equal(loaded.decode(z), theirs.decode(z))
    assert loaded.info.name == "theirs"


def test_a_fixed_decoder_sigma_stays_fixed_and_keeps_the_checkpoint_layout(tmp_path):
    """--decoder-sigma S: the likelihood's sigma is S after training; the checkpoint has the same
    tensors as a learned-sigma one and reloads with S; a learned-sigma config keeps its JSON."""
    import math

    from explorer_models.architectures import build_model
    from explorer_models.checkpoint import load_checkpoint, save_checkpoint
    from explorer_models.config import VAEConfig
    from explorer_models.training import TrainSettings, train

    images = np.random.default_rng(0).integers(0, 256, size=(64, 8, 8, 1), dtype=np.uint8)
    fixed = build_model(VAEConfig("mlp", (1, 8, 8), latent_dim=2, widths=(16,), decoder_sigma=0.05))
    learned = build_model(VAEConfig("mlp", (1, 8, 8), latent_dim=2, widths=(16,)))
    for model in (fixed, learned):
        train(model, images, TrainSettings(epochs=2, batch_size=16))
    assert fixed.likelihood.sigma == pytest.approx(0.05)
    assert learned.likelihood.sigma != pytest.approx(0.1)  # the learned one moved from its start
    assert set(fixed.state_dict()) == set(learned.state_dict())
    assert "decoder_sigma" not in learned.config.to_json()
    save_checkpoint(fixed, tmp_path / "fixed.safetensors")
    again = load_checkpoint(tmp_path / "fixed.safetensors")
    assert again.config.decoder_sigma == 0.05 and math.isclose(again.likelihood.sigma, 0.05, rel_tol=1e-6)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"decoder_sigma": 1.5}, "pixel std up to 1"), ({"decoder_sigma": 0.1, "likelihood": "bernoulli"}, "gaussian")],
)
def test_a_decoder_sigma_that_cannot_apply_is_refused(changes, message):
    from explorer_models.config import VAEConfig

    with pytest.raises(ValueError, match=message):
        VAEConfig("mlp", (1, 8, 8), **changes)
