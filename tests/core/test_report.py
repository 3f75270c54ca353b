"""The model report (explorer.core.figures.report + report_html): every section on the page, its
images the documented decodings, its figures those of the modules it reuses, its hooks, and the
same bytes for the same inputs. The bundled model on 200 held-out faces keeps it quick."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from explorer.core.data import Dataset, LatentsDataset
from explorer.core.figures import report as R
from explorer.core.figures import report_html
from explorer.core.space import health as H
from explorer.core.space import vectors as V
from explorer.core.store.latents import Encodings

N_FACES = 200
LABELS = ("smiling", "glasses", "face_width")  # two binary labels and a continuous one
SPEC = R.ReportSpec(iwae_k=2, iwae_n=8, judge_points=16)
TILE, PAD = 64, R.LAYOUT.padding
FACTS = "m.safetensors\n  name          m\n  latent size   4\n  labels        (none)"


def images_by_id(page: str) -> dict[str, tuple[np.ndarray, int, int]]:
    """Every embedded image: id -> (pixels, the width and height the page shows it at)."""
    found = re.findall(
        r'<img id="([^"]+)" alt="[^"]*" width="(\d+)" height="(\d+)" src="data:image/png;base64,([^"]+)"', page
    )
    out = {}
    for id_, w, h, data in found:
        out[id_] = (np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")), int(w), int(h))
    return out


def tile(image: np.ndarray, row: int, col: int, side: int = TILE) -> np.ndarray:
    """The tile at (row, col) of a grid composed with R.LAYOUT (no captions)."""
    y, x = PAD + row * (side + PAD), PAD + col * (side + PAD)
    return image[y : y + side, x : x + side]


def section(page: str, name: str) -> str:
    return page.split(f'<section id="{name}">', 1)[1].split("</section>", 1)[0]


@pytest.fixture(scope="module")
def faces():
    """The bundled model, 200 held-out faces with three labels, their encodings and the report."""
    from explorer.core.data import load_dataset
    from explorer.notebook import encode
    from explorer_models import load_model

    model = load_model("builtin:faces")
    full = load_dataset("builtin:faces:test")
    images = np.asarray(full.images_at(range(N_FACES)))
    labels = np.stack([full.label(name)[:N_FACES] for name in LABELS], 1).astype(np.float32)
    dataset = Dataset("faces-200", images, labels, LABELS, "fp-faces-200")
    enc = encode(model, images)
    steps: list[str] = []
    report = R.gather(model, dataset, enc, SPEC, facts=FACTS, on_step=steps.append)
    page = report_html.render(report)
    return SimpleNamespace(model=model, dataset=dataset, enc=enc, report=report, page=page, steps=steps)


def fake_data(fake_vae, tiny_images, labelled: bool):
    """A FakeVAE on 64 small 32 x 32 images, with a binary and a continuous label or none."""
    model = fake_vae(latent_dim=4, image_shape=(3, 32, 32))
    brightness = tiny_images.reshape(len(tiny_images), -1).mean(1)
    if labelled:
        labels = np.stack([brightness > np.median(brightness), brightness], 1).astype(np.float32)
        names = ("bright", "brightness")
    else:
        labels, names = np.zeros((len(tiny_images), 0), np.float32), ()
    dataset = Dataset("tiny", tiny_images, labels, names, "fp-tiny")
    from explorer.notebook import encode

    return model, dataset, encode(model, tiny_images)


def test_the_page_holds_every_section_in_order_and_nothing_from_outside(faces):
    page = faces.page
    assert re.findall(r'<section id="([^"]+)">', page) == list(R.SECTIONS)
    assert faces.steps == [
        "facts",
        "health",
        "reconstructions",
        "prior-samples",
        "traversals",
        "map",
        "vectors: smiling",
        "vectors: glasses",
        "disentanglement",
    ]
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith(("data:image/png;base64,", "#")) for s in sources)
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", page).lower()  # base64 may spell anything
    assert "http" not in text and "<script" not in text and "url(" not in text and "@import" not in text
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")


def test_every_image_is_the_reports_own_pixels_at_its_documented_size(faces):
    r, images = faces.report, images_by_id(faces.page)
    grid = lambda rows, cols: (PAD + rows * (TILE + PAD), PAD + cols * (TILE + PAD), 3)
    expected = {
        "reconstructions-grid": (grid(2, 8), r.reconstructions.image),
        "prior-samples-grid": (grid(2, 8), r.prior.image),
        "traversals-grid": (r.traversals.image.shape, r.traversals.image),
        "map-image": ((SPEC.map_size, SPEC.map_size, 3), r.map.image),
        "vector-smiling": (grid(4, 7), r.vectors.sweeps[0].image),
        "vector-glasses": (grid(4, 7), r.vectors.sweeps[1].image),
        "disentanglement-heatmap": (r.disentanglement.heatmap.shape, r.disentanglement.heatmap),
    }
    assert set(images) == set(expected)
    for name, (shape, pixels) in expected.items():
        image, width, height = images[name]
        assert image.shape == shape and np.array_equal(image, pixels), name
        assert (width, height) == (shape[1], shape[0]), name  # 64 px tiles are shown as they are
    # the traversal: 8 rows of 7 tiles, right of a column of row labels
    t = r.traversals.image
    assert t.shape[0] == grid(8, 7)[0] and t.shape[1] > grid(8, 7)[1]


def test_the_reconstructions_are_the_data_and_the_decoding_of_its_mu(faces):
    from explorer_models import decode_images

    idx = H.pick_images(N_FACES, 8, SPEC.seed)
    rec = faces.report.reconstructions
    assert rec.indices.tolist() == idx.tolist()
    assert f"data points {', '.join(map(str, idx))};" in section(faces.page, "reconstructions")
    decoded = decode_images(faces.model, faces.enc.mu[idx])
    image = images_by_id(faces.page)["reconstructions-grid"][0]
    for i, point in enumerate(idx):
        assert np.array_equal(tile(image, 0, i), faces.dataset.images[point])
        assert np.array_equal(tile(image, 1, i), decoded[i])
    assert np.allclose(rec.mse, faces.enc.mse[idx])
    assert f"<td class=n>{idx[0]}</td><td class=n>{faces.enc.mse[idx[0]]:.5f}</td>" in faces.page


def test_the_prior_samples_are_the_decoding_of_seeded_normal_draws(faces):
    from explorer_models import decode_images

    z = np.random.default_rng(SPEC.seed).standard_normal((16, 16)).astype(np.float32)
    decoded = decode_images(faces.model, z)
    image = images_by_id(faces.page)["prior-samples-grid"][0]
    for i in range(16):
        assert np.array_equal(tile(image, *divmod(i, 8)), decoded[i])


def test_the_traversal_sweeps_the_eight_dimensions_of_largest_kl(faces):
    kl = faces.enc.kl_per_dim().astype(np.float64)
    t = faces.report.traversals.traversal
    assert [row.dim for row in t.rows] == list(np.argsort(-kl, kind="stable")[:8])
    assert t.values.shape == (8, 7) and np.allclose(t.values[0] - t.values[0, 3], np.linspace(-3, 3, 7))
    assert t.title() in section(faces.page, "traversals")


def test_the_health_section_holds_the_health_figures(faces):
    h = faces.report.health
    expected = H.measure(
        faces.enc.mu,
        faces.enc.logvar,
        model=faces.model,
        images=faces.dataset.images_at(H.pick_images(N_FACES, 8, 0)),
        k=2,
        seed=0,
    )
    assert np.allclose(h.kl_per_dim, expected.kl_per_dim) and h.likelihood.k == 2 and h.likelihood.n == 8
    assert np.allclose(h.likelihood.iwae, expected.likelihood.iwae)
    text = section(faces.page, "health")
    assert f"{int(h.active.sum())} of 16 (Var over the data of mu_u" in text
    m, se = h.likelihood.iwae_mean_se
    assert f"<td>log-likelihood, IWAE (K = 2)</td><td>{m:.2f} ± {se:.2f} nats/image (8 images)</td>" in text
    assert all(f"<tr><td>z{u}</td>" in text for u in range(16))


def test_each_binary_label_has_its_vector_quality_strip_and_judged_sweep(faces):
    from explorer_models import decode_images

    mu = faces.enc.mu
    sweeps = faces.report.vectors.sweeps
    assert [s.vector.name for s in sweeps] == ["smiling", "glasses"]  # face_width is not binary
    for s in sweeps:
        own = V.mean_difference(mu, faces.dataset.label(s.vector.name), s.vector.name)
        assert np.allclose(s.vector.direction, own.direction) and s.vector.quality == own.quality
        assert np.allclose(s.steps, np.linspace(-3, 3, 7))
        rows = H.pick_images(N_FACES, 4, 0)
        assert s.indices.tolist() == rows.tolist()
        image = images_by_id(faces.page)[f"vector-{s.vector.name}"][0]
        for r, point in enumerate(rows):  # each row decoded as one strip, as `vae-explorer strip` decodes it
            latents = mu[point] + np.outer(s.steps * s.vector.std, s.vector.unit)
            decoded = decode_images(faces.model, latents.astype(np.float32))
            for c in range(7):
                assert np.array_equal(tile(image, r, c), decoded[c])
        assert s.judged.shape == (7,) and ((0 <= s.judged) & (s.judged <= 1)).all()
        assert s.judged[-1] > s.judged[0]  # the judge sees the attribute appear along its vector
        assert 0.5 < s.judge_accuracy <= 1
        assert f"<td>{s.vector.name}</td><td class=n>{s.vector.quality.auc:.3f}</td>" in faces.page


def test_the_disentanglement_section_measures_against_every_label(faces):
    d = faces.report.disentanglement
    assert d.factors == LABELS and d.result is not None and d.result.n_points == N_FACES
    text = section(faces.page, "disentanglement")
    assert f"<td>MIG</td><td class=n>{d.result.mig:.3f}</td>" in text
    assert f"<td>SAP</td><td class=n>{d.result.sap:.3f}</td>" in text
    assert d.result.lines()[0] in text


def test_facts_are_the_text_vae_explorer_info_prints_as_a_table(faces):
    facts = R.parse_facts(FACTS)
    assert facts.title == "m.safetensors"
    assert facts.rows == (("name", "m"), ("latent size", "4"), ("labels", "(none)"))
    assert "<tr><td>latent size</td><td>4</td></tr>" in section(faces.page, "facts")


def test_the_same_inputs_give_the_same_page_and_a_generated_line_only_when_given(fake_vae, tiny_images):
    model, dataset, enc = fake_data(fake_vae, tiny_images, labelled=True)
    spec = replace(SPEC, prior_samples=4, traversal_dims=2)
    first = report_html.render(R.gather(model, dataset, enc, spec, facts=FACTS))
    second = report_html.render(R.gather(model, dataset, enc, spec, facts=FACTS))
    assert first == second
    dated = report_html.render(R.gather(model, dataset, enc, replace(spec, generated="on 1 May"), facts=FACTS))
    assert "on 1 May" in dated and "on 1 May" not in first
    assert "no judge: too few images" in section(first, "vectors")  # 64 points are too few to train a judge on


def test_data_without_labels_says_so_instead_of_failing(fake_vae, tiny_images):
    model, dataset, enc = fake_data(fake_vae, tiny_images, labelled=False)
    steps: list[str] = []
    page = report_html.render(R.gather(model, dataset, enc, SPEC, facts=FACTS, on_step=steps.append))
    assert re.findall(r'<section id="([^"]+)">', page) == list(R.SECTIONS) and steps == list(R.SECTIONS)
    assert R.NO_LABELS in section(page, "disentanglement")
    assert "no binary labels: no attribute vectors" in section(page, "vectors")
    assert "one colour (the data has no labels)" in section(page, "map")
    assert set(images_by_id(page)) == {"reconstructions-grid", "prior-samples-grid", "traversals-grid", "map-image"}


def test_latents_without_images_show_decodings_only_and_no_judge(fake_vae, tiny_images):
    model, _, enc = fake_data(fake_vae, tiny_images, labelled=False)
    y = (enc.mu[:, 0] > np.median(enc.mu[:, 0])).astype(np.float32)[:, None]
    dataset = LatentsDataset("latents.npz", enc.mu, enc.logvar, y, ("high",), "fp", (3, 32, 32))
    nan = np.full(len(enc.mu), np.nan, np.float32)
    report = R.gather(model, dataset, Encodings(enc.mu, enc.logvar, nan, nan, nan), SPEC, facts=FACTS)
    page = report_html.render(report)
    assert report.reconstructions.originals is None and report.health.likelihood is None
    assert images_by_id(page)["reconstructions-grid"][0].shape == (PAD + 32 + PAD, PAD + 8 * (32 + PAD), 3)
    assert "the data has no images to show beside them" in section(page, "reconstructions")
    assert "no judge: the data has no images to train one on" in section(page, "vectors")


def test_should_stop_cancels_between_steps_and_nothing_after_runs(fake_vae, tiny_images, monkeypatch):
    model, dataset, enc = fake_data(fake_vae, tiny_images, labelled=False)
    steps: list[str] = []
    stop = lambda: steps[-1:] == ["traversals"]
    monkeypatch.setattr(R, "_map", lambda *a: pytest.fail("the map was drawn after a cancel"))
    with pytest.raises(R.ReportCancelled):
        R.gather(
            model,
            dataset,
            enc,
            SPEC,
            facts=FACTS,
            on_step=steps.append,
            should_stop=stop,
        )
    assert steps == ["facts", "health", "reconstructions", "prior-samples", "traversals"]
