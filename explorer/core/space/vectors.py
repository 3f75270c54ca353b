"""Attribute vectors: directions in the latent space that mean something ("smiling").

Ways to make one (DESIGN-NOTES section 5, White 2017 "Sampling Generative Networks"):
  mean difference       mean(mu | y = 1) - mean(mu | y = 0)
  balanced              the same after resampling every cell of (y, confounders) to the size of
                        the largest cell, so a confounder that co-occurs with y (glasses with
                        smiling) is equally common on both sides and cancels out
  logistic              the normal of a logistic-regression classifier of y on mu
  ridge                 for a continuous label: the ridge-regression coefficients of y on mu
  selection             mean(mu of group A) - mean(mu of group B), two groups picked on the map
  principal             the top principal directions of mu (unsupervised, as GANSpace does)

Each vector carries its quality: the AUC of classifying the label by the projection <mu, v>
(for a continuous label: whether it is above its median), Cohen's d of that projection between
the two groups, and how many samples stand behind it.

Sliders move in standard deviations of the data along the vector:
  z' = z + c * std(<mu, u>) * u,  u = v / |v|
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from explorer.core.space.covariance import principal_axes
from explorer.core.space.probe import roc_auc
from explorer_models.errors import UserInputError

MEAN, BALANCED, LOGISTIC, RIDGE, SELECTION, PRINCIPAL = (
    "mean difference",
    "balanced",
    "logistic",
    "ridge",
    "selection",
    "principal",
)
BALANCE_SEED = 0


class VectorError(UserInputError):
    """A vector that cannot be made (e.g. a label with one value only) or a vector file that
    cannot be used; the message says why."""


@dataclass(frozen=True)
class Quality:
    auc: float | None  # classifying the label by <mu, v>; None without a label
    cohens_d: float  # separation of the two groups' projections, in pooled standard deviations
    n_positive: int  # samples behind the vector on each side
    n_negative: int


@dataclass(frozen=True)
class AttributeVector:
    name: str
    direction: np.ndarray  # (D,), as computed (not normalised)
    method: str
    std: float  # std of <mu, u> over the data: one slider unit
    quality: Quality
    label: str | None = None
    confounders: tuple[str, ...] = ()
    model_hash: str = ""
    data: str = ""  # the dataset it was computed on

    @property
    def unit(self) -> np.ndarray:
        return self.direction / np.linalg.norm(self.direction)

    def offset(self, c: float) -> np.ndarray:
        """The latent offset of slider position c (in standard deviations along the vector)."""
        return c * self.std * self.unit

    def describe(self) -> str:
        q = self.quality
        parts = [] if q.auc is None else [f"AUC {q.auc:.3f}"]
        parts += [f"d {q.cohens_d:.2f}", f"n {q.n_positive:,} / {q.n_negative:,}"]
        return " · ".join(parts)


# -- quality -----------------------------------------------------------------------------
def _cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = len(a), len(b)
    pooled = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / max(na + nb - 2, 1))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else float("inf")


AUC_SAMPLE = 200_000  # points the AUC is estimated on (a sort of a million holds the GIL ~0.1 s)
FIT_SAMPLE = 200_000  # points a logistic or ridge regression is fitted on (_fit_sample)


def _split_quality(pos: np.ndarray, neg: np.ndarray, labelled: bool) -> Quality:
    """Quality from the projections of the two groups onto the unit direction. On more than
    AUC_SAMPLE points the AUC comes from a fixed random sample of each group (its standard
    error there is under 0.002); Cohen's d and the counts use every point."""
    auc = None
    if labelled:
        a, b = pos, neg
        if len(pos) + len(neg) > AUC_SAMPLE:
            rng, keep = np.random.default_rng(0), AUC_SAMPLE / (len(pos) + len(neg))
            a = rng.choice(pos, max(1, round(len(pos) * keep)), replace=False)
            b = rng.choice(neg, max(1, round(len(neg) * keep)), replace=False)
        auc = roc_auc(np.r_[a, b], np.r_[np.ones(len(a)), np.zeros(len(b))])
    return Quality(auc, _cohens_d(pos, neg), len(pos), len(neg))


def quality(mu: np.ndarray, direction: np.ndarray, positive: np.ndarray, labelled: bool = True) -> Quality:
    """Quality of a direction for a boolean split of the data (positive vs the rest)."""
    proj = np.asarray(mu, np.float64) @ (direction / np.linalg.norm(direction))
    return _split_quality(proj[positive], proj[~positive], labelled)


def _binary(y: np.ndarray, name: str) -> np.ndarray:
    y = np.asarray(y)
    values = np.unique(y)
    if not np.isin(values, (0, 1)).all():
        raise VectorError(
            f"label {name!r} is not binary (values {values[:5].tolist()}…); use the ridge method for a continuous label"
        )
    if len(values) < 2:
        raise VectorError(f"label {name!r} has only the value {values[0]:g} in this dataset: no direction")
    return y == 1


def _unit(name: str, direction: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(direction)
    if not np.isfinite(direction).all() or norm == 0:
        raise VectorError(f"{name}: the direction is zero or undefined")
    return direction / norm


def _make(name, direction, method, mu, positive, labelled=True, **kw) -> AttributeVector:
    direction = np.asarray(direction, np.float64)
    u = _unit(name, direction)
    std = float((np.asarray(mu, np.float64) @ u).std())
    return AttributeVector(name, direction, method, std, quality(mu, direction, positive, labelled), **kw)


# -- the ways to make one ----------------------------------------------------------------
def mean_difference(mu: np.ndarray, y: np.ndarray, name: str, **kw) -> AttributeVector:
    pos = _binary(y, name)
    mu = np.asarray(mu, np.float64)
    return _make(name, mu[pos].mean(0) - mu[~pos].mean(0), MEAN, mu, pos, label=name, **kw)


def balanced_mean_difference(
    mu: np.ndarray, y: np.ndarray, name: str, confounders: dict[str, np.ndarray], seed: int = BALANCE_SEED, **kw
) -> AttributeVector:
    """Mean difference after resampling each (y, confounders) cell to the largest cell's size."""
    if name in confounders:
        raise VectorError(f"cannot balance {name} by itself; balance it by other labels")
    if not confounders:
        raise VectorError(f"choose the labels to balance {name} by")
    pos = _binary(y, name)
    mu = np.asarray(mu, np.float64)
    conf = {c: _binary(v, c) for c, v in confounders.items()}
    keys = np.stack([pos, *conf.values()], 1).astype(int) @ (1 << np.arange(len(conf) + 1))
    cells = {k: np.flatnonzero(keys == k) for k in range(1 << (len(conf) + 1))}
    empty = [k for k, idx in cells.items() if len(idx) == 0]
    if empty:
        k = empty[0]
        which = ", ".join(f"{n}={(k >> i) & 1}" for i, n in enumerate([name, *conf]))
        raise VectorError(f"cannot balance {name} by {', '.join(conf)}: no data point has {which}")
    size = max(len(idx) for idx in cells.values())
    rng = np.random.default_rng(seed)
    resampled = {k: rng.choice(idx, size, replace=True) for k, idx in cells.items()}
    pos_idx = np.concatenate([v for k, v in resampled.items() if k & 1])
    neg_idx = np.concatenate([v for k, v in resampled.items() if not k & 1])
    direction = mu[pos_idx].mean(0) - mu[neg_idx].mean(0)
    return _make(
        f"{name} (balanced by {', '.join(conf)})",
        direction,
        BALANCED,
        mu,
        pos,
        label=name,
        confounders=tuple(conf),
        **kw,
    )


def _fit_sample(n: int, seed: int = 0) -> np.ndarray | slice:
    """The rows a regression is fitted on: all, or FIT_SAMPLE of them picked at random. A few
    latent dimensions' direction is fixed long before 200,000 points (its error falls as
    1/sqrt(n)), and a fit on a million takes a second that a user waits for."""
    if n <= FIT_SAMPLE:
        return slice(None)
    return np.sort(np.random.default_rng(seed).choice(n, FIT_SAMPLE, replace=False))


def logistic_direction(mu: np.ndarray, y: np.ndarray, name: str, **kw) -> AttributeVector:
    from sklearn.linear_model import LogisticRegression

    pos = _binary(y, name)
    rows = _fit_sample(len(pos))
    if len(np.unique(pos[rows])) < 2:
        rows = slice(None)  # a rare label the sample missed: fit on every point
    clf = LogisticRegression(max_iter=2000).fit(np.asarray(mu[rows], np.float64), pos[rows].astype(int))
    return _make(f"{name} (logistic)", clf.coef_[0], LOGISTIC, mu, pos, label=name, **kw)


def ridge_direction(mu: np.ndarray, y: np.ndarray, name: str, alpha: float = 1.0, **kw) -> AttributeVector:
    from sklearn.linear_model import Ridge

    y = np.asarray(y, np.float64)
    if np.ptp(y) == 0:
        raise VectorError(f"label {name!r} is constant in this dataset: no direction")
    rows = _fit_sample(len(y))
    coef = Ridge(alpha=alpha).fit(np.asarray(mu[rows], np.float64), y[rows]).coef_
    above = y > np.median(y)
    if not above.any():  # the median is the top value (e.g. a 0/1 label mostly 1): split below it
        above = y >= np.median(y)
    return _make(f"{name} (ridge)", coef, RIDGE, mu, above, label=name, **kw)


def selection_difference(
    mu: np.ndarray, group_a: np.ndarray, group_b: np.ndarray, name: str = "A - B", **kw
) -> AttributeVector:
    """mean(mu[A]) - mean(mu[B]) for two sets of point indices; quality is how well the
    direction separates A from B."""
    a, b = np.asarray(group_a, int), np.asarray(group_b, int)
    if len(a) == 0 or len(b) == 0:
        raise VectorError("select at least one point in each group (A and B)")
    mu = np.asarray(mu, np.float64)
    direction = mu[a].mean(0) - mu[b].mean(0)
    u = _unit(name, direction)
    q = _split_quality(mu[a] @ u, mu[b] @ u, labelled=True)
    return AttributeVector(name, direction, SELECTION, float((mu @ u).std()), q, **kw)


def principal_directions(mu: np.ndarray, k: int = 3, **kw) -> list[AttributeVector]:
    mean, _, axes = principal_axes(mu)
    out = []
    for i in range(min(k, axes.shape[1])):
        proj = np.asarray(mu, np.float64) @ axes[:, i] - mean @ axes[:, i]
        out.append(_make(f"PC {i + 1}", axes[:, i], PRINCIPAL, mu, proj > np.median(proj), labelled=False, **kw))
    return out


LABEL_METHODS = (MEAN, BALANCED, LOGISTIC, RIDGE)


def from_label(
    method: str,
    mu: np.ndarray,
    labels: np.ndarray,
    label_names: tuple[str, ...],
    label: str,
    balance_by: tuple[str, ...] = (),
    **kw,
) -> AttributeVector:
    """The vector for `label` by a method of LABEL_METHODS (the window and the CLI share this)."""

    def column(name: str) -> np.ndarray:
        if name not in label_names:
            raise VectorError(f"no label called {name!r} (labels: {', '.join(label_names) or 'none'})")
        return labels[:, label_names.index(name)]

    y = column(label)
    confounders = {c: column(c) for c in balance_by} if method == BALANCED else {}
    # points whose label (or a confounder) is unknown (NaN: a labels file without their row) sit out
    known = np.isfinite(y)
    for values in confounders.values():
        known &= np.isfinite(values)
    if not known.all():
        if not known.any():
            also = " (or a label it is balanced by)" if confounders else ""
            raise VectorError(f"label {label!r}{also} is unknown for every point")
        mu, y, confounders = mu[known], y[known], {c: v[known] for c, v in confounders.items()}
    if method == MEAN:
        return mean_difference(mu, y, label, **kw)
    if method == BALANCED:
        return balanced_mean_difference(mu, y, label, confounders, **kw)
    if method == LOGISTIC:
        return logistic_direction(mu, y, label, **kw)
    if method == RIDGE:
        return ridge_direction(mu, y, label, **kw)
    raise VectorError(f"unknown method {method!r}; choose one of {', '.join(LABEL_METHODS)}")


# -- using several ---------------------------------------------------------------------------
def orthogonalised(vectors: list[AttributeVector], mu: np.ndarray) -> list[AttributeVector]:
    """Gram-Schmidt in list order: each vector loses its components along the earlier ones.
    The slider unit (std) is recomputed along each new direction."""
    mu = np.asarray(mu, np.float64)
    basis: list[np.ndarray] = []
    out = []
    for v in vectors:
        u = v.unit.copy()
        for b in basis:
            u -= (u @ b) * b
        norm = np.linalg.norm(u)
        if norm < 1e-9:
            raise VectorError(
                f"{v.name} lies in the span of the vectors before it: nothing is left after orthogonalising"
            )
        u /= norm
        basis.append(u)
        out.append(replace(v, direction=u, std=float((mu @ u).std())))
    return out


def combined_offset(vectors: list[AttributeVector], values: list[float], latent_dim: int) -> np.ndarray:
    """Sum of the slider offsets (they add)."""
    total = np.zeros(latent_dim)
    for v, c in zip(vectors, values):
        total += v.offset(c)
    return total


@dataclass
class SliderSet:
    """The attribute panel's vectors and slider positions (Qt-free, so it is testable)."""

    vectors: list[AttributeVector] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    orthogonalise: bool = False

    def add(self, vector: AttributeVector) -> None:
        self.vectors.append(vector)
        self.values.append(0.0)

    def remove(self, index: int) -> None:
        del self.vectors[index]
        del self.values[index]

    def effective(self, mu: np.ndarray) -> list[AttributeVector]:
        return orthogonalised(self.vectors, mu) if self.orthogonalise and self.vectors else list(self.vectors)

    def offset(self, mu: np.ndarray, latent_dim: int) -> np.ndarray:
        return combined_offset(self.effective(mu), self.values, latent_dim)
