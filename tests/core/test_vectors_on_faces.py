"""The smile vector on the bundled model and data, judged on decoded pixels by classifiers
trained on the generator's own images and labels."""

import numpy as np
import pytest

from explorer.core.data import load_faces
from explorer.core.space import vectors as V
from explorer.core.space.judges import PixelJudge, sweep
from explorer_models import load_model
from explorer_models.evaluation import iter_terms

STEPS = (-2, -1, 0, 1, 2)


@pytest.fixture(scope="module")
def faces_setup():
    model = load_model("builtin:faces")
    train, test = load_faces("train"), load_faces("test")

    def mu(images):
        return np.concatenate([t["mu"] for t in iter_terms(model, images)])

    judges = [PixelJudge.fit(train, name, heldout=test) for name in ("smiling", "glasses")]
    assert all(j.accuracy > 0.95 for j in judges)  # the judges must be right on held-out pixels
    n = 8000
    return model, mu(train.images[:n]), train.labels[:n], train.label_names, mu(test.images[:300]), judges


def _sweep(setup, vector):
    """Fraction judged smiling, and mean glasses probability, at each slider step."""
    model, _, _, _, test_mu, judges = setup
    result = sweep(model, test_mu, vector, STEPS, judges)
    return result["smiling"], result["glasses p"]


def _label(setup, name):
    _, _, labels, names, _, _ = setup
    return labels[:, names.index(name)]


@pytest.mark.slow
def test_moving_along_the_smile_vector_makes_faces_smile(faces_setup):
    mu = faces_setup[1]
    smile = V.mean_difference(mu, _label(faces_setup, "smiling"), "smiling")
    smiling, _ = _sweep(faces_setup, smile)
    assert np.all(np.diff(smiling) > 0), smiling  # rises monotonically
    assert smiling[0] < 0.2 and smiling[-1] > 0.8, smiling


@pytest.mark.slow
def test_balancing_by_glasses_stops_the_smile_vector_adding_glasses(faces_setup):
    mu = faces_setup[1]
    smile = _label(faces_setup, "smiling")
    naive = V.mean_difference(mu, smile, "smiling")
    balanced = V.balanced_mean_difference(mu, smile, "smiling", {"glasses": _label(faces_setup, "glasses")})
    naive_smiling, naive_glasses = _sweep(faces_setup, naive)
    balanced_smiling, balanced_glasses = _sweep(faces_setup, balanced)
    naive_drag = abs(naive_glasses[-1] - naive_glasses[0])
    balanced_drag = abs(balanced_glasses[-1] - balanced_glasses[0])
    assert naive_drag > 0.2, naive_glasses  # the data correlates them: noticeably more glasses
    assert balanced_drag * 3 <= naive_drag, (naive_glasses, balanced_glasses)
    # ... while moving smiling as much
    assert balanced_smiling[0] < 0.2 and balanced_smiling[-1] > 0.8, balanced_smiling
    assert abs((balanced_smiling[-1] - balanced_smiling[0]) - (naive_smiling[-1] - naive_smiling[0])) < 0.1
