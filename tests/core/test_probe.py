import numpy as np
import pytest

from explorer.core.space.probe import linear_probe_auc, roc_auc


def test_roc_auc_known_values():
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    # one positive above one of the two negatives: 3 of 4 pairs ordered right
    assert roc_auc(np.array([0.1, 0.5, 0.4, 0.9]), np.array([0, 0, 1, 1])) == 0.75
    with pytest.raises(ValueError, match="both label values"):
        roc_auc(np.array([0.1, 0.2]), np.array([1, 1]))


def test_linear_probe_finds_a_linear_label_and_not_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 8))
    y = (x[:, 2] - 0.5 * x[:, 5] > 0).astype(int)
    noise = rng.integers(0, 2, 2000)
    assert linear_probe_auc(x[:1000], y[:1000], x[1000:], y[1000:]) > 0.99
    assert abs(linear_probe_auc(x[:1000], noise[:1000], x[1000:], noise[1000:]) - 0.5) < 0.06
