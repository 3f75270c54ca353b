"""Encoding a dataset in shards, and the latents file that holds an encoding (issue 13).

`vae-explorer encode --shard I/N` encodes one of N row ranges, so that N processes (a SLURM
array, torchrun, Ray tasks) share a dataset; `vae-explorer merge` joins their files into one.
Shards split at multiples of CHUNK rows and every encode here runs in chunks of exactly CHUNK
rows aligned to the dataset's row 0, so each image is encoded in the very same batch however
the dataset was split: the merged file equals a whole encode bit for bit.

A latents file is an `.npz` (written in one rename): mu and logvar (N, D); recon, kl, mse (N,);
the dataset's labels, one 1-D array each; and META, the JSON that says what made it (model and
its hash, data and its fingerprint, the rows it holds). It opens as a data SPEC
(explorer.core.data.latents_file), with its terms.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.core.data.base import DatasetError, DatasetLike, Indices, LabelsMixin, as_index
from explorer.core.data.latents_file import META  # the file's JSON, as uint8 (an .npz holds arrays)
from explorer.core.steps import Steps
from explorer.core.store.encoding import Encoded, encode_dataset_steps, model_cache_key
from explorer.core.store.latents import COLUMNS, Encodings
from explorer_models.atomic import atomic_write, printable
from explorer_models.contract import LatentModel

CHUNK = 256  # rows per batch of a shardable encode, and the unit shards are cut in
FORMAT = "vae-explorer-latents"
VERSION = 1


class ShardError(DatasetError):
    """Shards that do not make one dataset's encoding; the message names the file."""


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N): shard I (from 0) of N."""
    try:
        index, count = (int(p) for p in text.split("/"))
    except ValueError:
        index = count = -1
    if not (count >= 1 and 0 <= index < count):
        raise ShardError(f"--shard {text!r}: give I/N with 0 <= I < N, e.g. 0/4 for the first of four")
    return index, count


def shard_rows(n: int, index: int, count: int) -> range:
    """The rows of shard `index` of `count`: whole CHUNKs, as even as can be (the last may be short)."""
    chunks = -(-n // CHUNK)
    start, stop = (index * chunks) // count * CHUNK, ((index + 1) * chunks) // count * CHUNK
    return range(min(start, n), min(stop, n))


@dataclass(frozen=True)
class RowRange(LabelsMixin):
    """Rows [rows.start, rows.stop) of a dataset, as a dataset of their own."""

    dataset: DatasetLike
    rows: range

    @property
    def spec(self) -> str:
        return f"{self.dataset.spec}[{self.rows.start}:{self.rows.stop}]"

    @property
    def labels(self) -> np.ndarray:
        return self.dataset.labels[self.rows.start : self.rows.stop]

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.dataset.label_names

    @property
    def fingerprint(self) -> str:
        which = f"{self.dataset.fingerprint}|rows {self.rows.start}-{self.rows.stop}"
        return hashlib.sha256(which.encode()).hexdigest()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.dataset.image_shape

    file_names = heldout_spec = None
    problems = warnings = ()

    def __len__(self) -> int:
        return len(self.rows)

    def images_at(self, indices: Indices) -> np.ndarray:
        index = as_index(indices, len(self))
        if isinstance(index, slice):
            return self.dataset.images_at(range(self.rows.start + index.start, self.rows.start + index.stop))
        return self.dataset.images_at(np.asarray(index) + self.rows.start)


def encode_rows_steps(model: LatentModel, dataset: DatasetLike, rows: range, device) -> Steps[Encoded]:
    """Encode `rows` of `dataset` in chunks of CHUNK rows (the first starting at rows.start,
    which shard_rows keeps a multiple of CHUNK), into the cache's store of this model and these
    rows: a cancelled or crashed run resumes there."""
    part = RowRange(dataset, rows)
    key = model_cache_key(model, part.fingerprint)
    return (yield from encode_dataset_steps(model, part, device, key, first_chunk=CHUNK, fixed_chunk=True))


def encode_shard(source, data_spec: str, labels: str | None, index: int, count: int, device: str, on_progress=None):
    """Shard `index` of `count` of a dataset encoded with a model (both named by their SPECs, so
    that another process or machine can run this), as a LatentsFile in memory."""
    from explorer.core.data import load_for_model
    from explorer.core.steps import run_steps
    from explorer_models import load_model, resolve_device

    target = resolve_device(device)
    model = load_model(source).to(target)
    dataset = load_for_model(data_spec, model.image_shape, labels=labels)
    rows = shard_rows(len(dataset), index, count)
    encoded = run_steps(encode_rows_steps(model, dataset, rows, target), on_progress)
    info = model.info
    meta = {
        "model": info.command_line(),
        "model_hash": info.content_hash,
        "data": dataset.spec,
        "data_fingerprint": dataset.fingerprint,
        "n": len(dataset),
        "rows": [rows.start, rows.stop],
        "shard": [index, count] if count > 1 else None,
    }
    arrays = latents_arrays(encoded.encodings, dataset.labels[rows.start : rows.stop], dataset.label_names)
    return LatentsFile(Path(f"shard {index}/{count}"), meta, arrays), encoded, dataset


# -- the latents file ---------------------------------------------------------------------------
def latents_arrays(enc: Encodings, labels: np.ndarray, label_names: Sequence[str]) -> dict[str, np.ndarray]:
    """A latents file's arrays: the encodings' columns, then one per label."""
    arrays = {c: np.asarray(getattr(enc, c)) for c in COLUMNS}
    reserved = {*COLUMNS, META}
    for i, name in enumerate(label_names):
        arrays[name if name not in reserved else f"label_{name}"] = np.asarray(labels[:, i])
    return arrays


def save(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """`arrays` and the META that says what made them, as one .npz written in one rename."""
    document = json.dumps({"format": FORMAT, "version": VERSION, **meta}).encode()
    with atomic_write(path) as f:
        np.savez(f, **arrays, **{META: np.frombuffer(document, np.uint8)})


@dataclass(frozen=True)
class LatentsFile:
    path: Path
    meta: dict
    arrays: dict[str, np.ndarray]

    @property
    def rows(self) -> range:
        return range(*self.meta["rows"])


def read_latents(path: Path) -> LatentsFile:
    """A latents file written by write_latents; ShardError naming it otherwise."""
    from explorer.core.data.arrays import open_arrays

    arrays = open_arrays(Path(path))
    try:
        meta = json.loads(bytes(arrays.pop(META)).decode())
        rows = meta["rows"]
        ok = meta.get("format") == FORMAT and len(rows) == 2 and 0 <= rows[0] <= rows[1] == rows[0] + len(arrays["mu"])
    except (KeyError, ValueError, TypeError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise ShardError(f"{printable(path)}: not a latents file of `vae-explorer encode` (no valid {META})")
    return LatentsFile(Path(path), meta, arrays)


def merge(paths: Sequence[Path]) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and meta of one latents file made of the files `paths` (see merge_parts)."""
    return merge_parts([read_latents(p) for p in paths])


def merge_parts(parts: Sequence[LatentsFile]) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and meta of one latents file made of `parts` (shards of one encode, in any
    order); ShardError naming the file when they are of different encodes, overlap or leave
    rows out."""
    parts = sorted(parts, key=lambda f: f.rows.start)
    if not parts:
        raise ShardError("merge: no files given")
    first = parts[0]
    same = ("model_hash", "data_fingerprint", "n")
    for part in parts[1:]:
        for key in same:
            if part.meta.get(key) != first.meta.get(key):
                raise ShardError(
                    f"{printable(part.path)}: another encode than {printable(first.path)} ({key} differs: "
                    f"{str(part.meta.get(key))[:16]} vs {str(first.meta.get(key))[:16]})"
                )
        if set(part.arrays) != set(first.arrays):
            raise ShardError(f"{printable(part.path)}: holds other arrays than {printable(first.path)}")
    expected = 0
    for part in parts:
        start, stop = part.rows.start, part.rows.stop
        if start != expected:
            gap = "overlaps the one before" if start < expected else f"leaves rows {expected:,} to {start - 1:,} out"
            raise ShardError(f"{printable(part.path)}: holds rows {start:,} to {stop - 1:,}, which {gap}")
        expected = stop
    if expected != first.meta["n"]:
        n = first.meta["n"]
        raise ShardError(f"the shards hold rows 0 to {expected - 1:,} of {n:,}: the last ones are missing")
    arrays = {k: np.concatenate([p.arrays[k] for p in parts]) for k in first.arrays}
    meta = {k: v for k, v in first.meta.items() if k not in ("format", "version")}
    return arrays, {**meta, "rows": [0, expected], "shard": None}
