import csv
import json
from pathlib import Path

import numpy as np
import pytest

from explorer.core.figures import figure as F
from explorer.core.figures.export import ExportError
from explorer.core.io import session as S
from explorer.core.io.selection_export import export_selection
from explorer.core.space.vectors import mean_difference


# -- selection export ---------------------------------------------------------------------------
@pytest.fixture
def selected(make_state):
    s = make_state(
        n=30,
        d=3,
        labels=np.c_[np.arange(30) % 2, np.linspace(0, 1, 30)].astype(np.float32),
        file_names=tuple(f"img{i:02d}.png" for i in range(30)),
    )
    s.select("A", np.array([4, 7]))
    s.select("B", np.array([20]))
    return s


def test_selection_csv_has_one_row_per_point_with_labels_mu_and_logvar(selected, tmp_path):
    s = selected
    assert export_selection(tmp_path / "sel.csv", s.dataset, s.encodings, s.selection) == 3
    rows = list(csv.reader((tmp_path / "sel.csv").read_text().splitlines()))
    assert rows[0] == [
        "group",
        "index",
        "file_name",
        "a",
        "b",
        "mu_0",
        "mu_1",
        "mu_2",
        "logvar_0",
        "logvar_1",
        "logvar_2",
    ]
    assert [r[:3] for r in rows[1:]] == [["A", "4", "img04.png"], ["A", "7", "img07.png"], ["B", "20", "img20.png"]]
    back = np.array([[float(v) for v in r[5:8]] for r in rows[1:]], np.float32)
    assert np.array_equal(back, s.encodings.mu[[4, 7, 20]])  # 9 digits read float32 back exactly
    assert float(rows[3][4]) == pytest.approx(s.dataset.labels[20, 1])


def test_selection_npz_round_trips(selected, tmp_path):
    s = selected
    export_selection(tmp_path / "sel.npz", s.dataset, s.encodings, s.selection)
    with np.load(tmp_path / "sel.npz") as z:
        assert z["group"].tolist() == ["A", "A", "B"] and z["index"].tolist() == [4, 7, 20]
        assert np.array_equal(z["logvar"], s.encodings.logvar[[4, 7, 20]])
        assert z["label_names"].tolist() == ["a", "b"] and z["file_name"][2] == "img20.png"


@pytest.mark.parametrize(
    "name, message", [("sel.txt", "unknown type '.txt'; use .csv or .npz"), ("exists.csv", "the file exists")]
)
def test_selection_export_errors(selected, tmp_path, name, message):
    (tmp_path / "exists.csv").write_text("keep")
    s = selected
    with pytest.raises(ExportError, match=message):
        export_selection(tmp_path / name, s.dataset, s.encodings, s.selection)
    assert (tmp_path / "exists.csv").read_text() == "keep"
    s.select("A", np.zeros(0, int))
    s.select("B", np.zeros(0, int))
    with pytest.raises(ExportError, match="nothing is selected"):
        export_selection(tmp_path / "new.csv", s.dataset, s.encodings, s.selection)


# -- sessions -------------------------------------------------------------------------------------
@pytest.fixture
def arranged(make_state):
    """A state with vectors, sliders, a raw-dims map, a pin, a selection and a strip."""
    s = make_state(model_hash="a" * 64)
    mu = s.encodings.mu
    s.add_vector(mean_difference(mu, s.dataset.labels[:, 0], "a"))
    s.add_vector(mean_difference(mu, (mu[:, 1] > 0).astype(float), "b"))
    s.set_orthogonalise(True)
    s.pin_data_point(7)
    s.set_slider(1, -1.25)
    s.set_raw_dims(2, 0)
    s.set_colour("none")
    s.select("A", np.array([1, 2, 3]))
    s.strip.add_data_point(4)
    s.strip.add_pinned(moved=True)
    s.strip.set_spec(method="gauss", steps=5)
    s.strip.set_layout(padding=6, background=(1, 2, 3), captions=True)
    return s


def test_a_session_round_trips_everything_it_records(arranged, make_state, tmp_path):
    path = S.save(tmp_path / "x.vaesession", S.capture(arranged))
    doc = S.load(path)
    # file SPECs are kept as absolute paths, so the session opens from any folder
    assert doc["model"] == {"spec": str(Path("m.safetensors").resolve()), "hash": "a" * 64}
    assert doc["data"] == {"spec": str(Path("x").resolve()), "fingerprint": "fp"}
    fresh = make_state(model_hash="a" * 64)
    assert S.mismatches(doc, "a" * 64, "fp") == []
    S.restore(fresh, doc, str(path))
    a, b = arranged, fresh
    assert [v.name for v in b.sliders.vectors] == ["a", "b"] and b.sliders.values == [0.0, -1.25]
    assert b.sliders.orthogonalise and b.projection_source == ("raw", 2, 0)
    assert np.array_equal(b.pinned.latent, a.pinned.latent)
    assert np.allclose(b.moved_latent, a.moved_latent)
    assert b.colour_key == "none" and b.selection["A"].tolist() == [1, 2, 3]
    assert b.strip.spec == a.strip.spec and b.strip.spec.layout.background == (1, 2, 3)
    assert [k.index for k in b.strip.keyframes] == [4, None]
    assert np.array_equal(b.strip.figure.latents, a.strip.figure.latents)


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_a_session_with_a_umap_or_tsne_map_reopens_it(
    arranged, make_state, tmp_path, monkeypatch, isolated_cache, method
):
    from explorer.core.maps import fits

    def fit_steps(method, mu, seed=0):  # a stand-in fit: the map is mu's first two columns
        return np.asarray(mu[:, :2], np.float64)
        yield

    monkeypatch.setattr(fits, "fit_steps", fit_steps)
    arranged.set_nonlinear(method)
    assert arranged.projection_source == (method,)
    doc = S.load(S.save(tmp_path / "x.vaesession", S.capture(arranged)))
    assert doc["projection"] == [method]
    fresh = make_state(model_hash="a" * 64)
    S.restore(fresh, doc)
    assert fresh.projection_source == (method,)
    assert np.allclose(fresh.coords, arranged.coords)


def test_a_session_of_a_users_own_model_records_what_reopens_it(arranged, tmp_path):
    """A user's class needs its weights and options to open again; trust is never recorded."""
    from explorer_models.sources import ModelSource

    arranged.model_info.source = "net.py:VAE"
    arranged.model_info.options = {"weights": "w.pth", "model_args": '{"z": 3}', "image_shape": [1, 28, 28]}
    doc = S.load(S.save(tmp_path / "x.vaesession", S.capture(arranged)))
    assert doc["model"]["spec"] == f"{Path('net.py').resolve()}:VAE"
    assert doc["model"]["options"]["weights"] == str(Path("w.pth").resolve())
    assert S.model_source(doc) == ModelSource(
        f"{Path('net.py').resolve()}:VAE", str(Path("w.pth").resolve()), '{"z": 3}', (1, 28, 28)
    )
    assert not S.model_source(doc).trusted
    doc["model"]["options"]["trusted"] = True  # a hand-edited file cannot grant trust
    path = tmp_path / "edited.vaesession"
    path.write_text(json.dumps({**doc}))
    with pytest.raises(S.SessionError, match="trusted"):
        S.load(path)


def test_a_changed_model_or_dataset_is_named(arranged, tmp_path):
    doc = S.load(S.save(tmp_path / "x.vaesession", S.capture(arranged)))
    problems = S.mismatches(doc, "b" * 64, "other")
    assert len(problems) == 2
    assert (
        problems[0].startswith("the model ")
        and "has changed since the session was saved (hash aaaaaaaaaaaa…, now bbbbbbbbbbbb…)" in problems[0]
    )
    assert problems[1] == f"the dataset {Path('x').resolve()} has changed since the session was saved"


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("{not json", "not a readable session file"),
        ('{"format": "something else"}', "not a vae-explorer session file"),
        ('{"format": "vae-explorer.session", "version": 99}', "session file version 99 is not supported"),
        ('{"format": "vae-explorer.session", "version": 1}', "session has no model, data"),
    ],
)
def test_bad_session_files_are_named_and_explained(tmp_path, content, message):
    path = tmp_path / "bad.vaesession"
    if content is not None:
        path.write_text(content)
    with pytest.raises(S.SessionError, match=message) as e:
        S.load(path)
    assert str(path) in str(e.value)


def test_a_damaged_session_changes_nothing(arranged, make_state, tmp_path):
    doc = S.capture(arranged)
    doc["strip"]["keyframes"][0]["latent"] = [1.0, 2.0]  # the wrong size
    fresh = make_state(model_hash="a" * 64)
    with pytest.raises(S.SessionError, match="do not fit the model's 4 dimensions"):
        S.restore(fresh, json.loads(json.dumps(doc)), "bad.vaesession")
    assert fresh.sliders.vectors == [] and fresh.pinned is None and fresh.strip.keyframes == []
    assert fresh.strip.spec == F.FigureSpec()


def _nested(doc):
    doc["strip"]["keyframes"] = [[[[]]]]
    text = json.dumps(doc)
    return text.replace("[[[[]]]]", "[" * 5000 + "]" * 5000)


# Each session case of issue 11: refused with the file named, and nothing of it applied.
SESSION_CASES = {
    "a NaN pinned point": (lambda d: d.update(pinned=[float("nan")] * len(d["pinned"])), r"session.pinned\[0\] is nan"),
    "an Inf pinned point": (
        lambda d: d.update(pinned=[float("inf")] * len(d["pinned"])),
        r"session.pinned\[0\] is inf",
    ),
    "an empty projection": (lambda d: d.update(projection=[]), "session.projection has 0 entries"),
    "raw dims 99": (lambda d: d.update(projection=["raw", 99, 0]), "latent dimensions 99 and 0; the model has 0..3"),
    "the same raw dim twice": (lambda d: d.update(projection=["raw", 1, 1]), "they must differ"),
    "a projection vector 'x'": (lambda d: d.update(projection=["vector", "x"]), r"session.projection\[1\] is text"),
    "a projection vector out of range": (lambda d: d.update(projection=["vector", 7]), "along vector 7, and it has 2"),
    "a model hash as an int": (lambda d: d["model"].update(hash=12), "session.model.hash is a whole number, not text"),
    "a huge strip padding": (
        lambda d: d["strip"]["spec"]["layout"].update(padding=20_000),
        "session.strip.spec.layout.padding is 20000, more than 256",
    ),
    "a huge vector std": (
        lambda d: d["vectors"][0].update(std=1e300),
        r"session.vectors\[0\].std is 1e\+300, more than",
    ),
    "nested 5,000 deep": (_nested, "nested too deeply"),
}


@pytest.mark.parametrize("case", list(SESSION_CASES))
def test_a_damaged_session_is_refused_naming_the_file_and_nothing_is_applied(arranged, make_state, tmp_path, case):
    change, message = SESSION_CASES[case]
    doc = json.loads(json.dumps(S.capture(arranged)))
    text = change(doc) or json.dumps(doc)
    path = tmp_path / "damaged.vaesession"
    path.write_text(text)
    fresh = make_state(model_hash="a" * 64)
    with pytest.raises(S.SessionError, match=r"damaged\.vaesession: .*" + message):
        S.restore(fresh, S.load(path), str(path))
    assert fresh.sliders.vectors == [] and fresh.pinned is None and fresh.projection_source == ("pca",)
    assert path.read_text() == text  # and the file is as it was
