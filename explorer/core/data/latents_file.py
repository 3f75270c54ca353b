"""Precomputed latents as a dataset, for users who encode elsewhere: an `.npz` holding `mu`.

The file: `mu` (N, D) floats, the posterior means; optionally `logvar` (N, D), their log
variances; every other 1-D numeric array of length N is a label (the rule of an images `.npz`,
arrays.labels_of). An `.npz` is a latents file when it holds an array named `mu` and no image
array: none named `images`, `x` or `X`, and no other array of 3 or 4 dimensions
(is_latents_file). It is read with allow_pickle=False, like any NumPy file.

Such a dataset has no images. Its encodings come from the file, not from the model
(explorer.core.store.encoding.file_encodings), so the map, vectors and paths work; decoding
uses the loaded model, whose latent size must be D (check_latent_size). `images_at` gives a
neutral placeholder per point (placeholder_image) so code that shows a data point's own image
never fails; `has_images` is False so views can say "no image (precomputed latents)" instead.

Without `logvar` the posterior width is unknown, and is kept unknown: the encodings' logvar
and KL are NaN (never a made-up unit variance), and what needs them says so.

Refused with a DatasetError naming the file: `mu` missing, not 2-D, not floats, holding NaN or
infinite values, with no rows or no columns, or wider than the largest latent size
(explorer_models.config.MAX_LATENT_DIM); `logvar` not of mu's shape, not floats, not finite or
so large that exp(logvar) overflows; a 1-D numeric array that is not of length N (a label that
cannot belong to the points; an images `.npz` leaves such an array out with a warning, but a
latents file is the user's own output, where it is a mistake); Python objects; a damaged file.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from explorer.core.data.arrays import IMAGE_NAMES, file_hash, is_numeric, labels_of, npy_header, open_arrays
from explorer.core.data.base import DatasetError, DatasetLike, Indices, LabelsMixin, as_index
from explorer.core.steps import Progress, Steps
from explorer_models.config import MAX_LATENT_DIM

MU, LOGVAR = "mu", "logvar"
TERMS = ("recon", "kl", "mse")  # per point, as `vae-explorer encode` writes them: the encodings' own
META = "vae_explorer_meta"  # what made a file of `vae-explorer encode` (explorer.core.store.shards)
NO_IMAGE = "no image (precomputed latents)"
CHECK_ROWS = 65_536  # rows checked and converted per step
_LOGVAR_MAX = float(np.log(np.finfo(np.float32).max))  # exp(logvar) beyond this is not a float32


def is_latents_file(path: str | Path) -> bool:
    """True for an `.npz` holding `mu` and no image array (the module docstring's rule). Reads
    only the names and array headers; a file it cannot read is no latents file here (the
    images loader then names what is wrong with it)."""
    path = Path(path)
    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as z:
            names = {n.removesuffix(".npy"): n for n in z.namelist()}
            if MU not in names or any(name in names for name in IMAGE_NAMES):
                return False
            return not any(_ndim(z, member) in (3, 4) for name, member in names.items() if name != MU)
    except Exception:  # a file it cannot read is no latents file here (the images loader says why)
        return False


def _ndim(z: zipfile.ZipFile, member: str) -> int | None:
    """The number of dimensions in a member's .npy header; None when it cannot be read."""
    try:
        return len(npy_header(z, z.getinfo(member))[0])
    except Exception:  # a damaged member: the loader names what is wrong with it
        return None


def placeholder_image(image_shape: tuple[int, int, int]) -> np.ndarray:
    """(H, W, C) uint8: mid grey with a darker cross, the sign for "no image here"."""
    c, h, w = image_shape
    image = np.full((h, w, c), 160, np.uint8)
    rows = np.arange(h)
    for cols in ((rows * (w - 1)) // max(h - 1, 1), ((h - 1 - rows) * (w - 1)) // max(h - 1, 1)):
        image[rows, cols] = 110
    return image


@dataclass(frozen=True)
class LatentsDataset(LabelsMixin):
    """Points known only by their latents (N, D): no images. Meets DatasetLike."""

    spec: str
    mu: np.ndarray  # (N, D) float32, finite
    logvar: np.ndarray | None  # (N, D) float32, finite; None when the file has none
    labels: np.ndarray  # (N, L) float32
    label_names: tuple[str, ...]
    fingerprint: str
    image_shape: tuple[int, int, int]  # (C, H, W) of the model it opened for: the placeholders' size
    warnings: tuple[str, ...] = ()
    file_names: tuple[str, ...] | None = None
    heldout_spec: str | None = None
    problems: tuple[str, ...] = ()
    terms: dict[str, np.ndarray] | None = None  # recon, kl, mse (N,) when the file holds them

    has_images: ClassVar[bool] = False

    def __len__(self) -> int:
        return len(self.mu)

    @property
    def latent_dim(self) -> int:
        return self.mu.shape[1]

    @property
    def posterior_known(self) -> bool:
        """Whether the file gave the posterior's width (logvar)."""
        return self.logvar is not None

    def images_at(self, indices: Indices) -> np.ndarray:
        """One placeholder per index (IndexError for one out of range, as for any dataset)."""
        index = as_index(indices, len(self))
        k = len(range(index.start, index.stop, index.step)) if isinstance(index, slice) else len(index)
        return np.repeat(placeholder_image(self.image_shape)[None], k, axis=0)


def latents_steps(path: Path, image_shape: tuple[int, int, int]) -> Steps[LatentsDataset]:
    """Read and check a latents file, CHECK_ROWS rows per step (with progress)."""
    arrays = open_arrays(path)
    if MU not in arrays:  # is_latents_file said so; the file changed since
        raise DatasetError(f"{path}: holds no array named mu, the latents (N, D)")
    mu = yield from _float_rows(path, MU, arrays[MU])
    n = len(mu)
    logvar = None
    if LOGVAR in arrays:
        if arrays[LOGVAR].shape != mu.shape:
            raise DatasetError(f"{path}: logvar has shape {arrays[LOGVAR].shape}, but mu has {mu.shape}")
        logvar = yield from _float_rows(path, LOGVAR, arrays[LOGVAR])
        if float(logvar.max()) > _LOGVAR_MAX:
            raise DatasetError(
                f"{path}: logvar holds values up to {float(logvar.max()):g}, where exp(logvar) overflows "
                f"(largest usable {_LOGVAR_MAX:.1f})"
            )
    arrays.pop(META, None)
    terms = None
    if all(t in arrays for t in TERMS):  # an encode's own file: its per-point terms, checked like labels
        terms = {t: np.asarray(arrays.pop(t), np.float32) for t in TERMS}
        if any(a.shape != (n,) for a in terms.values()):
            raise DatasetError(f"{path}: recon, kl and mse must each hold one value per row of mu ({n:,})")
    for name, a in arrays.items():
        if name not in (MU, LOGVAR) and a.ndim == 1 and is_numeric(a) and len(a) != n:
            raise DatasetError(f"{path}: the label {name} has {len(a):,} values, but mu has {n:,} rows")
    labels, names, warnings = labels_of(arrays, (MU, LOGVAR), n, unit="points")
    if logvar is None:
        warnings += (f"{path.name} has no logvar: the posterior width of its points is unknown",)
    return LatentsDataset(
        spec=str(path),
        mu=mu,
        logvar=logvar,
        labels=labels,
        label_names=names,
        fingerprint=file_hash(path, "latents|"),  # the file's bytes: the latents alone, whatever the model
        image_shape=tuple(int(s) for s in image_shape),
        warnings=warnings,
        terms=terms,
    )


def _float_rows(path: Path, name: str, a: np.ndarray) -> Steps[np.ndarray]:
    """`a` checked (2-D floats, finite, of a usable size) and converted to float32, in steps."""
    if a.ndim != 2:
        raise DatasetError(f"{path}: {name} has shape {a.shape}; it must be 2-D, (points N, latent size D)")
    if not np.issubdtype(a.dtype, np.floating):
        raise DatasetError(f"{path}: {name} holds {a.dtype}; it must hold floats")
    n, d = a.shape
    if n == 0:
        raise DatasetError(f"{path}: {name} has no rows (N = 0): no data points")
    if not 1 <= d <= MAX_LATENT_DIM:
        raise DatasetError(f"{path}: {name} has {d:,} columns; the latent size must be 1 to {MAX_LATENT_DIM:,}")
    out = np.empty((n, d), np.float32)
    for start in range(0, n, CHECK_ROWS):
        part = a[start : start + CHECK_ROWS]
        with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf, refused below
            out[start : start + len(part)] = part
        bad = ~np.isfinite(out[start : start + len(part)]).all(1)
        if bad.any():
            row = start + int(np.argmax(bad))
            raise DatasetError(
                f"{path}: {name} holds NaN or infinite values (first in row {row:,})"
                + (" (beyond the float32 range)" if np.isfinite(a[row]).all() else "")
            )
        yield Progress(min(start + CHECK_ROWS, n), n, f"reading {name}")
    return out


def check_latent_size(dataset: DatasetLike, latent_dim: int) -> None:
    """DatasetError when `dataset` brings latents of another size than the model's `latent_dim`
    (they could not be decoded); nothing for any other dataset."""
    if isinstance(dataset, LatentsDataset) and dataset.latent_dim != latent_dim:
        raise DatasetError(
            f"{dataset.spec}: latents of size {dataset.latent_dim} but the model's latent size is {latent_dim}; "
            "open the model that made them"
        )
