"""Model files as users write them (tutorial VAEs in their many conventions), for the tests of
opening a user's own model: `user_file(NAME)` writes one to the test's folder."""

from __future__ import annotations

import textwrap

import pytest

# the PyTorch examples' VAE: flattened 784 inputs, (mu, logvar), sigmoid output
MLP_MU_LOGVAR = """
import torch
from torch import nn
from torch.nn import functional as F

class VAE(nn.Module):
    def __init__(self, hidden=64, z_dim=4):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc21 = nn.Linear(hidden, z_dim)
        self.fc22 = nn.Linear(hidden, z_dim)
        self.fc3 = nn.Linear(z_dim, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))
"""

# a conv VAE whose decoder returns logits and whose encoder returns one [mu | logvar] tensor
CONV_LOGITS_CONCAT = """
import torch
from torch import nn

class ConvVAE(nn.Module):
    def __init__(self, z_dim=6):
        super().__init__()
        self.z_dim = z_dim
        self.enc = nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16 * 16, 2 * z_dim))
        self.dec = nn.Sequential(nn.Linear(z_dim, 3 * 32 * 32), nn.Unflatten(1, (3, 32, 32)))

    def encode(self, x):
        return self.enc(x)

    def decode(self, z):
        return self.dec(z) * 8  # logits well outside [-1, 1]
"""

# an encoder returning a torch Normal; a tanh decoder (images in [-1, 1]); grey 16x16 images
NORMAL_TANH = """
import torch
from torch import nn
from torch.distributions import Normal

class NormalVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(256, 6)
        self.dec = nn.Linear(3, 256)

    def encode(self, x):
        mu, log_sigma = self.enc(x).chunk(2, dim=-1)
        return Normal(mu, log_sigma.exp())

    def decode(self, z):
        return torch.tanh(self.dec(z)).view(-1, 1, 16, 16)
"""

# a dict from the encoder; a log-sigma pair is declared with --encoder-output
DICT_AND_PAIR = """
import torch
from torch import nn

class DictVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(64, 4)
        self.dec = nn.Linear(2, 64)

    def encode(self, x):
        mu, log_var = self.enc(x).chunk(2, dim=-1)
        return {"mean": mu, "log_var": log_var}

    def decode(self, z):
        return torch.sigmoid(self.dec(z))

class PairVAE(DictVAE):
    def encode(self, x):
        out = super().encode(x)
        return out["mean"], out["log_var"] / 2
"""

# models that fail the test forward pass, each in one way
BROKEN = """
import torch
from torch import nn

class WrongShape(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(64, 4)
        self.dec = nn.Linear(2, 50)

    def encode(self, x):
        return self.enc(x).chunk(2, dim=-1)

    def decode(self, z):
        return torch.sigmoid(self.dec(z))

class NaNDecoder(WrongShape):
    def __init__(self):
        super().__init__()
        self.dec = nn.Linear(2, 64)

    def decode(self, z):
        return self.dec(z) * float("nan")

class Pixels255(WrongShape):
    def __init__(self):
        super().__init__()
        self.dec = nn.Linear(2, 64)

    def decode(self, z):
        return torch.sigmoid(self.dec(z)) * 255  # 0..255, not [0, 1]

class NoDecode(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(64, 4)

    def encode(self, x):
        return self.enc(x).chunk(2, dim=-1)

    def decode(self, z):
        raise ValueError("not written yet")
"""


# conventions of other tutorials: a DCGAN-style conv VAE, (z, mu, logvar), a decoder built first, sigma
MORE_CONVENTIONS = """
import torch
from torch import nn
from torch.nn import functional as F

class Pooled(nn.Module):
    \"\"\"Global pooling: the encoder takes any size; only the decoder says 3x32x32.\"\"\"
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Conv2d(8, 2 * 4, 1)  # (B, 2D, 1, 1) after pooling
        self.dec = nn.Linear(4, 3 * 32 * 32)

    def encode(self, x):
        h = F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1)
        mu, logvar = self.head(h).chunk(2, dim=1)  # each (B, 4, 1, 1)
        return mu, logvar

    def decode(self, z):
        return torch.sigmoid(self.dec(z.flatten(1))).view(-1, 3, 32, 32)

class Triple(nn.Module):
    \"\"\"encode() -> (z, mu, logvar), z sampled; the decoder registered before the encoder.\"\"\"
    def __init__(self):
        super().__init__()
        self.dec = nn.Linear(3, 64)
        self.enc = nn.Linear(64, 6)

    def encode(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=-1)
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp(), mu, logvar

    def decode(self, z):
        return torch.sigmoid(self.dec(z))

class Sigma(nn.Module):
    \"\"\"encode() -> (mu, sigma) with a softplus sigma: always above 0.\"\"\"
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(64, 4)
        self.dec = nn.Linear(2, 64)

    def encode(self, x):
        mu, s = self.enc(x).chunk(2, dim=-1)
        return mu, F.softplus(s) + 0.1

    def decode(self, z):
        return self.dec(z).clamp(-0.05, 1.06)  # no last activation (trained on MSE): a little outside [0, 1]
"""

SOURCES = {
    "mlp.py": MLP_MU_LOGVAR,
    "conv.py": CONV_LOGITS_CONCAT,
    "normal.py": NORMAL_TANH,
    "dicts.py": DICT_AND_PAIR,
    "broken.py": BROKEN,
    "more.py": MORE_CONVENTIONS,
}


@pytest.fixture
def user_file(tmp_path):
    """user_file("mlp.py") -> the path of that model file, written into the test's folder."""

    def write(name: str):
        path = tmp_path / name
        path.write_text(textwrap.dedent(SOURCES[name]).lstrip())
        return path

    return write
