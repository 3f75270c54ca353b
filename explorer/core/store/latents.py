"""The latents store: one memory-mappable .npy file per column in a folder, written chunk by chunk.

Layout, under a root folder (<cache>/encodings):

    <key>.partial/   being written. meta.json {"format": 2, "n": N, "d": D, "done": rows written,
                     "columns": [...]}, and one .npy per column: mu.npy, logvar.npy (N, D) float32;
                     recon.npy, kl.npy, mse.npy (N,) float32. Rows from `done` on are not written yet.
    <key>/           complete: the same files with done == N, renamed from <key>.partial in one step.

A chunk's rows are written and flushed before meta.json counts them, so after a cancel or a
crashed process `done` never claims rows that are not there, and a later writer resumes from it.
(Durability against a power cut is only asked of complete stores: they are fsynced before the
rename. The cache may be deleted at any time anyway.)

Files are created with np.lib.format.open_memmap, but rows go in with plain file writes at their
offsets, not through a writable map: a full disk then raises OSError at the write, where a store
into a map of a sparse file would kill the process with SIGBUS. Readers map the columns read-only.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import torch

from explorer_models.vae import kl_to_standard_normal

FORMAT = 2
READABLE_FORMATS = (1, 2)  # format 1: the same files, written whole; its meta has no d or done
COLUMNS = ("mu", "logvar", "recon", "kl", "mse")
PARTIAL = ".partial"
_DTYPE = np.dtype(np.float32)
_READ_HEADER = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


@dataclass(frozen=True)
class Encodings:
    """Per data point: mu, logvar (N, D); recon (-log p(x|z=mu)), kl, mse (N,)."""

    mu: np.ndarray
    logvar: np.ndarray
    recon: np.ndarray
    kl: np.ndarray
    mse: np.ndarray

    def __len__(self) -> int:
        return len(self.mu)

    @property
    def latent_dim(self) -> int:
        return self.mu.shape[1]

    def kl_per_dim(self) -> np.ndarray:
        """Mean KL(q(z_j|x) || N(0, 1)) over the data for each latent dimension j: the
        'active units' a model uses (near 0 means the dimension is ignored)."""
        # np.array copies: the columns may be read-only memory maps, which torch will not wrap
        return (
            kl_to_standard_normal(
                torch.from_numpy(np.array(self.mu, np.float32)), torch.from_numpy(np.array(self.logvar, np.float32))
            )
            .mean(0)
            .numpy()
        )


def column_shapes(n: int, d: int) -> dict[str, tuple[int, ...]]:
    return {c: (n, d) if c in ("mu", "logvar") else (n,) for c in COLUMNS}


def empty_columns(n: int, d: int) -> dict[str, np.ndarray]:
    """In-memory columns to fill (the encoder's sink when there is no store)."""
    return {c: np.empty(shape, _DTYPE) for c, shape in column_shapes(n, d).items()}


def _read_meta(folder: Path) -> dict | None:
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):  # absent, unreadable, not JSON, not UTF-8
        return None
    if not isinstance(meta, dict) or meta.get("format") not in READABLE_FORMATS:
        return None
    if not _is_count(meta.get("n")) or (meta["format"] >= 2 and not (_is_count(meta.get("d")) and meta["d"] > 0)):
        return None
    done = meta.setdefault("done", meta["n"])  # format 1 was only ever written whole
    return meta if _is_count(done) and done <= meta["n"] else None


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def open_complete(folder: Path, n: int | None = None) -> Encodings | None:
    """The complete store in `folder`, memory-mapped read-only; None when it is absent, partial,
    damaged (a column missing, unreadable or of the wrong shape) or not of n rows."""
    meta = _read_meta(folder)
    if meta is None or meta["done"] != meta["n"] or (n is not None and meta["n"] != n):
        return None
    try:
        arrays = {c: np.load(folder / f"{c}.npy", mmap_mode="r", allow_pickle=False) for c in COLUMNS}
    except (OSError, ValueError, EOFError):
        return None
    d = meta.get("d", arrays["mu"].shape[-1])
    expected = column_shapes(meta["n"], d)
    if any(a.shape != expected[c] or a.dtype != _DTYPE for c, a in arrays.items()):
        return None
    return Encodings(**arrays)


class StoreWriter:
    """A store being written, row chunks in order. `done` rows are on disk; `folder` is where.

    open() resumes a matching partial store or starts one; write() adds rows; finish() renames it
    complete. Every method raises OSError when the disk refuses; close() (or `with`) always
    releases the files, keeping what was written for the next writer.
    """

    def __init__(self, root: Path, key: str, n: int, d: int, done: int, files: dict[str, IO[bytes]], offsets):
        self.root, self.key, self.n, self.d, self.done = root, key, n, d, done
        self.folder = root / f"{key}{PARTIAL}"
        self._files, self._offsets = files, offsets
        self._row_bytes = {c: int(np.prod(s[1:], dtype=np.int64)) * _DTYPE.itemsize for c, s in self._shapes.items()}

    @property
    def _shapes(self) -> dict[str, tuple[int, ...]]:
        return column_shapes(self.n, self.d)

    @classmethod
    def open(cls, root: Path, key: str, n: int, d: int) -> StoreWriter:
        """Resume <root>/<key>.partial if it is a sound partial store of n rows of d latents,
        else start it afresh."""
        return cls._resume(root, key, n, d) or cls.create(root, key, n, d)

    @classmethod
    def create(cls, root: Path, key: str, n: int, d: int) -> StoreWriter:
        """Start <root>/<key>.partial afresh (whatever was there is removed)."""
        folder = root / f"{key}{PARTIAL}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for c, shape in column_shapes(n, d).items():
            m = np.lib.format.open_memmap(folder / f"{c}.npy", mode="w+", dtype=_DTYPE, shape=shape)
            del m  # only the header and the file's size: rows are written by write()
        writer = cls(root, key, n, d, 0, *cls._open_files(folder, n, d))
        try:
            writer._write_meta()
        except BaseException:
            writer.close()
            raise
        return writer

    @classmethod
    def _resume(cls, root: Path, key: str, n: int, d: int) -> StoreWriter | None:
        folder = root / f"{key}{PARTIAL}"
        meta = _read_meta(folder)
        if meta is None or meta["format"] != FORMAT or (meta["n"], meta["d"]) != (n, d):
            return None
        try:
            files, offsets = cls._open_files(folder, n, d)
        except (OSError, ValueError, EOFError):
            return None
        writer = cls(root, key, n, d, meta["done"], files, offsets)
        sizes = {c: os.fstat(f.fileno()).st_size for c, f in files.items()}
        if any(sizes[c] < offsets[c] + n * writer._row_bytes[c] for c in COLUMNS):  # truncated
            writer.close()
            return None
        return writer

    @staticmethod
    def _open_files(folder: Path, n: int, d: int) -> tuple[dict[str, IO[bytes]], dict[str, int]]:
        """Each column file open for writing, and where its rows start; ValueError if a header is
        not the column's."""
        files: dict[str, IO[bytes]] = {}
        offsets: dict[str, int] = {}
        try:
            for c, shape in column_shapes(n, d).items():
                f = files[c] = open(folder / f"{c}.npy", "r+b")  # closed by close()
                header = _READ_HEADER.get(np.lib.format.read_magic(f))
                if header is None or header(f) != (shape, False, _DTYPE):  # (shape, fortran_order, dtype)
                    raise ValueError(f"{c}.npy holds {header}, not {shape} float32")
                offsets[c] = f.tell()
        except BaseException:
            for f in files.values():
                f.close()
            raise
        return files, offsets

    def write(self, start: int, rows: Mapping[str, np.ndarray]) -> None:
        """Write rows [start, start + k) of every column (start <= done), then count them done."""
        k = len(rows["mu"])
        if not 0 <= start <= self.done or start + k > self.n:
            raise ValueError(f"rows {start}..{start + k} do not follow the {self.done} written of {self.n}")
        for c, f in self._files.items():
            data = np.ascontiguousarray(rows[c], dtype=_DTYPE)
            if data.shape != (k, *self._shapes[c][1:]):
                raise ValueError(f"{c}: {data.shape} rows, expected {(k, *self._shapes[c][1:])}")
            f.seek(self._offsets[c] + start * self._row_bytes[c])
            f.write(data.tobytes())
            f.flush()
        self.done = max(self.done, start + k)
        self._write_meta()

    def read(self, stop: int) -> dict[str, np.ndarray]:
        """Rows [0, stop) of every column, copied into memory (through the open files, so this
        works even if the folder was deleted meanwhile); before finish() only."""
        out = {}
        for c, f in self._files.items():
            shape = (stop, *self._shapes[c][1:])
            f.seek(self._offsets[c])
            data = f.read(stop * self._row_bytes[c])
            if len(data) != stop * self._row_bytes[c]:
                raise OSError(f"{self.folder / c}.npy: shorter than the {stop} rows written")
            out[c] = np.frombuffer(data, _DTYPE).reshape(shape).copy()
        return out

    def finish(self) -> Path:
        """Sync the complete store to disk, close it and rename it to <root>/<key>; that folder.
        (If the rename fails, `folder` is still a complete store that open_complete reads.)"""
        if self.done != self.n:
            raise ValueError(f"{self.done} of {self.n} rows written: the store is not complete")
        for f in self._files.values():
            f.flush()
            os.fsync(f.fileno())
        self._write_meta(sync=True)
        self.close()  # Windows renames no folder with open files in it
        final = self.root / self.key
        if final.exists():  # a damaged or older complete store of this key
            shutil.rmtree(final)
        os.replace(self.folder, final)
        self.folder = final
        return final

    def close(self) -> None:
        for f in self._files.values():
            f.close()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _write_meta(self, sync: bool = False) -> None:
        meta = {"format": FORMAT, "n": self.n, "d": self.d, "done": self.done, "columns": list(COLUMNS)}
        tmp = self.folder / "meta.json.tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(meta))
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.folder / "meta.json")
