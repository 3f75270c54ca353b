import json
import os
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from explorer.core.figures import figure as F
from explorer.core.figures.compose import Layout, LayoutError, compose, parse_colour
from explorer.core.figures.export import Animation, ExportError, check_sidecar, sidecar_path
from explorer.core.space import paths as P
from explorer.core.space.support import SupportMeter
from explorer.core.space.vectors import mean_difference
from explorer_models import decode_images

PROVENANCE = F.Provenance("fake.safetensors", "f" * 64, "builtin:faces:test", "abc")


@pytest.fixture
def model(fake_vae):
    return fake_vae(latent_dim=4, image_shape=(3, 8, 8))


@pytest.fixture
def mu():
    return np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)


def _keys(mu, *indices):
    return [F.Keyframe.data_point(mu, i) for i in indices]


@pytest.mark.parametrize(
    "layout",
    [
        Layout(),
        Layout(columns=3, padding=5, background=(10, 20, 30), scale=3),
        Layout(columns=4, padding=0, scale=2, captions=True),
    ],
)
def test_every_tile_of_a_rendered_strip_is_the_decode_of_its_latent(model, mu, layout):
    figure = F.build(F.FigureSpec(method=P.SLERP, steps=5, layout=layout), _keys(mu, 3, 7, 11))
    decoded = decode_images(model, figure.latents)
    composite = F.render(figure, decoded)
    s = layout.scale
    assert len(composite.boxes) == len(figure.latents) == 9
    for (x, y, w, h), tile in zip(composite.boxes, decoded):
        expected = tile.repeat(s, 0).repeat(s, 1)
        assert np.array_equal(composite.image[y : y + h, x : x + w], expected)
    rows = -(-9 // (layout.columns or 9))
    assert len(np.unique(composite.boxes[:, 1])) == rows
    if not layout.captions and layout.padding:  # padding is background colour
        assert (composite.image[: layout.padding] == layout.background).all()


def test_originals_go_at_the_ends_of_a_strip(model, mu):
    images = np.random.default_rng(2).integers(0, 256, (50, 8, 8, 3), dtype=np.uint8)
    figure = F.build(F.FigureSpec(steps=4, originals=True), _keys(mu, 5, 9))
    decoded = decode_images(model, figure.latents)
    composite = F.render(figure, decoded, images)
    boxes = composite.boxes
    assert len(boxes) == 6

    def tile(i):
        x, y, w, h = boxes[i]
        return composite.image[y : y + h, x : x + w]

    assert np.array_equal(tile(0), images[5]) and np.array_equal(tile(5), images[9])
    assert np.array_equal(tile(1), decoded[0])


def test_a_grid_is_laid_out_as_rows_and_columns(model, mu):
    figure = F.build(F.FigureSpec(kind=F.GRID, method=P.LERP, rows=3, cols=4), _keys(mu, 1, 2, 3, 4))
    decoded = decode_images(model, figure.latents)
    composite = F.render(figure, decoded)
    assert composite.boxes.shape == (12, 4)
    assert len(np.unique(composite.boxes[:, 0])) == 4 and len(np.unique(composite.boxes[:, 1])) == 3
    x, y, w, h = composite.boxes[11]  # bottom-right corner is keyframe 4
    assert np.array_equal(composite.image[y : y + h, x : x + w], decode_images(model, mu[4:5])[0])


def test_an_analogy_grids_fourth_corner_is_c_plus_b_minus_a(mu):
    figure = F.build(F.FigureSpec(kind=F.ANALOGY, method=P.LERP, rows=2, cols=2), _keys(mu, 1, 2, 3))
    assert np.allclose(figure.latents[3], mu[3] + mu[2] - mu[1], atol=1e-6)
    assert figure.title() == "data point 1 : data point 2 :: data point 3 : ?"


def test_a_sweep_moves_the_first_keyframe_along_the_vector(mu):
    y = (mu[:, 0] > 0).astype(float)
    vector = mean_difference(mu, y, "x0")
    figure = F.build(F.FigureSpec(kind=F.SWEEP, steps=5, sweep_from=-2, sweep_to=2), _keys(mu, 6), vector)
    assert np.allclose(figure.latents - mu[6], np.outer([-2, -1, 0, 1, 2], vector.std * vector.unit), atol=1e-6)
    assert figure.captions() == ["-2.00", "-1.00", "+0.00", "+1.00", "+2.00"]
    with pytest.raises(F.FigureError, match="needs an attribute vector"):
        F.build(F.FigureSpec(kind=F.SWEEP), _keys(mu, 6))


@pytest.mark.parametrize(
    "kind, have, message",
    [
        (F.PATH, 1, "a path needs at least 2 keyframes, has 1"),
        (F.GRID, 3, "a grid needs exactly 4 keyframes, has 3"),
        (F.ANALOGY, 4, "an analogy needs exactly 3 keyframes, has 4"),
    ],
)
def test_too_few_or_too_many_keyframes_is_a_clear_error(mu, kind, have, message):
    with pytest.raises(F.FigureError, match=message):
        F.build(F.FigureSpec(kind=kind), _keys(mu, *range(have)))


def test_steps_are_limited(mu):
    with pytest.raises(P.PathError, match="steps must be 2..64, got 65"):
        F.build(F.FigureSpec(steps=65), _keys(mu, 0, 1))


def test_export_png_writes_the_composite_and_a_sidecar_that_rebuilds_the_latents(model, mu, tmp_path):
    figure = F.build(F.FigureSpec(steps=6, layout=Layout(columns=4, padding=3)), _keys(mu, 2, 8))
    decoded = decode_images(model, figure.latents)
    support = SupportMeter(mu)(figure.latents)
    out = F.export(tmp_path / "strip.png", figure, decoded, PROVENANCE, support=support)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), F.render(figure, decoded).image)
    doc = json.loads(sidecar_path(out).read_text())
    assert doc["format"] == "vae-explorer.figure" and doc["model"]["hash"] == "f" * 64
    assert [k["index"] for k in doc["keyframes"]] == [2, 8]
    assert np.array_equal(np.asarray(doc["latents"], np.float32), figure.latents)
    assert doc["spec"]["method"] == "slerp" and doc["spec"]["layout"]["columns"] == 4
    assert doc["support"]["off_data"] == support.off_data.tolist()
    first = out.read_bytes()
    with pytest.raises(ExportError, match="the file exists; add --force"):
        F.export(out, figure, decoded, PROVENANCE)
    F.export(out, figure, decoded, PROVENANCE, support=support, force=True)
    assert out.read_bytes() == first  # deterministic bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["strip.png", "strip.png.json"]  # no temp files
    assert check_sidecar(out)["figure_sha256"] == doc["figure_sha256"] and doc["figure_file"] == "strip.png"


def test_a_sidecar_left_beside_another_figure_is_told_apart_and_killed_writes_are_swept(model, mu, tmp_path):
    figure = F.build(F.FigureSpec(steps=4), _keys(mu, 2, 8))
    out = F.export(tmp_path / "strip.png", figure, decode_images(model, figure.latents), PROVENANCE)
    old_sidecar = sidecar_path(out).read_bytes()
    other = F.build(F.FigureSpec(steps=5), _keys(mu, 3, 9))
    F.export(out, other, decode_images(model, other.latents), PROVENANCE, force=True)
    sidecar_path(out).write_bytes(old_sidecar)  # as a kill between the two renames leaves them
    with pytest.raises(ExportError, match=r"strip\.png\.json: does not belong to strip\.png"):
        check_sidecar(out)
    # temp files of writers that were killed (no such process now) go at the next write; a live one's stay
    dead, live = tmp_path / ".strip.png.999999999.abc.tmp", tmp_path / f".strip.png.{os.getpid()}.xyz.tmp"
    dead.write_bytes(b"half"), live.write_bytes(b"mine")
    F.export(out, figure, decode_images(model, figure.latents), PROVENANCE, force=True)
    assert not dead.exists() and live.exists()
    assert check_sidecar(out)["spec"]["steps"] == 4


@pytest.mark.parametrize("suffix, pingpong, frames", [(".gif", False, 6), (".gif", True, 10), (".apng", True, 10)])
def test_animations_have_one_frame_per_step_at_the_tile_size(model, mu, tmp_path, suffix, pingpong, frames):
    spec = F.FigureSpec(steps=6, layout=Layout(scale=4), animation=Animation(duration_ms=80, pingpong=pingpong))
    figure = F.build(spec, _keys(mu, 2, 8))
    decoded = decode_images(model, figure.latents)
    out = F.export(tmp_path / f"strip{suffix}", figure, decoded, PROVENANCE)
    with Image.open(out) as im:
        assert im.n_frames == frames and im.size == (32, 32)
        assert im.info["duration"] == 80
        if suffix == ".apng":  # lossless: frame i is exactly tile i
            im.seek(2)
            assert np.array_equal(np.asarray(im.convert("RGB")), decoded[2].repeat(4, 0).repeat(4, 1))


@pytest.mark.parametrize(
    "name, message", [("strip.jpg", "unknown figure type '.jpg'"), ("missing/strip.png", "does not exist")]
)
def test_bad_export_targets_are_refused_before_writing(model, mu, tmp_path, name, message):
    figure = F.build(F.FigureSpec(steps=3), _keys(mu, 2, 8))
    with pytest.raises(ExportError, match=message):
        F.export(tmp_path / name, figure, decode_images(model, figure.latents), PROVENANCE)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file(model, mu, tmp_path, monkeypatch):
    figure = F.build(F.FigureSpec(steps=3), _keys(mu, 2, 8))
    target = tmp_path / "strip.png"
    target.write_bytes(b"old")

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", broken)  # the disk fills up while the new file is written
    with pytest.raises(ExportError, match="strip.png: could not write \\(No space left on device\\)"):
        F.export(target, figure, decode_images(model, figure.latents), PROVENANCE, force=True)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["strip.png"]


def test_colours_and_layouts_are_checked():
    assert parse_colour("#ff8000") == (255, 128, 0) and parse_colour("10, 20,30") == (10, 20, 30)
    assert parse_colour("white") == (255, 255, 255)
    with pytest.raises(LayoutError, match="'bluish' is not a colour"):
        parse_colour("bluish")
    with pytest.raises(LayoutError, match="scale 0: must be 1 to 16"):
        compose(np.zeros((2, 4, 4, 3), np.uint8), Layout(scale=0))
    for padding in (20_000, 100_000):  # issue 11: 20 GB and 503 GB canvases before
        with pytest.raises(LayoutError, match=f"padding {padding}: must be 0 to 256"):
            compose(np.zeros((2, 4, 4, 3), np.uint8), Layout(padding=padding))
    with pytest.raises(LayoutError, match="more than 100 megapixels"):
        compose(np.zeros((1024, 128, 128, 3), np.uint8), Layout(scale=16, padding=256))


def test_a_path_through_too_many_keyframes_is_refused_before_decoding():
    keys = [F.Keyframe(np.full(4, i, np.float32), i) for i in range(300)]  # issue 11: 18,838 images asked
    with pytest.raises(F.FigureError, match="300 keyframes at 64 steps each would decode 18,838 images, more than"):
        F.build(F.FigureSpec(steps=64), keys)


def test_grey_tiles_become_rgb_and_captions_draw_text(tmp_path):
    tiles = np.full((3, 6, 6, 1), 200, np.uint8)
    plain = compose(tiles, Layout(padding=1, background=(0, 0, 0)))
    assert plain.image.shape == (8, 22, 3) and (plain.image[1:7, 1:7] == 200).all()
    captioned = compose(tiles, replace(Layout(padding=1, background=(0, 0, 0)), captions=True), ["a", "b", "c"], "t")
    assert captioned.image.shape[0] > plain.image.shape[0]
    x, y, w, h = captioned.boxes[0]
    assert captioned.image[y + h :, x : x + w].max() > 0  # light text on black under the tile


def test_best_columns_shows_tiles_largest_in_whole_pixels_in_even_rows():
    from explorer.core.figures.compose import best_columns

    look = Layout(padding=2)
    assert best_columns(10, 64, 64, look, (700, 100)) == 10  # one row fits at full size
    assert best_columns(10, 64, 64, look, (580, 300)) == 5  # two rows at full size: 5 and 5, not 8 and 2
    assert best_columns(64, 64, 64, look, (200, 3000)) == 3  # a tall narrow panel: as many as fit a row
    assert best_columns(1, 64, 64, look, (10, 10)) == 1
