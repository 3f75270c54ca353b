"""Disentanglement metrics (explorer.core.space.disentanglement) against codes whose answers are
known: the factors themselves, the same code rotated, with noise dims beside it, and with two
factors sharing one dim."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.linalg import hadamard
from sklearn.metrics import mutual_info_score

from explorer.core.space import disentanglement as D
from explorer_models.errors import UserInputError

N = 2000
DISCRETE = ("smiling", "glasses", "shape")  # two binary factors (one unbalanced), one of three classes
CONTINUOUS = ("width", "hue", "x", "y", "size")


def make_factors(n: int = N, seed: int = 0) -> dict[str, np.ndarray]:
    """Independent factors: three discrete, five uniform on [0, 1]."""
    rng = np.random.default_rng(seed)
    out = {
        "smiling": (rng.random(n) < 0.5).astype(float),
        "glasses": (rng.random(n) < 0.3).astype(float),
        "shape": rng.integers(0, 3, n).astype(float),
    }
    return out | {name: rng.random(n) for name in CONTINUOUS}


def standardised(factors: dict[str, np.ndarray]) -> np.ndarray:
    v = np.stack(list(factors.values()), 1)
    return (v - v.mean(0)) / v.std(0)


@pytest.fixture(scope="module")
def factors():
    return make_factors()


@pytest.fixture(scope="module")
def code(factors):
    """z = the standardised factors + noise of 1% of their spread: a perfectly disentangled code."""
    return standardised(factors) + 0.01 * np.random.default_rng(1).standard_normal((N, len(factors)))


@pytest.fixture(scope="module")
def perfect(code, factors):
    return D.measure(code, factors)


# -- codes with known answers ----------------------------------------------------------------------
def test_a_code_that_is_the_factors_scores_near_1_on_every_measure(perfect, factors):
    assert perfect.factors == tuple(factors) and perfect.dims == tuple(range(8))
    assert perfect.kinds == ("discrete",) * 3 + ("continuous",) * 5
    # binned MI: a discrete factor in its own dim is recovered exactly; a continuous one loses a little
    # to the 20 bins of z and of v not lining up
    assert perfect.mig > 0.85 and min(perfect.mig_per_factor.values()) > 0.85
    for name in DISCRETE:
        assert perfect.mig_per_factor[name] > 0.98
    assert perfect.dci_disentanglement > 0.95 and perfect.dci_completeness > 0.95
    assert perfect.dci_informativeness > 0.98
    assert perfect.sap > 0.9 and min(perfect.sap_per_factor.values()) > 0.9
    assert [perfect.best_dim(name) for name in factors] == list(range(8))
    np.testing.assert_allclose(perfect.importance.sum(0), 1.0)
    np.testing.assert_allclose(np.diag(perfect.importance), 1.0, atol=0.02)
    np.testing.assert_allclose(np.diag(perfect.normalised_mi)[:3], 1.0, atol=1e-9)


@pytest.mark.slow
def test_the_same_code_rotated_scores_clearly_lower_though_it_holds_the_same_information(code, factors, perfect):
    # a Hadamard rotation spreads every factor evenly over every dim: the most entangled rotation
    mixed = D.measure(code @ hadamard(8) / math.sqrt(8), factors)
    assert mixed.mig < 0.05 and mixed.sap < 0.1
    assert mixed.dci_disentanglement < 0.1 and mixed.dci_completeness < 0.1
    # a random rotation, less even, still clearly lower
    q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((8, 8)))
    rotated = D.measure(code @ q, factors)
    assert rotated.mig < 0.3 and rotated.sap < 0.3
    assert rotated.dci_disentanglement < 0.5 and rotated.dci_completeness < 0.5
    # the information is all still there: only its arrangement differs
    assert mixed.dci_informativeness > 0.9 and rotated.dci_informativeness > 0.9


def test_noise_dims_beside_the_code_change_little(code, factors, perfect):
    noise = np.random.default_rng(2).standard_normal((N, 4))
    collapsed = np.full((N, 1), 0.25)  # a unit the encoder does not use
    wider = D.measure(np.concatenate([code, noise, collapsed], 1), factors)
    assert wider.dims == tuple(range(13))
    assert wider.mig > 0.85 and abs(wider.mig - perfect.mig) < 0.02
    assert wider.dci_disentanglement > 0.95 and wider.dci_completeness > 0.95 and wider.sap > 0.9
    assert [wider.best_dim(name) for name in factors] == list(range(8))
    # the noise dims carry no importance for any factor and (almost) no information
    assert wider.importance[8:].max() < 0.01
    assert wider.normalised_mi[8:].max() < 0.1
    assert wider.importance[12].max() == wider.mutual_info[12].max() == wider.sap_scores[12].max() == 0.0


def test_two_factors_in_one_dim_have_a_low_mig_and_share_that_dim(code, factors):
    v = standardised(factors)
    tangled = code.copy()
    tangled[:, 3] = v[:, 3] + v[:, 4]  # width + hue in dim 3; dim 4 is noise
    tangled[:, 4] = np.random.default_rng(3).standard_normal(N)
    d = D.measure(tangled, factors)
    assert d.mig_per_factor["width"] < 0.3 and d.mig_per_factor["hue"] < 0.3
    assert all(d.mig_per_factor[name] > 0.85 for name in ("smiling", "glasses", "shape", "x", "y", "size"))
    assert d.best_dim("width") == d.best_dim("hue") == 3
    # dim 3 matters to both, equally: its importance row is split in two, so it lowers disentanglement.
    # It carries 2 of the 8 factors' unit columns (rho = 1/4) at 1 - H_8(1/2, 1/2) = 1 - log 2 / log 8
    # = 2/3; the other dims are pure: D = 3/4 + 1/4 * 2/3
    row = d.importance[3] / d.importance[3].sum()
    assert row[3] == pytest.approx(0.5, abs=0.05) and row[4] == pytest.approx(0.5, abs=0.05)
    assert d.dci_disentanglement == pytest.approx(3 / 4 + 1 / 4 * 2 / 3, abs=0.05)
    assert d.informativeness_per_factor["width"] < 0.7  # width + hue does not tell width alone


def test_best_dim_follows_a_permutation_of_the_dims(code, factors):
    order = np.random.default_rng(4).permutation(8)  # new dim i holds old dim order[i]
    d = D.measure(code[:, order], factors)
    for k, name in enumerate(factors):
        assert d.best_dim(name) == int(np.flatnonzero(order == k)[0])


# -- the formulas, piece by piece ---------------------------------------------------------------
def test_mutual_information_and_mig_follow_their_definitions(perfect, code, factors):
    # the entropy of a discrete factor is that of its values; a continuous one's, of its 20 bins
    counts = np.bincount(factors["shape"].astype(int)) / N
    assert perfect.entropy[2] == pytest.approx(-(counts * np.log(counts)).sum(), rel=1e-12)
    width_bins = D.discretise(factors["width"])
    assert width_bins.min() == 0 and width_bins.max() == D.BINS - 1
    assert perfect.entropy[3] == pytest.approx(mutual_info_score(width_bins, width_bins), rel=1e-12)
    # one cell, by sklearn directly
    assert perfect.mutual_info[5, 3] == pytest.approx(
        mutual_info_score(width_bins, D.discretise(code[:, 5])), rel=1e-12
    )
    np.testing.assert_allclose(perfect.normalised_mi, perfect.mutual_info / perfect.entropy)
    for k, name in enumerate(factors):
        top = np.sort(perfect.mutual_info[:, k])[::-1]
        assert perfect.mig_per_factor[name] == pytest.approx((top[0] - top[1]) / perfect.entropy[k], rel=1e-12)
        top = np.sort(perfect.sap_scores[:, k])[::-1]
        assert perfect.sap_per_factor[name] == pytest.approx(top[0] - top[1], rel=1e-12)
    assert perfect.mig == pytest.approx(np.mean(list(perfect.mig_per_factor.values())))


def test_an_entropy_of_a_balanced_coin_is_log_2():
    assert D.entropy(np.tile([0, 1], 500)) == pytest.approx(math.log(2), rel=1e-12)
    assert D.entropy(np.zeros(10, int)) == 0.0


def test_sap_scores_are_1_for_a_perfect_dim_and_near_0_for_an_unrelated_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 1000)
    z = np.stack([y * 2.0 + 0.01 * rng.standard_normal(1000), rng.standard_normal(1000)], 1)
    scores = D.sap_scores(z[:750], y[:750], z[750:], y[750:], discrete=True)
    assert scores[0] == 1.0 and scores[1] < 0.1
    v = rng.random(1000)
    z = np.stack([3 * v - 1, rng.standard_normal(1000)], 1)  # linear: R^2 = 1 exactly
    scores = D.sap_scores(z[:750], v[:750], z[750:], v[750:], discrete=False)
    assert scores[0] == pytest.approx(1.0, abs=1e-12) and 0 <= scores[1] < 0.02


def test_dci_disentanglement_and_completeness_on_hand_made_importances():
    assert D.dci_scores(np.eye(3)) == pytest.approx((1.0, 1.0))
    assert D.dci_scores(np.full((2, 2), 0.5)) == pytest.approx((0.0, 0.0))
    # an unused dim (a zero row) weighs nothing in disentanglement, and keeps completeness at 1
    assert D.dci_scores(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])) == pytest.approx((1.0, 1.0))
    # rows [1, .5] and [0, .5]: rho = (.75, .25); dim 0's P = (2/3, 1/3), H_2 = 0.918; dim 1 is pure
    # columns [1, 0] (complete) and [.5, .5] (H_2 = 1): completeness 0.5
    h = -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3))
    disentanglement, completeness = D.dci_scores(np.array([[1.0, 0.5], [0.0, 0.5]]))
    assert disentanglement == pytest.approx(0.75 * (1 - h) + 0.25, rel=1e-12)
    assert completeness == pytest.approx(0.5, rel=1e-12)
    # one factor: disentanglement is not defined, completeness is
    one = D.dci_scores(np.array([[1.0], [0.0]]))
    assert math.isnan(one[0]) and one[1] == 1.0


# -- missing and constant factors ----------------------------------------------------------------
def test_rows_where_a_factor_is_nan_are_dropped_for_that_factor_only(code, factors):
    x = factors["x"].copy()
    unknown = np.random.default_rng(6).random(N) < 0.3
    x[unknown] = np.nan
    d = D.measure(code, {"smiling": factors["smiling"], "x": x})
    known = ~unknown
    only = D.measure(code[known], {"x": factors["x"][known]})
    # the same sample of the known rows: SAP and the DCI model are the same fits
    assert d.sap_per_factor["x"] == only.sap_per_factor["x"]
    assert d.informativeness_per_factor["x"] == only.informativeness_per_factor["x"]
    # MI bins z over every point, so it differs a little
    assert d.mig_per_factor["x"] == pytest.approx(only.mig_per_factor["x"], abs=0.05)
    assert d.best_dim("x") == 5 and d.mig_per_factor["x"] > 0.85


def test_a_factor_is_measured_the_same_whatever_factors_are_beside_it(perfect, code, factors):
    alone = D.measure(code, {"hue": factors["hue"]})
    assert alone.sap_per_factor["hue"] == perfect.sap_per_factor["hue"]
    assert alone.mig_per_factor["hue"] == perfect.mig_per_factor["hue"]
    assert alone.informativeness_per_factor["hue"] == perfect.informativeness_per_factor["hue"]
    assert math.isnan(alone.dci_disentanglement)  # one factor: nothing to be disentangled from
    assert any("needs two factors" in line for line in alone.lines())
    assert alone.to_dict()["dci"]["disentanglement"] is None


def test_a_constant_factor_is_left_out_and_said_so(code, factors):
    d = D.measure(code, {"smiling": factors["smiling"], "bald": np.ones(N), "x": factors["x"]})
    assert d.factors == ("smiling", "x") and d.left_out == {"bald": "constant: zero entropy"}
    assert d.lines()[-1] == "left out        bald (constant: zero entropy)"
    assert d.to_dict()["left_out"] == {"bald": "constant: zero entropy"}
    with pytest.raises(D.DisentanglementError, match="'bald' was left out: constant"):
        d.best_dim("bald")


# -- the report -------------------------------------------------------------------------------------
def test_the_report_is_deterministic_for_a_seed_and_plain_json(code, factors, perfect):
    some = {name: factors[name] for name in ("smiling", "shape", "x")}
    a, b = D.measure(code, some), D.measure(code, some)
    assert json.dumps(a.to_dict(), allow_nan=False) == json.dumps(b.to_dict(), allow_nan=False)
    other = D.measure(code, some, seed=1)  # another sample and split: other fits
    assert other.sap_per_factor != a.sap_per_factor
    assert other.informativeness_per_factor != a.informativeness_per_factor
    assert other.mutual_info.tolist() == a.mutual_info.tolist()  # MI uses every point
    text = json.dumps(perfect.to_dict(), allow_nan=False)
    facts = json.loads(text)
    assert facts["points"] == N and facts["seed"] == 0 and facts["fit_points"] == N
    assert facts["factors"] == list(factors) and facts["kinds"]["shape"] == "discrete"
    assert facts["best_dim"] == {name: k for k, name in enumerate(factors)}
    assert facts["mig"]["mean"] == perfect.mig and facts["dci"]["completeness"] == perfect.dci_completeness
    assert np.array(facts["matrices"]["importance"]).shape == (8, 8)
    assert set(facts["matrices"]) == set(D.MATRICES)


def test_max_points_bounds_the_fits_and_the_lines_say_so(code, factors):
    d = D.measure(code, {"smiling": factors["smiling"], "x": factors["x"]}, max_points=400)
    assert d.fit_points == 400 and d.n_points == N
    lines = d.lines()
    assert lines[0] == (
        "points          2,000; 8 latent dims, 2 factors (models fit on up to 300 points per factor, "
        "scored on 100 held out; seed 0)"
    )
    for start in ("MIG             ", "SAP             ", "DCI             disentanglement "):
        assert any(line.startswith(start) for line in lines), start
    row = next(line for line in lines if line.startswith("  smiling "))
    figures = (d.mig_per_factor, d.sap_per_factor, d.informativeness_per_factor)
    assert row.split() == ["smiling", "discrete", "0", "1.000", *(f"{f['smiling']:.3f}" for f in figures)]


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda z, f: (z, {}), "no factors to measure against"),
        (
            lambda z, f: (z, {"x": f["x"][:-1]}),
            "'x' has shape (1999,); it must hold one value per point (2,000)",
        ),
        (
            lambda z, f: (np.where(np.arange(N)[:, None] == 7, np.nan, z), f),
            "NaN or infinite values (1 of 2,000 points",
        ),
        (lambda z, f: (z[:40], {"x": f["x"][:40]}), "only 40 data points: disentanglement needs at least 50"),
        (lambda z, f: (z[:, :1], f), "at least 2 latent dimensions"),
        (lambda z, f: (z[0], f), "must be an (N, D) array"),
        (lambda z, f: (z, {"a": np.zeros(N), "b": np.ones(N)}), "every factor is constant (a, b)"),
        (lambda z, f: (z, {"x": np.where(np.arange(N) < 30, 1.0, np.nan)}), "'x' has only 30 known values"),
    ],
)
def test_bad_input_is_a_user_input_error_that_names_the_problem(code, factors, make, message):
    mu, fs = make(code, factors)
    with pytest.raises(D.DisentanglementError) as caught:
        D.measure(mu, fs)
    assert isinstance(caught.value, UserInputError) and message in str(caught.value)


def test_bad_options_and_names_are_user_input_errors(code, factors, perfect):
    with pytest.raises(D.DisentanglementError, match="max_points 10: the models need at least 50"):
        D.measure(code, factors, max_points=10)
    with pytest.raises(D.DisentanglementError, match=r"seed -1: a seed is a whole number from 0 to 2\*\*32 - 1"):
        D.measure(code, factors, seed=-1)
    with pytest.raises(D.DisentanglementError, match="no factor 'beard'; measured: smiling, glasses"):
        perfect.best_dim("beard")
    with pytest.raises(D.DisentanglementError, match="no matrix 'mi'; choose one of normalised_mi"):
        D.heatmap_image(perfect, "mi")


# -- the heatmap --------------------------------------------------------------------------------------
def shaped(base: D.Disentanglement, d: int, k: int, values: np.ndarray | None = None) -> D.Disentanglement:
    """`base` with d dims, factors f0..f{k-1} and a normalised-MI matrix of `values` (zeros)."""
    values = np.zeros((d, k)) if values is None else values
    return replace(base, dims=tuple(range(d)), factors=tuple(f"f{j}" for j in range(k)), normalised_mi=values)


def luminance(rgb) -> float:
    r, g, b = (float(c) for c in rgb)
    return 0.299 * r + 0.587 * g + 0.114 * b


def test_the_heatmap_grows_by_a_cell_per_dim_and_per_factor(perfect):
    small = D.heatmap_image(shaped(perfect, 3, 3), cell=20)
    wide = D.heatmap_image(shaped(perfect, 3, 6), cell=20)
    tall = D.heatmap_image(shaped(perfect, 9, 3), cell=20)
    assert small.dtype == np.uint8 and small.ndim == 3 and small.shape[2] == 3
    assert wide.shape[0] == small.shape[0] and wide.shape[1] == small.shape[1] + 3 * 20
    assert tall.shape[0] == small.shape[0] + 6 * 20 and tall.shape[1] == small.shape[1]
    assert D.heatmap_image(shaped(perfect, 3, 3), cell=40).shape[1] > small.shape[1]


def grid_origin(image: np.ndarray) -> tuple[int, int]:
    """(y, x) of the top-left pixel of the heatmap's cells: the colour scale starts with the top
    colour level with the first row of cells, and on the row below that the first pixel that is
    not background is the first cell's (each dim's name is written lower, at its row's middle)."""
    y0 = int(np.argwhere((image == D.colour_scale(np.array(1.0))).all(-1))[0][0])
    x0 = int(np.flatnonzero((image[y0 + 1] != 255).any(-1))[0])
    return y0, x0


def test_heatmap_cells_are_coloured_by_value_brighter_for_more(perfect):
    values = np.array([[1.0, 0.75, 0.5, 0.25, 0.0], [0.0, 0.1, 0.2, 0.3, 0.4]])
    cell = 30
    image = D.heatmap_image(shaped(perfect, 2, 5, values), cell=cell)
    y0, x0 = grid_origin(image)
    corners = np.array([[image[y0 + i * cell + 1, x0 + j * cell + 1] for j in range(5)] for i in range(2)])
    np.testing.assert_array_equal(corners, D.colour_scale(values))
    for i in range(2):  # the whole cell, but for the value written in its middle, is its colour
        for j in range(5):
            block = image[y0 + i * cell : y0 + (i + 1) * cell, x0 + j * cell : x0 + (j + 1) * cell]
            assert (block == corners[i, j]).all(-1).mean() > 0.8
    bright = [luminance(c) for c in corners[0]]
    assert bright == sorted(bright, reverse=True) and bright[0] - bright[-1] > 150
    assert luminance(corners[1, 4]) > luminance(corners[1, 0])


def test_the_heatmap_of_a_real_measure_shows_the_diagonal(perfect):
    for which in D.MATRICES:
        image = D.heatmap_image(perfect, which)
        assert image.shape[2] == 3
    image = D.heatmap_image(perfect, "importance", cell=28)
    y0, x0 = grid_origin(image)
    diagonal = [luminance(image[y0 + k * 28 + 1, x0 + k * 28 + 1]) for k in range(8)]
    off = [luminance(image[y0 + k * 28 + 1, x0 + ((k + 1) % 8) * 28 + 1]) for k in range(8)]
    assert min(diagonal) > max(off) + 100
