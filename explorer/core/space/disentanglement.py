"""Disentanglement: how one-to-one is the map between latent dimensions and known factors?

From the data's posterior means mu (N, D) and labelled ground-truth factors v_k (N,) each:

- Factor kinds: a factor with at most MAX_CLASSES distinct known values is discrete (its values
  are its classes), any other is continuous. A factor with a single value has zero entropy and is
  left out of every figure (`left_out` says which); rows where a factor is NaN are dropped for
  that factor only.
- Mutual information and MIG (Chen et al. 2018, "Isolating sources of disentanglement"; the
  estimator of Locatello et al. 2019, disentanglement_lib): each latent dimension is discretised
  into BINS equal-width bins (a histogram over all N points), a continuous factor the same way, a
  discrete one kept as it is; MI(z_d; v_k) = sklearn.metrics.mutual_info_score of the codes, in
  nats; normalised MI = MI / H(v_k). Per factor, MIG_k = (the largest MI - the second largest MI
  over dims) / H(v_k); MIG = mean_k MIG_k.
- SAP (Kumar et al. 2018, "Variational inference of disentangled latent concepts"): a score
  S[d, k] of each dim alone for each factor, fitted on a training split and scored on a held-out
  one: for a continuous factor the R^2 of a 1-D linear regression of v_k on z_d; for a discrete
  factor the chance-adjusted balanced accuracy (sklearn's balanced_accuracy_score(adjusted=True):
  0 for chance, 1 perfect) of a 1-D nearest-class-mean classifier. Both are clipped at 0, so one
  scale serves both kinds (plain accuracy, as disentanglement_lib uses, would give an unused dim
  0.5 on a balanced binary factor and cap its gap there). SAP_k = the top score - the second;
  SAP = mean_k SAP_k.
- DCI (Eastwood & Williams 2018, "A framework for the quantitative evaluation of disentangled
  representations"): per factor, a model predicts v_k from all of z (sklearn's
  HistGradientBoostingClassifier / -Regressor: gradient-boosted trees, the paper's reference
  model, in their fast histogram form), and the importance R[d, k] of dim d is its permutation
  importance on the held-out split (the drop in the model's score when z_d is shuffled, clipped
  at 0, normalised so each column sums to 1; a factor no dim predicts keeps a zero column).
  Permutation importance, unlike the trees' impurity importance, gives a dim that is pure noise
  ~0 rather than a share of the splits. With P[d, k] = R[d, k] / sum_k R[d, k], a dim's weight
  rho_d = sum_k R[d, k] / sum R and H_K the entropy in base K:
  disentanglement = sum_d rho_d (1 - H_K(P[d, :])), completeness = mean_k (1 - H_D(R[:, k]))
  (0 for a factor no dim predicts), informativeness = mean_k of the model's held-out score:
  accuracy for a discrete factor, R^2 for a continuous one. Disentanglement needs two factors
  (with one it is NaN).

SAP and DCI fit on a seeded sample of at most max_points points per factor (MAX_POINTS), of which
TEST_FRACTION is held out: that keeps `measure` on 20,000 points x 16 dims x 10 factors within
seconds on two CPU cores. Each factor's sample is seeded by (seed, the factor's name), so a
factor's figures do not depend on which other factors are measured beside it. Everything is
deterministic for a seed. No Qt: the CLI (`vae-explorer disentangle`) and a notebook use it as
it is.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from explorer.core.figures.compose import caption_font, fit_text, text_colour
from explorer.core.io.json_document import finite_list, finite_or_none
from explorer.core.steps import Progress, Steps, run_steps
from explorer_models.errors import UserInputError

BINS = 20  # equal-width bins per latent dim (and continuous factor) in the MI estimate
MAX_CLASSES = 20  # a factor with at most this many distinct values is discrete
MIN_POINTS = 50  # known values a factor needs (and points the data needs)
MAX_POINTS = 5000  # points per factor the SAP and DCI models fit and score on
TEST_FRACTION = 0.25  # of those, held out for scoring
PERMUTATION_REPEATS = 5  # shuffles per dim in the permutation importance
TREES = 100  # boosting iterations of the DCI models
DISCRETE, CONTINUOUS = "discrete", "continuous"
MATRICES = ("normalised_mi", "mutual_info", "importance", "sap_scores")


class DisentanglementError(UserInputError):
    """Encodings or factors that cannot be measured; the message says why."""


@dataclass(frozen=True)
class Disentanglement:
    """The figures of `measure` (see the module docstring). Matrices are (D, K): rows are the
    latent dims in `dims`, columns the factors in `factors`."""

    dims: tuple[int, ...]
    factors: tuple[str, ...]
    kinds: tuple[str, ...]  # DISCRETE or CONTINUOUS, per factor
    entropy: np.ndarray  # (K,) H(v_k) in nats, of the discretised factor
    mutual_info: np.ndarray  # (D, K) MI(z_d; v_k) in nats
    normalised_mi: np.ndarray  # (D, K) MI / H(v_k)
    sap_scores: np.ndarray  # (D, K) held-out score of dim d alone for factor k (R^2 or adjusted balanced accuracy)
    importance: np.ndarray  # (D, K) DCI importance; each column sums to 1 where the factor is predicted at all
    mig: float
    mig_per_factor: dict[str, float]
    dci_disentanglement: float
    dci_completeness: float
    dci_informativeness: float  # mean held-out accuracy (discrete) or R^2 (continuous) over factors
    informativeness_per_factor: dict[str, float]
    sap: float
    sap_per_factor: dict[str, float]
    n_points: int
    seed: int
    fit_points: int  # points per factor the SAP and DCI models used (train + held out), at most
    left_out: dict[str, str] = field(default_factory=dict)  # factor -> why it has no column

    def _column(self, factor: str) -> int:
        if factor in self.left_out:
            raise DisentanglementError(f"factor {factor!r} was left out: {self.left_out[factor]}")
        if factor not in self.factors:
            raise DisentanglementError(f"no factor {factor!r}; measured: {', '.join(self.factors)}")
        return self.factors.index(factor)

    def best_dim(self, factor: str) -> int:
        """The latent dim with the highest normalised MI for `factor` (the lowest index on a tie)."""
        return self.dims[int(np.argmax(self.normalised_mi[:, self._column(factor)]))]

    def lines(self) -> list[str]:
        d, k = len(self.dims), len(self.factors)
        held = round(self.fit_points * TEST_FRACTION)
        out = [
            f"points          {self.n_points:,}; {d} latent dims, {k} factors (models fit on up to "
            f"{self.fit_points - held:,} points per factor, scored on {held:,} held out; seed {self.seed})",
            f"MIG             {_num(self.mig)}  mean over factors of (top - second MI(z_d; v)) / H(v) "
            f"(Chen et al. 2018; {BINS} bins)",
            f"SAP             {_num(self.sap)}  mean over factors of the top - second score of one dim alone "
            "(Kumar et al. 2018)",
            f"DCI             disentanglement {_num(self.dci_disentanglement)}, completeness "
            f"{_num(self.dci_completeness)}, informativeness {_num(self.dci_informativeness)} "
            "(Eastwood & Williams 2018; boosted trees)",
            "per factor      (informativeness: held-out accuracy if discrete, R^2 if continuous)",
            f"  {'factor':<16} {'kind':<10} {'best dim':>8} {'norm MI':>8} {'MIG':>6} {'SAP':>6} {'inform.':>8}",
        ]
        for j, (name, kind) in enumerate(zip(self.factors, self.kinds)):
            best = self.best_dim(name)
            out.append(
                f"  {name:<16} {kind:<10} {best:>8} {self.normalised_mi[self.dims.index(best), j]:8.3f} "
                f"{_num(self.mig_per_factor[name]):>6} {_num(self.sap_per_factor[name]):>6} "
                f"{_num(self.informativeness_per_factor[name]):>8}"
            )
        if k == 1:
            out.append("note            DCI disentanglement needs two factors or more: not measured")
        if self.left_out:
            out.append("left out        " + "; ".join(f"{name} ({why})" for name, why in self.left_out.items()))
        return out

    def to_dict(self) -> dict:
        """The figures as plain JSON values (a number that is not finite becomes null)."""
        return {
            "points": self.n_points,
            "seed": self.seed,
            "fit_points": self.fit_points,
            "test_fraction": TEST_FRACTION,
            "bins": BINS,
            "dims": list(self.dims),
            "factors": list(self.factors),
            "kinds": dict(zip(self.factors, self.kinds)),
            "left_out": dict(self.left_out),
            "mig": {"mean": finite_or_none(self.mig), "per_factor": _named(self.mig_per_factor)},
            "sap": {"mean": finite_or_none(self.sap), "per_factor": _named(self.sap_per_factor)},
            "dci": {
                "disentanglement": finite_or_none(self.dci_disentanglement),
                "completeness": finite_or_none(self.dci_completeness),
                "informativeness": finite_or_none(self.dci_informativeness),
                "informativeness_per_factor": _named(self.informativeness_per_factor),
            },
            "best_dim": {name: self.best_dim(name) for name in self.factors},
            "entropy": finite_list(self.entropy),
            "matrices": {name: [finite_list(row) for row in getattr(self, name)] for name in MATRICES},
        }


def _num(x: float) -> str:
    return f"{x:.3f}" if math.isfinite(x) else "n/a"


def _named(values: dict[str, float]) -> dict[str, float | None]:
    return {name: finite_or_none(v) for name, v in values.items()}


# -- the measures --------------------------------------------------------------------------------
def discretise(x: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Bin indices 0..bins-1 of `x` in `bins` equal-width bins over its range (disentanglement_lib's
    np.digitize on np.histogram's edges)."""
    edges = np.histogram(x, bins)[1]
    return np.digitize(x, edges[1:-1])


def entropy(codes: np.ndarray) -> float:
    """H of integer codes, in nats."""
    p = np.bincount(codes) / len(codes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _normalised_entropy(p: np.ndarray, base: int) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / math.log(base))


def _gap(scores: np.ndarray) -> float:
    top = np.sort(scores)[::-1]
    return float(top[0] - top[1])


def _split(n: int, max_points: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sample of min(n, max_points) of n rows, split into (train, test) index arrays."""
    pick = rng.permutation(n)[: min(n, max_points)]
    held = max(1, round(len(pick) * TEST_FRACTION))
    return np.sort(pick[held:]), np.sort(pick[:held])


def _adjusted_balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per column of `pred` (m, D): the mean recall over y's classes, rescaled so chance is 0 and
    perfect is 1 (sklearn's balanced_accuracy_score(adjusted=True), for D classifiers at once)."""
    classes = np.unique(y)
    recall = np.mean([(pred[y == c] == c).mean(0) for c in classes], 0)
    chance = 1 / len(classes)
    return (recall - chance) / (1 - chance) if len(classes) > 1 else np.zeros(pred.shape[1])


def sap_scores(z_train, y_train, z_test, y_test, discrete: bool) -> np.ndarray:
    """(D,) held-out score of each dim alone: R^2 of a 1-D linear fit (continuous) or the adjusted
    balanced accuracy of a 1-D nearest-class-mean classifier (discrete), clipped at 0."""
    if discrete:
        classes = np.unique(y_train)
        means = np.stack([z_train[y_train == c].mean(0) for c in classes])  # (C, D)
        pred = classes[np.abs(z_test[:, None, :] - means[None]).argmin(1)]  # (m, D)
        score = _adjusted_balanced_accuracy(y_test, pred)
    else:
        zc, yc = z_train - z_train.mean(0), y_train - y_train.mean()
        var = (zc**2).sum(0)
        slope = np.divide(zc.T @ yc, var, out=np.zeros_like(var), where=var > 0)
        fit = y_train.mean() + (z_test - z_train.mean(0)) * slope
        total = ((y_test - y_test.mean()) ** 2).sum()
        score = 1 - ((y_test[:, None] - fit) ** 2).sum(0) / total if total > 0 else np.zeros(z_test.shape[1])
    return np.clip(score, 0, None)


def dci_importance(z_train, y_train, z_test, y_test, discrete: bool, seed: int) -> tuple[np.ndarray, float]:
    """(the (D,) permutation importance of each dim on the held-out split, clipped at 0 and not yet
    normalised; the model's held-out accuracy or R^2) of boosted trees predicting y from all of z."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.inspection import permutation_importance
    from threadpoolctl import threadpool_limits

    if discrete and len(np.unique(y_train)) < 2:  # a rare class missed the training split
        return np.zeros(z_train.shape[1]), math.nan
    kind = HistGradientBoostingClassifier if discrete else HistGradientBoostingRegressor
    # one OpenMP thread: on a few thousand points the trees' threads mostly wait for each other, and
    # on a busy 2-core machine they made the whole measure 5-10x slower than one thread does
    with threadpool_limits(limits=1, user_api="openmp"):
        model = kind(max_iter=TREES, early_stopping=False, random_state=seed).fit(z_train, y_train)
        score = float(model.score(z_test, y_test))
        shuffled = permutation_importance(model, z_test, y_test, n_repeats=PERMUTATION_REPEATS, random_state=seed)
    return np.clip(shuffled.importances_mean, 0, None), score


def dci_scores(importance: np.ndarray) -> tuple[float, float]:
    """(disentanglement, completeness) from the column-normalised (D, K) importance matrix."""
    d, k = importance.shape
    total = importance.sum()
    if total <= 0:
        return math.nan, math.nan
    completeness = float(np.mean([1 - _normalised_entropy(col, d) if col.sum() > 0 else 0.0 for col in importance.T]))
    if k < 2:
        return math.nan, completeness
    rows = importance.sum(1)
    per_dim = [1 - _normalised_entropy(row / s, k) if s > 0 else 0.0 for row, s in zip(importance, rows)]
    return float(np.dot(rows / total, per_dim)), completeness


def _check(mu, factors: dict[str, np.ndarray]) -> np.ndarray:
    mu = np.asarray(mu, np.float64)
    if mu.ndim != 2:
        raise DisentanglementError(f"the encodings must be an (N, D) array, not of shape {mu.shape}")
    n, d = mu.shape
    if d < 2:
        raise DisentanglementError(f"disentanglement needs at least 2 latent dimensions; the model has {d}")
    if n < MIN_POINTS:
        raise DisentanglementError(f"only {n} data points: disentanglement needs at least {MIN_POINTS}")
    if not np.isfinite(mu).all():
        bad = np.flatnonzero(~np.isfinite(mu).all(1))
        raise DisentanglementError(
            f"the encodings hold NaN or infinite values ({len(bad):,} of {n:,} points, the first at row {bad[0]})"
        )
    if not factors:
        raise DisentanglementError("no factors to measure against: disentanglement needs labelled factors")
    for name, values in factors.items():
        if np.shape(values) != (n,):
            raise DisentanglementError(
                f"factor {name!r} has shape {np.shape(values)}; it must hold one value per point ({n:,})"
            )
    return mu


def factors_of(dataset, names=None) -> dict[str, np.ndarray]:
    """A dataset's label columns by name (every label, or `names`), as `measure` takes them."""
    return {
        name: np.asarray(dataset.label(name), np.float64) for name in (dataset.label_names if names is None else names)
    }


def measure(
    mu: np.ndarray, factors: dict[str, np.ndarray], seed: int = 0, max_points: int = MAX_POINTS
) -> Disentanglement:
    """MIG, SAP and DCI of the (N, D) posterior means `mu` against `factors` (name -> (N,) values,
    NaN where unknown); see the module docstring. DisentanglementError for input that cannot be
    measured (no factors, lengths that differ, NaN in mu, too few points, every factor constant)."""
    return run_steps(measure_steps(mu, factors, seed, max_points))


def measure_steps(
    mu: np.ndarray, factors: dict[str, np.ndarray], seed: int = 0, max_points: int = MAX_POINTS
) -> Steps[Disentanglement]:
    """measure as a step function (explorer.core.steps): a step per factor, so the window's
    compute thread serves other work between them (a factor's trees take a second or more)."""
    mu = _check(mu, factors)
    if max_points < MIN_POINTS:
        raise DisentanglementError(f"max_points {max_points}: the models need at least {MIN_POINTS} points")
    if not 0 <= seed < 2**32:  # what the trees' random_state takes
        raise DisentanglementError(f"seed {seed}: a seed is a whole number from 0 to 2**32 - 1")
    n, d = mu.shape
    z_codes = np.stack([discretise(mu[:, u]) for u in range(d)], 1)
    names, kinds, entropies, left_out, columns = [], [], [], {}, []
    for name, values in factors.items():
        values = np.asarray(values, np.float64)
        known = np.flatnonzero(np.isfinite(values))
        if len(known) < MIN_POINTS:
            raise DisentanglementError(
                f"factor {name!r} has only {len(known)} known values: it needs at least {MIN_POINTS}"
            )
        classes, codes = np.unique(values[known], return_inverse=True)
        if len(classes) < 2:
            left_out[name] = "constant: zero entropy"
            continue
        discrete = len(classes) <= MAX_CLASSES
        v_codes = codes if discrete else discretise(values[known])
        names.append(name)
        kinds.append(DISCRETE if discrete else CONTINUOUS)
        entropies.append(entropy(v_codes))
        columns.append((known, values[known], codes, v_codes, discrete))
    if not names:
        raise DisentanglementError(f"every factor is constant ({', '.join(left_out)}): nothing to measure against")

    from sklearn.metrics import mutual_info_score

    k = len(names)
    mi, sap, importance = np.zeros((d, k)), np.zeros((d, k)), np.zeros((d, k))
    informativeness = np.zeros(k)
    fit_points = 0
    for j, (name, (known, values, codes, v_codes, discrete)) in enumerate(zip(names, columns)):
        yield Progress(j, k, f"measuring disentanglement: {name}")
        z_known = z_codes[known]
        mi[:, j] = [mutual_info_score(v_codes, z_known[:, u]) for u in range(d)]
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        train, test = _split(len(known), max_points, rng)
        fit_points = max(fit_points, len(train) + len(test))
        y = codes if discrete else values
        z = mu[known]
        sap[:, j] = sap_scores(z[train], y[train], z[test], y[test], discrete)
        importance[:, j], informativeness[j] = dci_importance(z[train], y[train], z[test], y[test], discrete, seed)
    entropy_k = np.array(entropies)
    sums = importance.sum(0)
    importance = np.divide(importance, sums, out=np.zeros_like(importance), where=sums > 0)
    normalised = mi / entropy_k
    mig_k = {name: _gap(normalised[:, j]) for j, name in enumerate(names)}
    sap_k = {name: _gap(sap[:, j]) for j, name in enumerate(names)}
    disentanglement, completeness = dci_scores(importance)
    return Disentanglement(
        dims=tuple(range(d)),
        factors=tuple(names),
        kinds=tuple(kinds),
        entropy=entropy_k,
        mutual_info=mi,
        normalised_mi=normalised,
        sap_scores=sap,
        importance=importance,
        mig=float(np.mean(list(mig_k.values()))),
        mig_per_factor=mig_k,
        dci_disentanglement=disentanglement,
        dci_completeness=completeness,
        dci_informativeness=float(np.nanmean(informativeness)) if np.isfinite(informativeness).any() else math.nan,
        informativeness_per_factor=dict(zip(names, informativeness.tolist())),
        sap=float(np.mean(list(sap_k.values()))),
        sap_per_factor=sap_k,
        n_points=n,
        seed=seed,
        fit_points=fit_points,
        left_out=left_out,
    )


# -- the picture ---------------------------------------------------------------------------------
# viridis at five stops (matplotlib's, which the project does not depend on): dark violet to yellow,
# brighter with every step, and readable in grey and by most colour-blind eyes
_VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float64)
_NO_VALUE = (200, 200, 200)  # a cell whose value is not a number
_TITLES = {
    "normalised_mi": "normalised MI(z_d; v_k) / H(v_k)",
    "mutual_info": "MI(z_d; v_k), nats",
    "importance": "DCI importance (each factor's column sums to 1)",
    "sap_scores": "SAP score of each dim alone",
}


def colour_scale(t: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 viridis colours of values `t` in [0, 1] (clipped)."""
    x = np.clip(np.asarray(t, np.float64), 0, 1) * (len(_VIRIDIS) - 1)
    lo = np.minimum(x.astype(int), len(_VIRIDIS) - 2)
    w = (x - lo)[..., None]
    return np.rint(_VIRIDIS[lo] * (1 - w) + _VIRIDIS[lo + 1] * w).astype(np.uint8)


def heatmap_image(d: Disentanglement, which: str = "normalised_mi", cell: int = 28) -> np.ndarray:
    """uint8 (H, W, 3): one of the (D, K) matrices (MATRICES) as coloured cells, latent dims down
    the left (z0, z1, ...), factor names up the top, each cell's value written in it when it fits,
    and a colour scale at the right. normalised MI, importance and SAP scores run 0 to 1; MI runs
    0 to its largest value."""
    if which not in MATRICES:
        raise DisentanglementError(f"no matrix {which!r}; choose one of {', '.join(MATRICES)}")
    if cell < 4:
        raise DisentanglementError(f"cells of {cell} px are too small to see (4 at least)")
    values = np.asarray(getattr(d, which), np.float64)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if which == "mutual_info" and len(finite) and finite.max() > 0 else 1.0
    font, pad, background = caption_font(), 6, (255, 255, 255)
    ink = text_colour(background)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_h = font.getbbox("Ag0")[3]
    row_names = [f"z{u}" for u in d.dims]
    left = pad + int(max(probe.textlength(t, font=font) for t in row_names)) + pad
    header = int(max(probe.textlength(t, font=font) for t in d.factors)) + pad
    title_y, grid_y = pad, pad + text_h + pad + header
    rows, cols = values.shape
    bar_x = left + cols * cell + 2 * pad
    scale_labels = [f"{top:.2f}", "0.00"]
    width = bar_x + 12 + 4 + int(max(probe.textlength(t, font=font) for t in scale_labels)) + pad
    height = grid_y + rows * cell + pad
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    draw.text((pad, title_y), fit_text(draw, _TITLES[which], width - 2 * pad, font), fill=ink, font=font)

    colours = colour_scale(values / top)
    show_values = probe.textlength("0.00", font=font) <= cell - 2 and text_h <= cell - 2
    for i in range(rows):
        y = grid_y + i * cell
        middle = y + (cell - text_h) / 2  # no text anchors: Pillow's bitmap fallback font has none
        name_x = left - pad - draw.textlength(row_names[i], font=font)
        draw.text((name_x, middle), row_names[i], fill=ink, font=font)
        for j in range(cols):
            x, value = left + j * cell, values[i, j]
            colour = tuple(int(c) for c in colours[i, j]) if math.isfinite(value) else _NO_VALUE
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=colour)
            if show_values and math.isfinite(value):
                text = f"{value:.2f}"
                text_x = x + (cell - draw.textlength(text, font=font)) / 2
                draw.text((text_x, middle), text, fill=text_colour(colour), font=font)
    for j, name in enumerate(d.factors):  # names written upwards, each ending just above its column
        w = int(probe.textlength(name, font=font))
        label = Image.new("RGB", (w + 2, text_h + 2), background)
        ImageDraw.Draw(label).text((1, 1), name, fill=ink, font=font)
        label = label.rotate(90, expand=True)
        image.paste(label, (left + j * cell + (cell - label.width) // 2, grid_y - 2 - label.height))

    span = rows * cell  # the colour scale: the top value at the top
    ramp = colour_scale(np.linspace(1, 0, span))
    image.paste(Image.fromarray(np.repeat(ramp[:, None], 12, 1)), (bar_x, grid_y))
    draw.text((bar_x + 16, grid_y), scale_labels[0], fill=ink, font=font)
    draw.text((bar_x + 16, grid_y + span - text_h), scale_labels[1], fill=ink, font=font)
    return np.asarray(image)
