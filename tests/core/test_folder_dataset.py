import os
import sys

import numpy as np
import pytest
from PIL import Image

from explorer.core.data import DatasetError, load_dataset


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "pics"
    (root / "sub").mkdir(parents=True)
    Image.new("RGB", (40, 20), (255, 0, 0)).save(root / "b.png")  # wide: centre-cropped
    Image.new("L", (10, 10), 128).save(root / "a.jpg")
    Image.new("RGBA", (64, 64), (0, 0, 255, 255)).save(root / "sub" / "c.png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_folder_images_are_squared_resized_and_sorted(folder):
    data = load_dataset(folder, image_size=32)
    assert data.file_names == ("a.jpg", "b.png", os.path.join("sub", "c.png"))
    assert data.images.shape == (3, 32, 32, 3) and data.images.dtype == np.uint8
    assert tuple(data.images[1, 16, 16]) == (255, 0, 0)
    assert tuple(data.images[2, 0, 0]) == (0, 0, 255)
    assert data.label_names == () and data.labels.shape == (3, 0)
    assert data.problems == ()


def test_grayscale_folder(folder):
    data = load_dataset(folder, image_size=28, channels=1)
    assert data.images.shape == (3, 28, 28, 1) and data.image_shape == (1, 28, 28)
    assert abs(int(data.images[0, 5, 5, 0]) - 128) <= 1


def test_an_unreadable_image_is_skipped_and_named(folder):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    data = load_dataset(folder, image_size=16)
    assert len(data) == 3
    assert len(data.problems) == 1 and "broken.png: cannot read this image" in data.problems[0]


def test_fingerprint_follows_the_files(folder):
    before = load_dataset(folder, image_size=16).fingerprint
    assert load_dataset(folder, image_size=16).fingerprint == before
    assert load_dataset(folder, image_size=32).fingerprint != before
    Image.new("RGB", (8, 8), (1, 2, 3)).save(folder / "b.png")
    assert load_dataset(folder, image_size=16).fingerprint != before


def test_bad_data_specs_say_what_is_wrong(tmp_path):
    with pytest.raises(DatasetError, match=r"nowhere: no such file or folder \(a data SPEC is builtin:faces"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DatasetError, match=r"file\.png: is a file, not a folder"):
        load_dataset(tmp_path / "file.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"empty: no image files found"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(
        DatasetError,
        match=r"unknown built-in dataset 'builtin:cats'; available: builtin:faces, "
        r"builtin:faces:test",
    ):
        load_dataset("builtin:cats")


def test_a_folder_of_only_broken_images_is_an_error(tmp_path):
    (tmp_path / "x.png").write_bytes(b"nope")
    with pytest.raises(DatasetError, match=r"none of its 1 image files could be read; first problem: .*x\.png"):
        load_dataset(tmp_path)


@pytest.mark.skipif(sys.platform != "linux", reason="names that are not UTF-8 exist on Linux file systems")
def test_a_file_name_that_is_not_utf8_is_read_and_shown_with_a_replacement(folder):
    bad = os.fsencode(folder) + b"/not-utf8-\xff.png"  # issue 11: UnicodeEncodeError before
    with open(bad, "wb") as f:
        f.write((folder / "b.png").read_bytes())
    ds = load_dataset(str(folder))
    assert "not-utf8-\ufffd.png" in ds.file_names
    assert all(name.encode("utf-8") for name in ds.file_names)  # each prints and saves as UTF-8
    assert ds.fingerprint != load_dataset(str(folder), image_size=32).fingerprint


def test_a_labels_csv_in_the_folder_labels_its_images_text_columns_split_by_value(folder):
    (folder / "labels.csv").write_text(
        "score,filename,hair\n0.5,b.png,black\n1.5,sub/c.png,blond\n2.5,a.jpg,black\n9,gone.png,red\n"
    )
    ds = load_dataset(str(folder))
    assert ds.file_names == ("a.jpg", "b.png", "sub/c.png")
    assert ds.label_names == ("score", "hair=black", "hair=blond")  # "red" names no image here
    assert ds.labels.tolist() == [[2.5, 1, 0], [0.5, 1, 0], [1.5, 0, 1]]
    assert ds.binary_label_names() == ("hair=black", "hair=blond")
    assert ds.warnings == ("labels.csv: 1 rows name no image of the folder",)


def test_celeba_attributes_become_zero_one_labels_and_missing_rows_are_unknown(folder):
    (folder / "list_attr_celeba.txt").write_text("2\nSmiling Eyeglasses\na.jpg 1 -1\nc.png -1 1\n")
    ds = load_dataset(str(folder))
    assert ds.label_names == ("Smiling", "Eyeglasses")
    assert ds.labels[0].tolist() == [1, 0] and ds.labels[2].tolist() == [0, 1]  # sub/c.png by its name
    assert np.isnan(ds.labels[1]).all() and "1 images have no row" in ds.warnings[0]


def test_a_labels_file_named_with_labels_replaces_the_folders_own(folder, tmp_path):
    (folder / "labels.csv").write_text("filename,x\na.jpg,1\n")  # not read when --labels names another
    attrs = tmp_path / "attributes.txt"  # CelebA's format under another name: its count line tells
    attrs.write_text("3\nSmiling Hat\na.jpg 1 -1\nb.png -1 -1\nc.png 1 1\n")
    ds = load_dataset(str(folder), labels=str(attrs))
    assert ds.label_names == ("Smiling", "Hat") and ds.labels.tolist() == [[1, 0], [0, 0], [1, 1]]
    assert ds.labels_file == str(attrs.resolve())  # a session records it, to open the same labels again
    assert ds.fingerprint != load_dataset(str(folder)).fingerprint
    csv_file = tmp_path / "mine.csv"
    csv_file.write_text("image,y\nsub/c.png,4\na.jpg,5\nb.png,6\n")
    assert load_dataset(str(folder), labels=str(csv_file)).labels[:, 0].tolist() == [5, 6, 4]
    csv_file.write_text("image,y\nb.png,1\nb.png,2\n")
    with pytest.raises(DatasetError, match=r"mine\.csv: row 3 names 'b\.png' again"):  # rows counted as in the file
        load_dataset(str(folder), labels=str(csv_file))
    with pytest.raises(DatasetError, match=r"--labels .*nowhere\.csv: no such file"):
        load_dataset(str(folder), labels=str(tmp_path / "nowhere.csv"))
    with pytest.raises(DatasetError, match=r"--labels .*mine\.csv: a labels file names the images of a folder; "):
        load_dataset("builtin:faces:test", labels=str(csv_file))


@pytest.mark.parametrize(
    "content, message",
    [
        ("filename,x\nb.png,1\nb.png,2\n", r"labels\.csv: row 3 names 'b\.png' again"),
        ("filename,x\nb.png,1,7\n", r"labels\.csv: row 2 has 2 values for 1 labels"),
        ("filename,x\nnone.png,1\n", r"labels\.csv: none of its 1 rows names an image of the folder"),
        ("", r"labels\.csv: the labels file is empty"),
    ],
)
def test_a_labels_file_that_does_not_fit_is_refused_naming_it_and_the_row(folder, content, message):
    (folder / "labels.csv").write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(str(folder))


def test_class_sub_folders_become_one_label_per_class(tmp_path):
    for cls, n in (("cats", 2), ("dogs", 1)):
        (tmp_path / "pets" / cls).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(tmp_path / "pets" / cls / f"{i}.png")
    ds = load_dataset(str(tmp_path / "pets"), image_size=8)
    assert ds.label_names == ("class=cats", "class=dogs")
    assert ds.labels.tolist() == [[1, 0], [1, 0], [0, 1]] and ds.binary_label_names() == ds.label_names
    Image.new("RGB", (8, 8)).save(tmp_path / "pets" / "loose.png")  # not every image has a class: none
    assert load_dataset(str(tmp_path / "pets"), image_size=8).label_names == ()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels: a decompression bomb."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [9_000, 100_000])  # over our limit; over PIL's own as well
def test_a_decompression_bomb_is_skipped_unread_and_named(folder, side):
    (folder / "bomb.png").write_bytes(_png_claiming(side, side))
    ds = load_dataset(str(folder), image_size=8)
    assert ds.file_names == ("a.jpg", "b.png", "sub/c.png")
    assert len(ds.problems) == 1 and ds.problems[0].startswith(f"{folder / 'bomb.png'}: cannot read this image (")
    if side == 9_000:
        assert "9,000 x 9,000 pixels, more than the 64,000,000 read" in ds.problems[0]


def test_many_skipped_files_are_named_up_to_ten_then_counted():
    from explorer.core.data.base import skipped_lines

    problems = tuple(f"f{i}.png: cannot read this image (truncated)" for i in range(25))
    lines = skipped_lines(problems)
    assert lines[0] == "skipped f0.png: cannot read this image (truncated)" and len(lines) == 11
    assert lines[-1] == "skipped 15 more unreadable files (25 in all)"
    assert skipped_lines(problems[:3]) == [f"skipped {p}" for p in problems[:3]] and skipped_lines(()) == []


def test_a_large_folder_is_decoded_once_into_the_cache_and_memory_mapped(folder, isolated_cache, monkeypatch):
    """Bounded memory: images beyond IN_MEMORY_BYTES live in a memory-mapped file in the cache,
    and a second open reads that file instead of decoding again (until a file changes)."""
    from explorer.core.data import folder as F

    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    monkeypatch.setattr(F, "IN_MEMORY_BYTES", 0)
    first = load_dataset(str(folder), image_size=16)
    base = first.images
    while getattr(base, "base", None) is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap) and first.file_names == ("a.jpg", "b.png", "sub/c.png")
    assert len(first.problems) == 1 and "broken.png" in first.problems[0]
    reads = []
    real_read = F._try_read
    monkeypatch.setattr(F, "_try_read", lambda *a: reads.append(a[0]) or real_read(*a))
    again = load_dataset(str(folder), image_size=16)
    assert reads == []  # read from the cache's file
    assert np.array_equal(again.images, first.images) and again.problems == first.problems
    assert again.fingerprint == first.fingerprint
    Image.new("RGB", (30, 30), (0, 255, 0)).save(folder / "b.png")  # a changed file: decoded afresh
    changed = load_dataset(str(folder), image_size=16)
    assert len(reads) == 4 and changed.images[1, 0, 0].tolist() == [0, 255, 0]
    decoded = isolated_cache / "decoded-folders"
    assert [p.name.endswith(".partial") for p in decoded.iterdir()] == [False, False]  # both copies whole
    steps = F.folder_steps(folder, image_size=8, chunk=1)  # cancelled after its first image
    next(steps)
    steps.close()
    assert not any(p.name.endswith(".partial") for p in decoded.iterdir())  # no half-written copy is kept
    for size in (10, 12, 14, 20):  # more decoded folders than are kept: the oldest go
        load_dataset(str(folder), image_size=size)
    assert len(list(decoded.iterdir())) == F.MAX_DECODED
    monkeypatch.setenv("VAE_EXPLORER_CACHE_DIR", str(folder / "b.png"))  # a file: no folder can be made there
    unwritable = load_dataset(str(folder), image_size=16)
    assert np.array_equal(unwritable.images, changed.images)
    assert "is not writable" in unwritable.warnings[0] and "held in memory instead" in unwritable.warnings[0]


def test_a_16_bit_image_is_scaled_to_8_bits_not_clipped(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    ramp = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (32, 1))  # black to white, left to right
    Image.fromarray(ramp).save(folder / "ramp.png")
    with Image.open(folder / "ramp.png") as im:
        assert im.mode.startswith("I")
    pixels = load_dataset(str(folder), image_size=32, channels=1).images[0, ..., 0]
    assert pixels[:, 0].max() <= 2 and pixels[:, -1].min() >= 253  # the whole range, as in the file
    assert abs(int(pixels[0, 16]) - 132) <= 3  # the middle stays mid-grey (PIL's own "L" makes it 255)


def test_a_bare_file_name_labels_an_image_only_where_it_is_the_only_one_of_that_name(tmp_path):
    folder = tmp_path / "pets"
    for kind in ("cats", "dogs"):
        (folder / kind).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(folder / kind / "001.jpg")
    Image.new("RGB", (8, 8)).save(folder / "cats" / "002.jpg")
    (folder / "list_attr_celeba.txt").write_text("3\nFluffy\n001.jpg 1\n002.jpg -1\n999.jpg 1\n")
    ds = load_dataset(str(folder), image_size=8)
    assert ds.file_names == ("cats/001.jpg", "cats/002.jpg", "dogs/001.jpg")
    fluffy = ds.label("Fluffy")
    assert np.isnan(fluffy[0]) and fluffy[1] == 0 and np.isnan(fluffy[2])  # 001.jpg is two images: neither
    assert ds.warnings == (
        "list_attr_celeba.txt: 2 images have no row; their labels are unknown (NaN)",
        "list_attr_celeba.txt: 2 rows name no image of the folder",
    )


def test_a_folder_of_mixed_formats_and_modes_with_a_labels_csv_loads_and_encodes(folder):
    """PNG and JPEG, grey, RGB and RGBA, in sub-folders, with a labels.csv: read at the model's
    input and encoded by a model (here a small conv VAE of ours)."""
    import torch

    from explorer.core.data import load_for_model
    from explorer.core.store.encoding import encode_all
    from explorer_models import VAEConfig, build_model

    (folder / "labels.csv").write_text("filename,smiling\na.jpg,1\nb.png,0\nsub/c.png,1\n")
    torch.manual_seed(0)
    model = build_model(VAEConfig("conv", (3, 32, 32), latent_dim=4, widths=(8, 8, 8))).eval()
    ds = load_for_model(folder, model.image_shape)
    assert ds.image_shape == (3, 32, 32) and ds.file_names == ("a.jpg", "b.png", "sub/c.png")
    assert ds.label("smiling").tolist() == [1, 0, 1]
    enc = encode_all(model, ds.images)
    assert enc.mu.shape == (3, 4) and np.isfinite(enc.mu).all() and np.isfinite(enc.kl).all()
    assert not np.allclose(enc.mu[0], enc.mu[2])  # a grey and a blue image: told apart


# -- decoding in worker processes (issue 13: "images decoded in parallel worker processes") ------
@pytest.fixture
def colours(tmp_path):
    """30 PNGs of distinct colours and sizes, with a broken file and a decompression bomb among them."""
    root = tmp_path / "colours"
    root.mkdir()
    for i in range(30):
        Image.new("RGB", (20 + i, 12 + 2 * i), (8 * i, 255 - 8 * i, (37 * i) % 256)).save(root / f"{i:02d}.png")
    (root / "07b.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (root / "21b.png").write_bytes(_png_claiming(9_000, 9_000))
    return root


@pytest.fixture
def worker_pools(monkeypatch):
    """Every folder decoded in two worker processes (even on a machine of one CPU, and however few
    its files); the pools made and every chunk submitted to them are recorded."""
    from explorer.core.data import folder as F

    made, submitted, real_pool = [], [], F._process_pool

    def recording_pool(workers):
        pool = real_pool(workers)
        submit = pool.submit
        pool.submit = lambda *a, **kw: submitted.append(submit(*a, **kw)) or submitted[-1]
        made.append(pool)
        return pool

    monkeypatch.setattr(F, "PROCESS_MIN_FILES", 0)
    monkeypatch.setattr(F, "_cpus", lambda: 2)
    monkeypatch.setattr(F, "_process_pool", recording_pool)
    return made, submitted


def _shut_down(pool) -> bool:
    try:
        pool.submit(print)
    except RuntimeError:  # "cannot schedule new futures after shutdown"
        return True
    return False


def test_worker_processes_decode_a_folder_exactly_as_this_process_does(colours, worker_pools, monkeypatch):
    import multiprocessing

    from explorer.core.data import folder as F
    from explorer.core.steps import run_steps

    with monkeypatch.context() as m:
        m.setattr(F, "PROCESS_MIN_FILES", 1 << 62)  # here, on threads
        here = run_steps(F.folder_steps(colours, image_size=16, chunk=4))
    reads_here = []
    real_read = F._try_read
    monkeypatch.setattr(F, "_try_read", lambda *a: reads_here.append(a[0]) or real_read(*a))
    monkeypatch.setattr(F, "TASK_FILES", 3)  # a chunk of 8 goes to the workers as tasks of 3, 3 and 2 files
    progress = []
    there = run_steps(F.folder_steps(colours, image_size=16, chunk=8), progress.append)
    made, submitted = worker_pools
    assert reads_here == [] and len(made) == 1 and len(submitted) == 12  # every file read in a worker
    assert [p.done for p in progress] == [8, 16, 24, 32]  # progress still once a chunk
    assert np.array_equal(there.images, here.images) and len(there) == 30
    assert there.file_names == here.file_names and there.file_names[7:9] == ("07.png", "08.png")
    assert there.problems == here.problems and len(there.problems) == 2
    assert there.problems[0].startswith(f"{colours / '07b.png'}: cannot read this image (")
    assert "9,000 x 9,000 pixels, more than the 64,000,000 read" in there.problems[1]
    assert there.fingerprint == here.fingerprint
    assert _shut_down(made[0]) and multiprocessing.active_children() == []  # the workers ended with the read


def test_closing_the_steps_stops_the_worker_processes_and_starts_no_more_chunks(
    colours, worker_pools, isolated_cache, monkeypatch
):
    """A cancel: the generator is closed after its first chunk. Chunks not yet started are
    cancelled, the workers end, and no half-decoded copy is left in the cache."""
    import multiprocessing

    from explorer.core.data import folder as F

    monkeypatch.setattr(F, "IN_MEMORY_BYTES", 0)  # decoded into the cache, as a large folder is
    steps = F.folder_steps(colours, image_size=8, chunk=1)
    assert next(steps).done == 1
    steps.close()
    made, submitted = worker_pools
    assert len(submitted) == 4  # two chunks ahead per worker, never the folder's 32
    assert all(f.done() for f in submitted) and _shut_down(made[0])
    assert multiprocessing.active_children() == []
    assert not any(p.name.endswith(".partial") for p in (isolated_cache / "decoded-folders").iterdir())


def test_a_worker_process_that_dies_leaves_the_rest_to_this_process(colours, worker_pools, monkeypatch):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from explorer.core.data import folder as F
    from explorer.core.steps import run_steps

    with monkeypatch.context() as m:
        m.setattr(F, "PROCESS_MIN_FILES", 1 << 62)
        here = run_steps(F.folder_steps(colours, image_size=16, chunk=4))
    dying = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=os._exit, initargs=(3,))
    monkeypatch.setattr(F, "_process_pool", lambda workers: dying)  # each worker exits as it starts
    there = run_steps(F.folder_steps(colours, image_size=16, chunk=4))
    assert np.array_equal(there.images, here.images) and there.problems == here.problems
    assert there.file_names == here.file_names and len(there) == 30
    with pytest.raises(BrokenProcessPool):  # it was used, and broke
        dying.submit(print)
    assert multiprocessing.active_children() == []


def test_a_decoding_worker_loads_numpy_and_pil_but_not_torch_nor_the_package():
    """image_decode.py is loaded by its path in a worker: its package's __init__ (which imports
    torch, a second and a few hundred MB per worker) never runs there."""
    from explorer.core.data import folder as F

    pool = F._process_pool(1)
    try:
        loaded = pool.submit(eval, "sorted(__import__('sys').modules)").result()
    finally:
        pool.shutdown()
    assert {"explorer.core.data.image_decode", "numpy", "PIL.Image"} <= set(loaded)
    ours = [m for m in loaded if m.split(".")[0] in ("torch", "explorer_models", "PySide6", "explorer")]
    assert ours == ["explorer.core.data.image_decode"]
