import json

import numpy as np
import pytest

from explorer.core.space import vector_file as VF
from explorer.core.space import vectors as V


@pytest.fixture
def toy():
    """mu = 3 * smile + 1 * glasses + noise, glasses co-occurring with smiling (0.7 / 0.3)."""
    rng = np.random.default_rng(0)
    n = 4000
    smile = rng.random(n) < 0.5
    glasses = rng.random(n) < np.where(smile, 0.7, 0.3)
    mu = rng.normal(size=(n, 5)) * 0.3
    mu[:, 0] += 3 * smile
    mu[:, 1] += 1 * glasses
    return mu, smile.astype(float), glasses.astype(float)


def test_mean_difference_and_its_quality(toy):
    mu, smile, _glasses = toy
    v = V.mean_difference(mu, smile, "smiling")
    expected = mu[smile == 1].mean(0) - mu[smile == 0].mean(0)
    assert np.allclose(v.direction, expected)
    assert v.direction[1] == pytest.approx(0.4, abs=0.06)  # glasses dragged along (0.7 - 0.3)
    assert v.quality.auc > 0.99 and v.quality.cohens_d > 5
    assert v.quality.n_positive + v.quality.n_negative == 4000
    assert v.std == pytest.approx((mu @ v.unit).std())
    assert v.describe().startswith("AUC 1.000 · d ")


def test_balancing_removes_the_confounder(toy):
    mu, smile, glasses = toy
    v = V.balanced_mean_difference(mu, smile, "smiling", {"glasses": glasses})
    assert abs(v.direction[1]) < 0.05  # glasses no longer comes along
    assert v.direction[0] == pytest.approx(3, abs=0.05)
    assert v.name == "smiling (balanced by glasses)" and v.confounders == ("glasses",)
    again = V.balanced_mean_difference(mu, smile, "smiling", {"glasses": glasses})
    assert np.array_equal(v.direction, again.direction)  # seeded: reproducible


def test_balancing_needs_every_cell(toy):
    mu, smile, _ = toy
    with pytest.raises(V.VectorError, match="cannot balance smiling by twin: no data point has smiling=1, twin=0"):
        V.balanced_mean_difference(mu, smile, "smiling", {"twin": smile})


def test_logistic_and_ridge_point_the_right_way(toy):
    mu, smile, _glasses = toy
    lo = V.logistic_direction(mu, smile, "smiling")
    assert lo.unit[0] > 0.9 and lo.quality.auc > 0.99
    y = 2 * mu[:, 2] - mu[:, 3]
    ri = V.ridge_direction(mu, y, "score")
    assert np.allclose(ri.unit[[2, 3]], np.array([2, -1]) / np.sqrt(5), atol=0.01)
    assert ri.quality.auc > 0.95 and ri.label == "score"


def test_selection_vector_is_exactly_the_mean_difference_of_the_selection(toy):
    mu = toy[0]
    a, b = np.array([1, 5, 9, 200]), np.array([3, 4, 100])
    v = V.selection_difference(mu, a, b)
    assert np.array_equal(v.direction, mu[a].mean(0) - mu[b].mean(0))
    assert (v.quality.n_positive, v.quality.n_negative) == (4, 3)
    with pytest.raises(V.VectorError, match="at least one point in each group"):
        V.selection_difference(mu, a, np.array([], int))


def test_principal_directions_are_orthonormal(toy):
    vs = V.principal_directions(toy[0], 3)
    units = np.stack([v.unit for v in vs])
    assert np.allclose(units @ units.T, np.eye(3), atol=1e-9)
    assert vs[0].quality.auc is None and vs[0].std >= vs[1].std >= vs[2].std
    _, _, vt = np.linalg.svd(toy[0] - toy[0].mean(0), full_matrices=False)
    assert np.allclose(np.abs(units @ vt[:3].T), np.eye(3), atol=1e-6)  # the data's own principal axes


def test_regressions_on_many_points_fit_a_sample_and_keep_the_direction(toy, monkeypatch):
    mu, smile, _ = toy
    whole = V.logistic_direction(mu, smile, "smiling")
    monkeypatch.setattr(V, "FIT_SAMPLE", 1000)
    sampled = V.logistic_direction(mu, smile, "smiling")
    assert not np.allclose(sampled.direction, whole.direction)  # a fit of its own
    assert sampled.unit @ whole.unit > 0.99
    assert sampled.quality.n_positive + sampled.quality.n_negative == len(mu)  # judged on every point


def test_a_ridge_direction_of_a_label_mostly_one_is_judged_on_both_sides(toy):
    mu, smile, _ = toy
    mostly_one = np.where(np.arange(len(mu)) < 3000, 1.0, smile)  # median 1: nothing lies above it
    v = V.ridge_direction(mu, mostly_one, "mostly")
    assert v.quality.n_positive == int(mostly_one.sum()) and v.quality.n_negative == int((mostly_one == 0).sum())
    assert v.quality.auc > 0.7  # smiling decides the label of the last 1,000 points only


def test_bad_labels_are_refused(toy):
    mu = toy[0]
    with pytest.raises(V.VectorError, match="label 'x' is not binary"):
        V.mean_difference(mu, np.linspace(0, 1, len(mu)), "x")
    with pytest.raises(V.VectorError, match="has only the value 1"):
        V.mean_difference(mu, np.ones(len(mu)), "hat")


def test_slider_offsets_add_and_are_in_standard_deviations(toy):
    mu, smile, glasses = toy
    a, b = V.mean_difference(mu, smile, "smiling"), V.mean_difference(mu, glasses, "glasses")
    assert np.allclose(a.offset(1.5), 1.5 * a.std * a.unit)
    sliders = V.SliderSet()
    sliders.add(a)
    sliders.add(b)
    sliders.values[:] = [1.5, -2.0]
    assert np.allclose(sliders.offset(mu, 5), a.offset(1.5) + b.offset(-2.0))
    sliders.remove(0)
    assert np.allclose(sliders.offset(mu, 5), b.offset(-2.0))


def test_orthogonalised_vectors_are_orthogonal_in_list_order(toy):
    mu, smile, glasses = toy
    vs = [
        V.mean_difference(mu, smile, "smiling"),
        V.mean_difference(mu, glasses, "glasses"),
        V.principal_directions(mu, 1)[0],
    ]
    ortho = V.orthogonalised(vs, mu)
    units = np.stack([v.direction for v in ortho])
    off_diagonal = np.abs(units @ units.T - np.eye(3))
    assert off_diagonal.max() < 1e-6
    assert np.allclose(ortho[0].unit, vs[0].unit)  # the first one is kept as it is
    assert ortho[1].std == pytest.approx((mu @ ortho[1].unit).std())
    with pytest.raises(V.VectorError, match="lies in the span"):
        V.orthogonalised([vs[0], vs[0]], mu)


def test_save_and_load_round_trip_and_refuse_another_model(toy, tmp_path):
    mu, smile, glasses = toy
    vs = [V.balanced_mean_difference(mu, smile, "smiling", {"glasses": glasses}), V.principal_directions(mu, 1)[0]]
    path = tmp_path / "v.json"
    VF.save_vectors(path, vs, "a" * 64)
    back = VF.load_vectors(path, "a" * 64, 5)
    for x, y in zip(vs, back):
        assert np.array_equal(x.direction, y.direction)
        assert (x.name, x.method, x.std, x.quality, x.confounders) == (
            y.name,
            y.method,
            y.std,
            y.quality,
            y.confounders,
        )
        assert y.model_hash == "a" * 64
    with pytest.raises(V.VectorError, match=r"v\.json: these vectors were made for another model"):
        VF.load_vectors(path, "b" * 64, 5)
    with pytest.raises(V.VectorError, match="has 5 dimensions, the model 7"):
        VF.load_vectors(path, "a" * 64, 7)
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(V.VectorError, match=r"bad\.json: not a readable vector file"):
        VF.load_vectors(tmp_path / "bad.json", "a" * 64, 5)
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(V.VectorError, match="not a vae-explorer vector file"):
        VF.load_vectors(tmp_path / "other.json", "a" * 64, 5)


def test_from_label_dispatches_and_names_problems(toy):
    mu, smile, glasses = toy
    labels, names = np.stack([smile, glasses], 1), ("smiling", "glasses")
    v = V.from_label(V.BALANCED, mu, labels, names, "smiling", ("glasses",))
    assert np.array_equal(v.direction, V.balanced_mean_difference(mu, smile, "smiling", {"glasses": glasses}).direction)
    assert V.from_label(V.MEAN, mu, labels, names, "glasses").label == "glasses"
    with pytest.raises(V.VectorError, match="no label called 'hat' \\(labels: smiling, glasses\\)"):
        V.from_label(V.MEAN, mu, labels, names, "hat")
    with pytest.raises(V.VectorError, match="choose the labels to balance smiling by"):
        V.from_label(V.BALANCED, mu, labels, names, "smiling")
    with pytest.raises(V.VectorError, match="unknown method 'magic'"):
        V.from_label("magic", mu, labels, names, "smiling")


VECTOR_FILE_CASES = {
    "nested 5,000 deep": (lambda d: "[" * 5000 + "]" * 5000, "nested too deeply"),
    "deeper than the parser goes": (
        lambda d: json.dumps(d).replace('"vectors": [', '"vectors": [' + "[" * 100_000 + "]" * 100_000 + ", "),
        "nested too deeply",
    ),
    "a huge std": (lambda d: d["vectors"][0].update(std=1e300), r"vectors\[0\]\.std is 1e\+300, more than"),
    "a NaN in the direction": (lambda d: d["vectors"][0]["direction"].__setitem__(1, float("nan")), "is nan"),
    "an all-zero direction": (
        lambda d: d["vectors"][0].update(direction=[0.0] * 5),
        "vector 'smiling' has an all-zero direction",
    ),
    "a name that is a number": (lambda d: d["vectors"][0].update(name=3), r"vectors\[0\]\.name is a whole number"),
    "quality as a list": (lambda d: d["vectors"][0].update(quality=[1, 2]), r"vectors\[0\]\.quality is a list"),
    "an AUC of 7": (lambda d: d["vectors"][0]["quality"].update(auc=7), "auc is 7, more than 1"),
    "vectors as an object": (lambda d: d.update(vectors={}), "vector.vectors is an object, not a list"),
    "a missing direction": (lambda d: d["vectors"][0].pop("direction"), r"vectors\[0\] has no direction"),
}


@pytest.mark.parametrize("case", list(VECTOR_FILE_CASES))
def test_a_damaged_vector_file_is_refused_naming_the_file_and_the_entry(toy, tmp_path, case):
    mu, smile, _ = toy
    path = tmp_path / "v.json"
    VF.save_vectors(path, [V.mean_difference(mu, smile, "smiling")], "hash")
    doc = json.loads(path.read_text())
    change, message = VECTOR_FILE_CASES[case]
    text = change(doc)
    path.write_text(text if isinstance(text, str) else json.dumps(doc))
    with pytest.raises(V.VectorError, match=r"v\.json: .*" + message):
        VF.load_vectors(path, "hash", 5)


@pytest.mark.parametrize("method", V.LABEL_METHODS)
def test_points_whose_label_is_unknown_sit_out_of_the_fit(toy, method):
    """A labels file without a row for some images leaves their labels NaN: a vector is made
    from the points whose labels are known, as if the others were not there."""
    from explorer.core.data import ArrayDataset

    mu, smile, glasses = toy
    labels = np.stack([smile, glasses], 1)
    holes = labels.copy()
    holes[::3, 0] = np.nan  # a third of the smiles unknown
    holes[1::7, 1] = np.nan
    names = ("smiling", "glasses")
    known = np.isfinite(holes).all(1) if method == V.BALANCED else np.isfinite(holes[:, 0])
    balance = ("glasses",) if method == V.BALANCED else ()
    with_holes = V.from_label(method, mu, holes, names, "smiling", balance)
    only_known = V.from_label(method, mu[known], labels[known], names, "smiling", balance)
    assert np.allclose(with_holes.direction, only_known.direction)
    assert with_holes.quality.n_positive + with_holes.quality.n_negative == known.sum()
    dataset = ArrayDataset("x", np.zeros((len(mu), 1, 1, 1), np.uint8), holes.astype(np.float32), names, "fp")
    assert dataset.binary_label_names() == names  # still offered as vectors
    holes[:, 0] = np.nan
    with pytest.raises(V.VectorError, match="label 'smiling'.* is unknown for every point"):
        V.from_label(method, mu, holes, names, "smiling", balance)
