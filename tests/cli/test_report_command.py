"""`vae-explorer report`: the bundled model on 200 held-out faces (an .npz with two labels, so a
run takes seconds) gives one self-contained page with every section, the same bytes each time,
written atomically; and its one-line errors."""

from __future__ import annotations

import base64
import io
import os
import re

import numpy as np
import pytest
from PIL import Image

from explorer.core.figures import report as R
from explorer.core.space import health as H

N_FACES = 200
LABELS = ("smiling", "face_width")  # one binary label: each one trains a pixel judge (seconds)
FAST = ("--iwae-k", "2", "--iwae-n", "8", "--device", "cpu")


@pytest.fixture(scope="module")
def faces_npz(tmp_path_factory):
    """200 held-out faces and two of their labels as an .npz data SPEC (in a folder of its own)."""
    from explorer.core.data import load_dataset

    full = load_dataset("builtin:faces:test")
    path = tmp_path_factory.mktemp("data") / "faces200.npz"
    labels = {name: full.label(name)[:N_FACES] for name in LABELS}
    np.savez(path, images=np.asarray(full.images_at(range(N_FACES))), **labels)
    return path


def base(data) -> tuple:
    return ("report", "--model", "builtin:faces", "--data", data, *FAST)


def embedded(page: str, id_: str) -> np.ndarray:
    data = re.search(rf'<img id="{id_}" [^>]*src="data:image/png;base64,([^"]+)"', page)[1]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


@pytest.mark.slow  # two reports: about 10 s each on two CPU cores
def test_the_report_has_every_section_the_documented_pixels_and_the_same_bytes_each_time(cli, tmp_path, faces_npz):
    from explorer.core.data import load_dataset
    from explorer.core.store.encoding import encode_with_cache
    from explorer_models import decode_images, load_model

    first, second = tmp_path / "first.html", tmp_path / "second.html"
    code, out, err = cli(*base(faces_npz), "--out", first)
    assert code == 0, err
    size = first.stat().st_size
    assert out == f"wrote {first} ({size / 1e6:.1f} MB: {', '.join(R.SECTIONS)})\n"
    progress = [line.removeprefix("report: ") for line in err.splitlines() if line.startswith("report: ")]
    assert progress == [*R.SECTIONS[:6], "vectors: smiling", "disentanglement"]

    page = first.read_text(encoding="utf-8")
    assert re.findall(r'<section id="([^"]+)">', page) == list(R.SECTIONS)
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in re.findall(r'(?:src|href)="([^"]*)"', page))
    assert "<td>latent size</td><td>16</td>" in page and "<td>IWAE K = 2 on 8 images</td>" in page

    # the reconstructions: the documented data points, then decode(mu) of each
    model, dataset = load_model("builtin:faces"), load_dataset(str(faces_npz))
    mu = encode_with_cache(model, dataset).mu  # the encodings the command read from the cache
    idx = H.pick_images(N_FACES, 8, 0)
    assert f"top: data points {', '.join(map(str, idx))};" in page
    image, decoded, pad = embedded(page, "reconstructions-grid"), decode_images(model, mu[idx]), R.LAYOUT.padding
    assert image.shape == (pad + 2 * (64 + pad), pad + 8 * (64 + pad), 3)
    for i, point in enumerate(idx):
        x = pad + i * (64 + pad)
        assert np.array_equal(image[pad : pad + 64, x : x + 64], dataset.images[point])
        assert np.array_equal(image[2 * pad + 64 : 2 * pad + 128, x : x + 64], decoded[i])
    assert embedded(page, "disentanglement-heatmap").size and embedded(page, "map-image").shape == (420, 420, 3)

    code, _, err = cli(*base(faces_npz), "--out", second)
    assert code == 0, err
    assert second.read_bytes() == first.read_bytes()


def test_an_existing_file_needs_force_and_is_refused_before_any_work(cli, tmp_path, faces_npz):
    out = tmp_path / "report.html"
    out.write_text("old")
    code, stdout, err = cli(*base(faces_npz), "--out", out)
    assert (code, stdout) == (1, "")
    assert err == f"vae-explorer: error: --out {out}: the file exists; add --force to replace it\n"
    assert out.read_text() == "old"


def test_a_missing_or_unwritable_folder_is_a_one_line_error(cli, tmp_path, faces_npz, monkeypatch):
    missing = tmp_path / "nowhere" / "report.html"
    code, _, err = cli(*base(faces_npz), "--out", missing)
    assert code == 1 and err == f"vae-explorer: error: --out {missing}: folder {missing.parent} does not exist\n"

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: os.fspath(p) != str(locked) and real_access(p, mode, **kw))
    code, _, err = cli(*base(faces_npz), "--out", locked / "report.html")
    assert (
        code == 1 and err == f"vae-explorer: error: --out {locked / 'report.html'}: folder {locked} is not writable\n"
    )
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("failure", [RuntimeError("the model failed"), KeyboardInterrupt()])
def test_a_report_that_fails_midway_leaves_the_old_file_as_it_was_and_no_temp_file(
    cli, tmp_path, faces_npz, monkeypatch, failure
):
    out = tmp_path / "report.html"
    out.write_text("old")

    def fail(*args):
        raise failure

    monkeypatch.setattr(R, "_traversals", fail)  # after the health and the first images, before the page
    if isinstance(failure, KeyboardInterrupt):
        code, _, err = cli(*base(faces_npz), "--out", out, "--force")
        assert code == 130 and err.endswith("vae-explorer: interrupted; nothing was written\n")
        assert "report: traversals" in err and "report: map" not in err
    else:
        with pytest.raises(RuntimeError, match="the model failed"):
            cli(*base(faces_npz), "--out", out, "--force")
    assert out.read_text() == "old" and list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--iwae-k", "0", "argument --iwae-k: must be at least 1, not 0"),
        ("--iwae-n", "-1", "argument --iwae-n: must be at least 0, not -1"),
        ("--seed", "x", "argument --seed: invalid int value: 'x'"),
    ],
)
def test_a_bad_number_is_a_one_line_usage_error(cli, tmp_path, option, value, message):
    code, out, err = cli(
        "report", "--model", "builtin:faces", "--data", "x", "--out", tmp_path / "r.html", option, value
    )
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err


def test_help_lists_the_report_command(cli):
    code, out, _ = cli("--help")
    assert code == 0 and re.search(r"^\s+report\s+one self-contained HTML report", out, re.M)


def test_the_defaults_are_the_cores():
    from explorer.cli import report as cli_report

    assert (cli_report.DEFAULT_K, cli_report.DEFAULT_N) == (R.ReportSpec().iwae_k, R.ReportSpec().iwae_n)
