"""Two models on the same data: how the cursor of one becomes a latent of the other, and their
figures side by side.

Linking the cursor. The map is model A's; the second model B has a latent space of its own,
whose axes need not mean anything alike (two trainings of one recipe differ by more than a
rotation). Two links:

- MATCHED (the default): z_B = [z_A, 1] W, with W the least-squares fit of B's mu on A's over
  the data both encoded (numpy's lstsq). A point on the map then shows what B makes of "the
  same place in the data", and the fit's R^2 says how far that can be trusted.
- SAME: z_B = z_A, for two models with latents of one size. Both priors are N(0, I), so this is
  the honest way to compare prior samples, and the only one for a model and its own retraining
  that kept its axes (a fine-tune).

No Qt: the window's comparison panel and tests use it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer_models.errors import UserInputError

MATCHED, SAME = "matched", "same"
LINKS = {MATCHED: "matched through the data", SAME: "the same latent"}


class PairError(UserInputError):
    """Two models that cannot be linked as asked; the message says why."""


@dataclass(frozen=True)
class LatentLink:
    mode: str
    weights: np.ndarray | None  # (D_A + 1, D_B) for MATCHED: the last row is the offset
    r2: float  # MATCHED: the fit's R^2 over the data (variance of B's mu explained); SAME: nan

    def __call__(self, latents_a: np.ndarray) -> np.ndarray:
        """(D_A,) or (B, D_A) latents of A -> B's, float32, of the same rank."""
        z = np.asarray(latents_a, np.float64)
        if self.mode == SAME:
            return z.astype(np.float32)
        rows = np.atleast_2d(z)
        out = rows @ self.weights[:-1] + self.weights[-1]
        return (out[0] if z.ndim == 1 else out).astype(np.float32)

    def describe(self) -> str:
        if self.mode == SAME:
            return "B decodes the very latent A decodes"
        return f"B decodes A's latent mapped by a linear fit over the data (R^2 {self.r2:.3f})"


def link(mode: str, mu_a: np.ndarray, mu_b: np.ndarray) -> LatentLink:
    """The link from A's latents to B's, from both models' mu of the same data points."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    if mode not in LINKS:
        raise PairError(f"unknown link {mode!r}; choose one of {', '.join(LINKS)}")
    if len(mu_a) != len(mu_b):
        raise PairError(f"the two models encoded different data: {len(mu_a):,} and {len(mu_b):,} points")
    if mode == SAME:
        if mu_a.shape[1] != mu_b.shape[1]:
            raise PairError(
                f"the models' latents differ in size ({mu_a.shape[1]} and {mu_b.shape[1]}): link them "
                "through the data instead"
            )
        return LatentLink(SAME, None, float("nan"))
    if len(mu_a) < 2:
        raise PairError("linking through the data needs at least 2 data points")
    design = np.hstack([mu_a, np.ones((len(mu_a), 1))])
    weights = np.linalg.lstsq(design, mu_b, rcond=None)[0]
    residual = ((design @ weights - mu_b) ** 2).sum()
    total = ((mu_b - mu_b.mean(0)) ** 2).sum()
    r2 = 1.0 - residual / total if total > 0 else float("nan")
    return LatentLink(MATCHED, weights, float(r2))


def figure_rows(a: dict, b: dict) -> list[tuple[str, str, str]]:
    """The comparison table: (figure, A, B) rows from each model's figures, a dict with "health"
    (Health.to_dict()) and, when the data has labels, "disentanglement" (Disentanglement.to_dict())."""
    rows = []
    for name, read in _ROWS:
        values = [read(x) for x in (a, b)]
        if any(v is not None for v in values):
            rows.append((name, *("-" if v is None else v for v in values)))
    return rows


def _get(doc: dict, *keys):
    for key in keys:
        if not isinstance(doc, dict) or doc.get(key) is None:
            return None
        doc = doc[key]
    return doc


def _fmt(keys: tuple[str, ...], form: str):
    def read(figures: dict):
        value = _get(figures, *keys)
        return None if value is None else format(value, form)

    return read


def _active(figures: dict):
    h = figures.get("health")
    return None if h is None else f"{h['active_units']['count']} of {h['latent_dim']}"


def _total_kl(figures: dict):
    values = _get(figures, "health", "kl_per_dim", "values")
    return None if values is None else f"{sum(v or 0.0 for v in values):.2f}"


def _mean_se(name: str):
    def read(figures: dict):
        m, se = _get(figures, "health", "likelihood", name, "mean"), _get(figures, "health", "likelihood", name, "se")
        return None if m is None else f"{m:.1f} +- {se:.1f}" if se is not None else f"{m:.1f}"

    return read


_ROWS = (
    ("active units", _active),
    ("KL, nats/image", _total_kl),
    ("I(x; z), nats", _fmt(("health", "mutual_information", "nats"), ".2f")),
    ("IWAE bound, nats/image", _mean_se("iwae")),
    ("ELBO, nats/image", _mean_se("elbo")),
    ("Gaussian-fit KL(q(z) || p(z)), nats", _fmt(("health", "aggregate_posterior", "gaussian_kl"), ".2f")),
    ("prior samples in holes", _fmt(("health", "prior_holes", "fraction"), ".1%")),
    ("MIG", _fmt(("disentanglement", "mig", "mean"), ".3f")),
    ("DCI disentanglement", _fmt(("disentanglement", "dci", "disentanglement"), ".3f")),
    ("DCI completeness", _fmt(("disentanglement", "dci", "completeness"), ".3f")),
    ("DCI informativeness", _fmt(("disentanglement", "dci", "informativeness"), ".3f")),
    ("SAP", _fmt(("disentanglement", "sap", "mean"), ".3f")),
)
