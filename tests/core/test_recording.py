"""Recording a walk (a drag over the map, a slider's motion) and exporting it like a strip."""

import json

import numpy as np
import pytest
from PIL import Image

from explorer.core.figures import figure as F
from explorer.core.figures.export import sidecar_path
from explorer.core.figures.recording import STORE_FACTOR, Recorder
from explorer.core.space import paths as P
from explorer.core.space.vectors import mean_difference
from explorer_models import decode_images

PROVENANCE = F.Provenance("fake.safetensors", "f" * 64, "builtin:faces:test", "abc")


def _walk(n: int, d: int = 4) -> np.ndarray:
    return np.cumsum(np.random.default_rng(0).normal(size=(n, d)), axis=0).astype(np.float32)


def test_a_short_walk_is_kept_whole_and_repeats_are_skipped():
    walk = _walk(10)
    r = Recorder()
    kept = [r.add(z) for z in walk[:5]] + [r.add(walk[4])] + [r.add(z) for z in walk[5:]]
    assert kept == [True] * 5 + [False] + [True] * 5
    frames = r.keyframes()
    assert np.array_equal(np.stack([k.latent for k in frames]), walk)
    assert {k.source for k in frames} == {"recorded"} and all(k.index is None for k in frames)


def test_a_long_walk_is_thinned_evenly_from_its_first_latent_to_its_last():
    limit = 10
    walk = _walk(1000)
    r = Recorder(limit=limit)
    for z in walk:
        r.add(z)
    assert len(r) < STORE_FACTOR * limit  # the store halved itself instead of growing
    frames = np.stack([k.latent for k in r.keyframes()])
    assert len(frames) == limit
    assert np.array_equal(frames[0], walk[0]) and np.array_equal(frames[-1], walk[-1])
    rows = [int(np.flatnonzero((walk == f).all(1))[0]) for f in frames]
    assert rows == sorted(rows)
    gaps = np.diff(rows)
    assert gaps.max() - gaps.min() <= 2 * (1000 // (STORE_FACTOR * limit)) + 2  # evenly spread in time


def test_walked_fraction_is_the_share_of_the_walks_length():
    walk = np.array([[0.0, 0], [3, 4], [3, 4], [6, 8]])  # steps 5, 0, 5
    assert np.allclose(P.walked_fraction(walk), [0, 0.5, 0.5, 1])
    assert np.allclose(P.walked_fraction(np.zeros((3, 2))), [0, 0.5, 1])


def test_a_recording_decodes_its_latents_as_recorded_and_exports_like_a_strip(tmp_path, fake_vae):
    model = fake_vae(latent_dim=4, image_shape=(3, 8, 8))
    walk = _walk(6)
    keys = [F.Keyframe(z, None, "recorded") for z in walk]
    spec = F.FigureSpec(kind=F.RECORDING)
    fig = F.build(spec, keys)
    assert np.array_equal(fig.latents, walk)
    assert np.allclose(fig.values, P.walked_fraction(walk))
    assert fig.title() == "a recorded walk, 6 frames"
    decoded = decode_images(model, fig.latents)
    path = F.export(tmp_path / "walk.gif", fig, decoded, PROVENANCE)
    with Image.open(path) as im:
        assert im.n_frames == 6
        im.seek(3)
        frame = np.asarray(im.convert("RGB"))
    assert np.abs(frame.astype(int) - decoded[3]).max() <= 8  # GIF palette rounding
    doc = json.loads(sidecar_path(path).read_text())
    assert doc["spec"]["kind"] == "recording"
    assert np.allclose(doc["latents"], walk)
    assert len(doc["keyframes"]) == 6


def test_a_recording_longer_than_a_figure_may_be_is_refused_with_the_reason():
    keys = [F.Keyframe(z, None, "recorded") for z in _walk(F.MAX_IMAGES + 1)]
    with pytest.raises(F.FigureError, match="record a shorter walk"):
        F.build(F.FigureSpec(kind=F.RECORDING), keys)


def test_the_strip_state_records_the_cursor_and_the_sliders_and_stops_into_a_recording(make_state):
    s = make_state()
    seen = []
    s.strip.recording_changed.connect(seen.append)
    s.move_cursor(np.array([0.0, 0.0]))  # before recording: not kept
    s.strip.start_recording()
    cursors = [s.move_cursor(np.array([x, -x])) for x in (0.1, 0.2, 0.3)]
    s.pin(cursors[-1])  # pinning emits nothing the recorder keeps
    labels = s.dataset.label(s.dataset.label_names[0])
    s.add_vector(mean_difference(s.encodings.mu, labels, "a"))
    s.set_slider(0, 1.5)
    moved = s.moved_latent
    assert s.strip.recording
    assert s.strip.stop_recording() == 4
    assert seen == [True, False] and not s.strip.recording
    assert s.strip.spec.kind == F.RECORDING and s.strip.problem == ""
    expected = np.stack([c.latent for c in cursors] + [moved])
    assert np.array_equal(s.strip.figure.latents, expected)
    s.move_cursor(np.array([0.5, 0.5]))  # after stopping: not kept
    assert len(s.strip.figure.latents) == 4


def test_a_walk_too_short_to_show_leaves_the_strip_as_it_was(make_state):
    s = make_state()
    s.strip.start_recording()
    s.move_cursor(np.array([0.1, 0.1]))
    assert s.strip.stop_recording() == 1
    assert s.strip.spec.kind == F.PATH


def test_a_new_dataset_drops_a_recording_in_progress(make_state):
    s = make_state()
    s.strip.start_recording()
    s.move_cursor(np.array([0.1, 0.1]))
    s.move_cursor(np.array([0.2, 0.1]))
    s.strip.reset()
    assert not s.strip.recording and s.strip.spec.kind == F.PATH and s.strip.keyframes == []
