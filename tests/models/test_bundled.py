"""The model we ship: present in an installed package, loadable offline, and good."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.core.data import faces, load_faces
from explorer.core.space.probe import linear_probe_auc
from explorer_models import load_model
from explorer_models.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "models" / "weights"
BUNDLED = ("builtin:faces", "builtin:faces-beta1")


def test_bundled_weights_are_small_enough_to_ship():
    from explorer_models.loading import BUILTIN_MODELS

    files = sorted(WEIGHTS.glob("*.safetensors"))
    assert [f.name for f in files] == sorted(BUILTIN_MODELS.values())
    assert sum(f.stat().st_size for f in files) <= 15 * 1000 * 1000  # issue 14: both together


@pytest.mark.slow
def test_bundled_model_loads_offline_from_a_non_editable_install(tmp_path):
    target = tmp_path / "site"
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import explorer_models as models; assert models.__file__.startswith(sys.argv[1]), models.__file__;"
        "m = models.load_model('builtin:faces'); print(m.info.content_hash, m.latent_dim)"
    )
    # run from an unrelated folder, so nothing can come from the source tree
    out = subprocess.run(
        [sys.executable, "-c", probe, str(target)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [load_model("builtin:faces").info.content_hash, "16"]


@pytest.fixture(scope="module")
def encoded(held_out_faces_cached):
    """For each bundled model, mu and labels of 4,000 training faces and of the held-out faces,
    read from the encodings cache: the window tests need all the bundled faces encoded there by
    the default model anyway, so a run encodes them once."""
    from explorer.core.data import load_dataset
    from explorer.core.store.encoding import encode_with_cache

    train, test = load_dataset("builtin:faces"), load_dataset("builtin:faces:test")
    n_train = 4000
    out = {}
    for spec in BUNDLED:
        model = load_model(spec)
        test_mu = held_out_faces_cached.mu if spec == "builtin:faces" else encode_with_cache(model, test).mu
        train_mu = encode_with_cache(model, train).mu[:n_train]
        out[spec] = np.asarray(train_mu), train.labels[:n_train], np.asarray(test_mu), load_faces("test").labels
    return out


@pytest.mark.slow
@pytest.mark.parametrize("spec", BUNDLED)
@pytest.mark.parametrize("label", faces.BINARY_FACTORS)
def test_linear_probe_on_mu_predicts_binary_labels_on_held_out_faces(encoded, spec, label):
    train_mu, train_labels, test_mu, test_labels = encoded[spec]
    column = faces.FACTOR_NAMES.index(label)
    auc = linear_probe_auc(train_mu, train_labels[:, column], test_mu, test_labels[:, column])
    assert auc >= 0.95, f"{spec} {label}: AUC {auc:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("spec", BUNDLED)
def test_recorded_held_out_figures_are_true(spec):
    """What `info` (and the README) says about held-out quality is what we measure now."""
    model = load_model(spec)
    measured = evaluate(model, load_faces("test").images)
    recorded = model.info.training["heldout"]
    assert measured["mse"] == pytest.approx(recorded["mse"], rel=1e-3)
    assert measured["elbo"] == pytest.approx(recorded["elbo"], rel=1e-3)
    assert measured["mse"] < 0.01  # recognisably the same face: see docs/bundled-model.md
