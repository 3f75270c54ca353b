"""How well a direction or a linear classifier on the latents separates a binary label.

Used to judge a model (does mu encode `smiling`?) and, later, attribute vectors (AUC of
the projection <mu, v>). scikit-learn supplies the logistic regression and the ROC AUC.
"""

from __future__ import annotations

import numpy as np


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of `scores` for binary `labels`: 0.5 is chance, 1.0 perfect."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) != 2:
        raise ValueError("AUC needs both label values among the samples")
    return float(roc_auc_score(labels, scores))


def linear_probe_auc(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    """Fit a logistic regression on (train_x, train_y); its held-out AUC on (test_x, test_y)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(train_x, train_y)
    return roc_auc(probe.decision_function(test_x), test_y)
