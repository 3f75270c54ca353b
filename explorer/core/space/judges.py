"""Judge decoded images by pixels: does a vector really change what it claims to?

A judge is a logistic regression on 32x32 grey pixels, trained on a labelled dataset's own
images. It answers from the image alone, independently of the latent space, so it can check
that moving along "smiling" makes faces smile, and how much it changes other labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.core.data import DatasetLike
from explorer.core.space.vectors import AttributeVector
from explorer_models.vae import LatentModel, tensor_to_images


def grey(images: np.ndarray, side: int = 32) -> np.ndarray:
    """(N, H, W, C) uint8 with H, W multiples of side -> (N, side * side) grey features in [0, 1]."""
    x = np.asarray(images, np.float32).mean(-1)
    n, h, w = x.shape
    return x.reshape(n, side, h // side, side, w // side).mean((2, 4)).reshape(n, -1) / 255


def grey32(images: np.ndarray) -> np.ndarray:
    return grey(images, 32)


@dataclass
class PixelJudge:
    label: str
    classifier: object
    accuracy: float  # on held-out images of the same data
    side: int = 32  # the grey pixels it reads are side x side

    @classmethod
    def fit(
        cls,
        train: DatasetLike,
        label: str,
        n: int = 3000,
        heldout: DatasetLike | None = None,
        side: int = 32,
        c: float = 1.0,
    ) -> PixelJudge:
        """Train on the first n images; accuracy on the first 500 held-out ones (or on the next
        500 of `train` when there is no held-out data). `c` is the inverse regularisation
        strength: larger, and the judge is surer of itself (sample_quality needs that)."""
        from sklearn.linear_model import LogisticRegression

        k = min(n, len(train))
        features = grey(train.images_at(range(k)), side)
        clf = LogisticRegression(max_iter=5000, C=c).fit(features, train.label(label)[:k])
        check = heldout if heldout is not None else train
        start = 0 if heldout is not None else k
        stop = min(start + 500, len(check))
        predicted = clf.predict(grey(check.images_at(range(start, stop)), side))
        accuracy = float((predicted == check.label(label)[start:stop]).mean())
        return cls(label, clf, accuracy, side)

    def probability(self, images: np.ndarray) -> np.ndarray:
        return self.classifier.predict_proba(grey(images, self.side))[:, 1]

    def verdict(self, images: np.ndarray) -> np.ndarray:
        return self.classifier.predict(grey(images, self.side)).astype(bool)


def sweep(
    model: LatentModel,
    latents: np.ndarray,
    vector: AttributeVector,
    steps,
    judges: list[PixelJudge],
    device: str | torch.device = "cpu",
) -> dict[str, np.ndarray]:
    """For each slider step c: decode latents + offset(c); per judge, the fraction judged
    positive ("<label>") and the mean probability ("<label> p")."""
    out = {f"{j.label}{suffix}": [] for j in judges for suffix in ("", " p")}
    for c in steps:
        z = torch.from_numpy((np.asarray(latents) + vector.offset(c)).astype(np.float32)).to(device)
        with torch.no_grad():
            images = tensor_to_images(model.decode(z))
        for j in judges:
            out[j.label].append(j.verdict(images).mean())
            out[f"{j.label} p"].append(j.probability(images).mean())
    return {k: np.array(v) for k, v in out.items()}
