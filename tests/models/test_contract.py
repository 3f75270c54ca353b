"""The model contract alone is enough: a model with only encode, decode, latent_dim,
image_shape and info encodes, and its ELBO terms come from decode and its declared likelihood
(or the stated default), never from our VAE's private logits path."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from explorer.core.data import load_faces
from explorer.core.store.encoding import encode_all
from explorer_models import DEFAULT_LIKELIHOOD, Likelihood, ModelSpecError, build_model, likelihood_of, load_model
from explorer_models.contract import DEFAULT_SIGMA, bernoulli_nll, gaussian_nll
from explorer_models.evaluation import per_image_terms
from explorer_models.vae import LatentModel, ModelInfo, images_to_tensor

LOG_2PI = math.log(2 * math.pi)


class ContractOnly:
    """Two pixels, one latent: mu = the mean pixel value, logvar = log 0.25, decode(z) = sigmoid(z)
    in both pixels. Nothing but the contract: no decode_logits, no neg_log_likelihood, no nn.Module."""

    latent_dim = 1
    image_shape = (1, 1, 2)

    def __init__(self, likelihood=None):
        self.info = ModelInfo(name="contract-only")
        if likelihood is not None:
            self.likelihood = likelihood

    def encode(self, x):
        mu = x.flatten(1).mean(1, keepdim=True)
        return mu, torch.full_like(mu, math.log(0.25))

    def decode(self, z):
        return torch.sigmoid(z).expand(len(z), 2).reshape(len(z), 1, 1, 2)


# uint8 (N, H, W, C) images of ContractOnly's shape: pixels (0, 255), (255, 255), (51, 102)
IMAGES = np.array([[0, 255], [255, 255], [51, 102]], np.uint8).reshape(3, 1, 2, 1)
PIXELS = [(0.0, 1.0), (1.0, 1.0), (0.2, 0.4)]


def _gaussian(x, m, sigma):
    return 0.5 * (x - m) ** 2 / sigma**2 + math.log(sigma) + 0.5 * LOG_2PI


def _bernoulli(x, m):
    return -(x * math.log(m) + (1 - x) * math.log(1 - m))


def _by_hand(pixels, per_pixel_nll):
    """(recon, kl, mse) for one ContractOnly image, in plain floats."""
    mu = sum(pixels) / 2
    m = 1 / (1 + math.exp(-mu))
    kl = 0.5 * (mu**2 + 0.25 - 1 - math.log(0.25))
    return sum(per_pixel_nll(x, m) for x in pixels), kl, sum((m - x) ** 2 for x in pixels) / 2


@pytest.mark.parametrize(
    "declared, per_pixel_nll",
    [
        (None, lambda x, m: _gaussian(x, m, DEFAULT_SIGMA)),  # the stated default
        ("gaussian", lambda x, m: _gaussian(x, m, DEFAULT_SIGMA)),
        (Likelihood("gaussian", sigma=0.5), lambda x, m: _gaussian(x, m, 0.5)),
        ("bernoulli", _bernoulli),
        (Likelihood("bernoulli"), _bernoulli),
    ],
    ids=["undeclared", "gaussian", "gaussian-0.5", "bernoulli", "Likelihood-bernoulli"],
)
def test_a_model_with_only_the_contract_encodes_and_has_elbo_terms(declared, per_pixel_nll):
    model = ContractOnly(declared)
    assert isinstance(model, LatentModel) and not hasattr(model, "decode_logits")
    enc = encode_all(model, IMAGES)
    assert enc.mu.shape == (3, 1) and len(enc) == 3
    for i, pixels in enumerate(PIXELS):
        recon, kl, mse = _by_hand(pixels, per_pixel_nll)
        assert enc.mu[i, 0] == pytest.approx(sum(pixels) / 2, rel=1e-6)
        assert enc.logvar[i, 0] == pytest.approx(math.log(0.25), rel=1e-6)
        assert enc.recon[i] == pytest.approx(recon, rel=1e-5, abs=1e-5)
        assert enc.kl[i] == pytest.approx(kl, rel=1e-5)
        assert enc.mse[i] == pytest.approx(mse, rel=1e-5)
    assert all(np.isfinite(getattr(enc, c)).all() for c in ("mu", "logvar", "recon", "kl", "mse"))


def test_the_sampled_estimate_decodes_a_draw_from_q_and_the_mse_stays_at_the_mean():
    model = ContractOnly("bernoulli")
    x = images_to_tensor(IMAGES)
    terms = per_image_terms(model, x, torch.Generator().manual_seed(5), sample=True)
    noise = torch.randn((3, 1), generator=torch.Generator().manual_seed(5))
    for i, pixels in enumerate(PIXELS):
        z = sum(pixels) / 2 + float(noise[i, 0]) * 0.5  # std = exp(log 0.25 / 2)
        m = 1 / (1 + math.exp(-z))
        assert terms["recon"][i].item() == pytest.approx(sum(_bernoulli(p, m) for p in pixels), rel=1e-5)
        assert terms["mse"][i].item() == pytest.approx(_by_hand(pixels, _bernoulli)[2], rel=1e-5)


def test_the_default_likelihood_is_a_gaussian_with_sigma_0_1():
    assert likelihood_of(ContractOnly()) == DEFAULT_LIKELIHOOD == Likelihood("gaussian", 0.1)
    assert Likelihood("gaussian").sigma == 0.1
    assert likelihood_of(ContractOnly("Bernoulli")) == Likelihood("bernoulli")


def test_a_declared_gaussian_gets_the_normal_density_and_a_bernoulli_the_cross_entropy():
    g = torch.Generator().manual_seed(1)
    x, mean = torch.rand(4, 3, 5, 5, generator=g), torch.rand(4, 3, 5, 5, generator=g)
    normal = -torch.distributions.Normal(mean, 0.3).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(Likelihood("gaussian", 0.3).neg_log_likelihood(x, mean), normal, rtol=1e-5)
    bce = F.binary_cross_entropy(mean, x, reduction="none").flatten(1).sum(1)
    assert torch.allclose(Likelihood("bernoulli").neg_log_likelihood(x, mean), bce, rtol=1e-5)


def test_a_saturated_bernoulli_mean_costs_finite_nats():
    x = torch.tensor([[[[1.0, 0.0, 1.0, 0.0]]]])
    mean = torch.tensor([[[[0.0, 1.0, 1.0, 0.0]]]])  # two pixels certain and wrong, two certain and right
    nll = bernoulli_nll(x, mean).item()
    eps = torch.finfo(torch.float32).eps
    assert nll == pytest.approx(-2 * math.log(eps) - 2 * math.log1p(-eps), rel=1e-5)
    assert nll < 2 * 16


def test_half_precision_decoders_are_scored_in_float32():
    x, mean = torch.tensor([[[[0.25, 0.5]]]]), torch.tensor([[[[0.3, 0.6]]]])
    assert gaussian_nll(x, mean.half(), math.log(0.1)).dtype == torch.float32
    assert bernoulli_nll(x, mean.half()).item() == pytest.approx(bernoulli_nll(x, mean).item(), rel=1e-3)


@pytest.mark.parametrize(
    "declared, message",
    [
        ("poisson", r"model 'contract-only': likelihood 'poisson' is not one of bernoulli, gaussian"),
        (0.1, r"model 'contract-only': its `likelihood` attribute is 0.1; .*'bernoulli', 'gaussian'"),
    ],
)
def test_a_likelihood_we_cannot_read_is_named_not_guessed(declared, message):
    with pytest.raises(ModelSpecError, match=message):
        per_image_terms(ContractOnly(declared), images_to_tensor(IMAGES))


def test_a_likelihood_method_is_not_mistaken_for_a_declaration():
    class WithMethod(ContractOnly):
        def likelihood(self, x, z):
            raise AssertionError("never called")

    with pytest.raises(ModelSpecError, match=r"its `likelihood` attribute is <bound method"):
        likelihood_of(WithMethod())


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("nan"), float("inf")])
def test_a_gaussian_needs_a_positive_finite_sigma(sigma):
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        Likelihood("gaussian", sigma)


def test_a_bernoulli_has_no_sigma():
    with pytest.raises(ValueError, match="no sigma"):
        Likelihood("bernoulli", 0.1)


# The bundled model: the contract path gives the terms the logits path gave before.


@pytest.fixture(scope="module")
def faces_batch():
    return images_to_tensor(load_faces("test").images[:32])


def _logits_path(model, x, z):
    """What per_image_terms computed before: recon from the decoder's logits."""
    logits = model.decode_logits(z)
    return model.neg_log_likelihood(x, logits)


def _bernoulli_twin(model):
    """The bundled weights in a VAE that declares a Bernoulli likelihood (no log_sigma)."""
    config = dataclasses.replace(model.config, likelihood="bernoulli", decoder_sigma=0.0)  # a sigma is Gaussian's
    twin = build_model(config, model.info).eval()
    twin.load_state_dict({k: v for k, v in model.state_dict().items() if k != "log_sigma"})
    return twin


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
@torch.no_grad()
def test_the_bundled_model_gives_the_terms_its_logits_path_gives(faces_batch, likelihood):
    model = load_model("builtin:faces")
    assert model.config.likelihood == "gaussian"  # as shipped
    if likelihood == "bernoulli":
        model = _bernoulli_twin(model)
    assert likelihood_of(model).kind == likelihood
    x = faces_batch
    mu, logvar = model.encode(x)

    terms = per_image_terms(model, x, sample=False)
    assert torch.equal(terms["mu"], mu) and torch.equal(terms["logvar"], logvar)
    assert torch.allclose(terms["recon"], _logits_path(model, x, mu), rtol=1e-4, atol=0)
    assert torch.allclose(terms["kl"], 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1), rtol=1e-6)
    mse = (torch.sigmoid(model.decode_logits(mu)) - x).pow(2).flatten(1).mean(1)
    assert torch.allclose(terms["mse"], mse, rtol=1e-6)

    sampled = per_image_terms(model, x, torch.Generator().manual_seed(3), sample=True)
    before = model.elbo_terms(x, torch.Generator().manual_seed(3))  # same draw, logits path
    assert torch.allclose(sampled["recon"], before.recon, rtol=1e-4, atol=0)
    assert torch.allclose(sampled["kl"], before.kl, rtol=1e-6)


def test_the_bundled_model_declares_its_fixed_sigma():
    model = load_model("builtin:faces")
    assert likelihood_of(model) == Likelihood("gaussian", math.exp(model.log_sigma.item()))
    assert model.config.decoder_sigma == 0.2 and likelihood_of(model).sigma == pytest.approx(0.2)
    assert not model.log_sigma.requires_grad


def test_the_training_loss_still_trains_the_decoder_sigma():
    from explorer_models import VAEConfig

    model = build_model(VAEConfig("mlp", (1, 2, 2), latent_dim=2, likelihood="gaussian"))
    x = torch.rand(3, 1, 2, 2)
    model.elbo_terms(x, torch.Generator().manual_seed(0)).recon.sum().backward()
    assert model.log_sigma.grad is not None and model.log_sigma.grad.item() != 0
