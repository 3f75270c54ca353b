import math

import numpy as np
import pytest
import torch

from explorer_models import VAEConfig, build_model, images_to_tensor, tensor_to_images
from explorer_models.evaluation import evaluate
from explorer_models.training import TrainSettings, train
from explorer_models.vae import LOGVAR_RANGE, LatentModel, kl_to_standard_normal


@pytest.mark.parametrize(
    "arch, shape",
    [
        ("conv", (3, 32, 32)),
        ("conv", (1, 64, 64)),
        ("conv", (3, 64, 64)),
        ("conv", (3, 128, 128)),
        ("mlp", (1, 28, 28)),
        ("mlp", (3, 16, 16)),
    ],
)
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_encode_decode_shapes_and_ranges(arch, shape, likelihood):
    torch.manual_seed(0)
    model = build_model(VAEConfig(arch, shape, latent_dim=5, likelihood=likelihood)).eval()
    assert isinstance(model, LatentModel)
    x = torch.rand(3, *shape)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        out = model.decode(mu * 50)  # far from the prior too
    assert mu.shape == logvar.shape == (3, 5)
    assert LOGVAR_RANGE[0] <= logvar.min() and logvar.max() <= LOGVAR_RANGE[1]
    assert out.shape == (3, *shape)
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert model.latent_dim == 5 and model.image_shape == shape


def test_kl_to_standard_normal_known_values():
    mu = torch.tensor([[0.0, 1.0, 0.0]])
    logvar = torch.tensor([[0.0, 0.0, math.log(4.0)]])
    kl = kl_to_standard_normal(mu, logvar)
    # KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1 - log s^2) / 2
    expected = torch.tensor([[0.0, 0.5, (4 - 1 - math.log(4)) / 2]])
    assert torch.allclose(kl, expected)


def test_gaussian_likelihood_is_the_normal_density():
    model = build_model(VAEConfig("mlp", (1, 2, 2), latent_dim=2, likelihood="gaussian"))
    x = torch.tensor([[[[0.2, 0.4], [0.6, 0.8]]]])
    logits = torch.zeros_like(x)  # mean 0.5 everywhere
    sigma = 0.1
    expected = sum(-torch.distributions.Normal(0.5, sigma).log_prob(v).item() for v in x.flatten())
    assert model.neg_log_likelihood(x, logits).item() == pytest.approx(expected, rel=1e-5)


def test_bernoulli_likelihood_is_cross_entropy():
    model = build_model(VAEConfig("mlp", (1, 1, 2), latent_dim=2, likelihood="bernoulli"))
    x = torch.tensor([[[[1.0, 0.25]]]])
    logits = torch.tensor([[[[0.0, 2.0]]]])
    p = torch.sigmoid(logits).flatten()
    expected = -(math.log(p[0]) + 0.25 * math.log(p[1]) + 0.75 * math.log(1 - p[1]))
    assert model.neg_log_likelihood(x, logits).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("arch", ["conv", "mlp"])
def test_a_few_training_steps_lower_the_loss(arch, tiny_images):
    torch.manual_seed(0)
    model = build_model(VAEConfig(arch, (3, 32, 32), latent_dim=4, widths=(8, 16, 16) if arch == "conv" else (64,)))
    before = evaluate(model, tiny_images)
    result = train(model, tiny_images, TrainSettings(epochs=15, batch_size=16, lr=3e-3, kl_warmup_epochs=0))
    after = evaluate(model, tiny_images)
    assert len(result.history) == 15
    assert after["recon"] + after["kl"] < 0.9 * (before["recon"] + before["kl"])
    assert after["mse"] < before["mse"]


def test_training_stops_when_asked(tiny_images):
    model = build_model(VAEConfig("mlp", (3, 32, 32), latent_dim=2, widths=(16,)))
    calls = []
    result = train(
        model,
        tiny_images,
        TrainSettings(epochs=5, batch_size=8),
        on_progress=calls.append,
        should_stop=lambda: len(calls) >= 3,
    )
    assert result.stopped_early and len(calls) == 3 and len(result.history) == 1


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(arch="rnn", image_shape=(3, 64, 64)), "arch 'rnn'"),
        (dict(arch="conv", image_shape=(3, 48, 48)), "32, 64, 128"),
        (dict(arch="conv", image_shape=(3, 64, 32)), "square"),
        (dict(arch="conv", image_shape=(3, 64, 64), widths=(8, 8)), "needs 4 widths"),
        (dict(arch="mlp", image_shape=(1, 28, 28), latent_dim=0), "latent_dim 0"),
        (dict(arch="mlp", image_shape=(1, 28, 28), beta=-1.0), "beta -1.0"),
        (dict(arch="mlp", image_shape=(1, 28, 28), likelihood="poisson"), "likelihood 'poisson'"),
    ],
)
def test_invalid_configs_name_the_field(bad, message):
    with pytest.raises(ValueError, match=message):
        VAEConfig(**bad)


def test_config_json_round_trip():
    cfg = VAEConfig("conv", (1, 128, 128), latent_dim=7, beta=2.5, likelihood="gaussian")
    import json

    assert VAEConfig.from_dict(json.loads(cfg.to_json())) == cfg
    assert cfg.widths == (32, 64, 128, 256, 256)


def test_image_tensor_conversion_round_trips_uint8():
    images = np.random.default_rng(0).integers(0, 256, (4, 9, 7, 3), dtype=np.uint8)
    x = images_to_tensor(images)
    assert x.shape == (4, 3, 9, 7) and x.dtype == torch.float32
    assert float(x.max()) <= 1.0
    assert np.array_equal(tensor_to_images(x), images)
