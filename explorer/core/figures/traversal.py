"""Latent traversals: the classic beta-VAE figure. One row per latent dimension, columns
sweeping that dimension alone over a range while every other dimension keeps the base latent's
value.

  TraversalSpec + encodings (+ a pinned latent) --build--> Traversal (latents, row labels, values)
  Traversal + decoded images --render--> Composite (compose's grid, with a row-label column)
                             --export--> PNG / GIF / APNG + the strips' sidecar

Rows are sorted by each dimension's mean KL(q(z_u|x) || N(0, 1)) over the data, largest first,
and a dimension the encoder does not use is marked inactive by the active-unit rule of Burda
et al. (2016): Var_x(E_q[z_u]) <= ACTIVE_UNIT_VARIANCE. Layout and files are the strips' own
(compose.py, export.py); this module only adds the labels down the left.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

from explorer.core.figures.compose import Composite, Layout, caption_font, compose, fit_text, text_colour
from explorer.core.figures.export import STILL, Animation, animation_bytes, check_target, png_bytes, write_figure
from explorer.core.figures.figure import MAX_IMAGES, MAX_SIDE, MAX_SWEEP, SIDECAR_FORMAT, SIDECAR_VERSION, support_doc
from explorer_models.errors import UserInputError

ACTIVE_UNIT_VARIANCE = 0.01  # Burda et al. 2016: a unit is active when Var_x(mu_u) > this
KL, INDEX = "kl", "index"
SORTS = (KL, INDEX)
FIXED, SIGMA, QUANTILES = "fixed", "sigma", "quantiles"
RANGES = (FIXED, SIGMA, QUANTILES)
MEAN, POINT, LATENT = "mean", "point", "latent"
BASES = (MEAN, POINT, LATENT)
KIND = "traversal"  # the sidecar's spec.kind, beside the strips' path / sweep / grid / analogy
_CHUNK = 65_536  # rows of mu at a time for the per-dimension statistics (a memory map may be large)


class TraversalError(UserInputError):
    """A traversal that cannot be built from what was given; the message says why."""


@dataclass(frozen=True)
class TraversalSpec:
    dims: tuple[int, ...] | None = None  # the dimensions shown (None: all), before sorting
    sort: str = KL  # kl: largest mean KL first; index: in the order given
    range: str = SIGMA
    lo: float = -3.0  # fixed: the first and last value of the dimension
    hi: float = 3.0
    sigmas: float = 3.0  # sigma: base_u - r .. base_u + r, in prior standard deviations (1)
    quantile: float = 0.02  # quantiles: the data's own quantiles q .. 1 - q of mu_u
    columns: int = 9
    base: str = MEAN  # mean: the data's mean mu; point: data point `index`'s mu; latent: one given
    index: int | None = None

    def check(self) -> TraversalSpec:
        if self.sort not in SORTS:
            raise TraversalError(f"unknown sort {self.sort!r}; choose one of {', '.join(SORTS)}")
        if self.range not in RANGES:
            raise TraversalError(f"unknown range {self.range!r}; choose one of {', '.join(RANGES)}")
        if self.base not in BASES:
            raise TraversalError(f"unknown base {self.base!r}; choose one of {', '.join(BASES)}")
        if not 2 <= self.columns <= MAX_SIDE:
            raise TraversalError(f"columns must be 2..{MAX_SIDE}, got {self.columns}")
        if self.range == FIXED and not all(math.isfinite(v) and abs(v) <= MAX_SWEEP for v in (self.lo, self.hi)):
            raise TraversalError(
                f"fixed range {self.lo:g} to {self.hi:g}: each end must be finite, within +-{MAX_SWEEP:,}"
            )
        if self.range == FIXED and self.lo == self.hi:
            raise TraversalError(f"fixed range {self.lo:g} to {self.hi:g}: the ends must differ")
        if self.range == SIGMA and not (math.isfinite(self.sigmas) and 0 < self.sigmas <= MAX_SWEEP):
            raise TraversalError(f"sigma range {self.sigmas:g}: must be above 0 and at most {MAX_SWEEP:,}")
        if self.range == QUANTILES and not (math.isfinite(self.quantile) and 0 <= self.quantile < 0.5):
            raise TraversalError(f"quantile {self.quantile:g}: must be 0 to below 0.5 (q .. 1 - q)")
        if self.base == POINT and (self.index is None or self.index < 0):
            raise TraversalError("a data-point base needs the point's index (0 or more)")
        if self.dims is not None and len(set(self.dims)) != len(self.dims):
            raise TraversalError(f"dims {list(self.dims)}: a dimension is named twice")
        if self.dims is not None and not self.dims:
            raise TraversalError("dims: name at least one dimension")
        return self


@dataclass(frozen=True)
class Row:
    dim: int
    kl: float  # mean KL of the dimension over the data, in nats
    inactive: bool  # Var_x(mu_u) <= ACTIVE_UNIT_VARIANCE

    @property
    def label(self) -> str:
        kl = f"{self.kl:.2f}" if math.isfinite(self.kl) else "n/a"  # precomputed latents may have no logvar
        return f"z{self.dim} · KL {kl}" + (" · inactive" if self.inactive else "")


@dataclass(frozen=True)
class Traversal:
    spec: TraversalSpec
    base: np.ndarray  # (D,) float32
    base_source: str  # "data mean", "data point 12", "pinned latent"
    rows: tuple[Row, ...]
    values: np.ndarray  # (R, C) float64: the value of row r's dimension in column c
    latents: np.ndarray  # (R * C, D) float32, row by row

    def captions(self) -> list[str]:
        return [f"{v:+.2f}" for v in self.values.ravel()]

    def title(self) -> str:
        s = self.spec
        span = {
            FIXED: f"{s.lo:+g} to {s.hi:+g}",
            SIGMA: f"+-{s.sigmas:g} prior sd",
            QUANTILES: f"data quantiles {s.quantile:g} to {1 - s.quantile:g}",
        }[s.range]
        order = "by KL" if s.sort == KL else "by index"
        return f"traversal of {len(self.rows)} dims ({order}), {span}, from {self.base_source}"


def dimension_stats(mu: np.ndarray, logvar: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per dimension over the data: (mean KL to N(0, 1), mean of mu, Var_x(mu)), float64; read
    in chunks of rows (mu and logvar may be large memory maps)."""
    n, d = mu.shape
    if n == 0:
        raise TraversalError("no data points to measure the dimensions on")
    kl, total = np.zeros(d), np.zeros(d)
    for i in range(0, n, _CHUNK):
        m = np.asarray(mu[i : i + _CHUNK], np.float64)
        lv = np.asarray(logvar[i : i + _CHUNK], np.float64)
        kl += (0.5 * (m**2 + np.exp(lv) - lv - 1)).sum(0)
        total += m.sum(0)
    mean, squares = total / n, np.zeros(d)
    for i in range(0, n, _CHUNK):  # about the mean: no cancellation when the mean is large
        squares += ((np.asarray(mu[i : i + _CHUNK], np.float64) - mean) ** 2).sum(0)
    return kl / n, mean, squares / n


def build(spec: TraversalSpec, mu: np.ndarray, logvar: np.ndarray, latent: np.ndarray | None = None) -> Traversal:
    """The traversal's latents over data encoded as (mu, logvar) (N, D); `latent` is the base
    when spec.base is LATENT (the window's pinned point)."""
    spec = spec.check()
    n, d = mu.shape
    dims = tuple(range(d)) if spec.dims is None else tuple(int(u) for u in spec.dims)
    bad = [u for u in dims if not 0 <= u < d]
    if bad:
        raise TraversalError(f"dims: no dimension {bad[0]}; the model has {d} (0 to {d - 1})")
    if len(dims) * spec.columns > MAX_IMAGES:
        raise TraversalError(
            f"{len(dims)} dims x {spec.columns} columns is {len(dims) * spec.columns:,} images, "
            f"more than {MAX_IMAGES:,}: show fewer dims or columns"
        )
    kl, mean, variance = dimension_stats(mu, logvar)
    if spec.base == MEAN:
        base, source = mean, "data mean"
    elif spec.base == POINT:
        if spec.index >= n:
            raise TraversalError(f"base data point {spec.index}: no such point; the data has {n:,} (0 to {n - 1:,})")
        base, source = np.asarray(mu[spec.index], np.float64), f"data point {spec.index}"
    else:
        if latent is None or np.shape(latent) != (d,):
            raise TraversalError(f"a latent base needs one latent of {d} values, got shape {np.shape(latent)}")
        base, source = np.asarray(latent, np.float64), "pinned latent"
    if not np.isfinite(base).all():
        raise TraversalError(f"the base latent ({source}) has non-finite values")
    if spec.sort == KL and not np.isfinite(kl[list(dims)]).all():
        raise TraversalError(
            "sorting by KL needs the posterior log-variances (logvar), which this data does not have: sort by index"
        )
    if spec.sort == KL:
        dims = tuple(sorted(dims, key=lambda u: (-kl[u], u)))
    rows = tuple(Row(u, float(kl[u]), bool(variance[u] <= ACTIVE_UNIT_VARIANCE)) for u in dims)
    values = np.stack([_sweep(spec, base[u], mu, u) for u in dims])
    latents = np.repeat(base[None], len(dims) * spec.columns, axis=0).reshape(len(dims), spec.columns, d)
    for r, u in enumerate(dims):
        latents[r, :, u] = values[r]
    return Traversal(spec, base.astype(np.float32), source, rows, values, latents.reshape(-1, d).astype(np.float32))


def _sweep(spec: TraversalSpec, base_u: float, mu: np.ndarray, u: int) -> np.ndarray:
    if spec.range == FIXED:
        return np.linspace(spec.lo, spec.hi, spec.columns)
    if spec.range == SIGMA:
        return base_u + np.linspace(-spec.sigmas, spec.sigmas, spec.columns)
    qs = np.linspace(spec.quantile, 1 - spec.quantile, spec.columns)
    return np.quantile(np.asarray(mu[:, u], np.float64), qs)


# -- pictures and files ---------------------------------------------------------------------------
def render(traversal: Traversal, decoded: np.ndarray, layout: Layout | None = None, labels: bool = True) -> Composite:
    """The grid as one image: compose's grid of the tiles (row by row), with each row's label in a
    column on the left when `labels`. Boxes are of the tiles in the whole image."""
    layout = Layout() if layout is None else layout
    decoded = np.asarray(decoded, np.uint8)
    if len(decoded) != len(traversal.latents):
        raise TraversalError(f"{len(decoded)} decoded images for {len(traversal.latents)} latents")
    grid = compose(decoded, replace(layout, columns=traversal.spec.columns), traversal.captions(), traversal.title())
    if not labels:
        return grid
    return _with_row_labels(grid, [row.label for row in traversal.rows], layout, traversal.spec.columns)


def _with_row_labels(grid: Composite, labels: list[str], layout: Layout, columns: int) -> Composite:
    font, pad = caption_font(), layout.padding
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = pad + math.ceil(max(measure.textlength(t, font=font) for t in labels))
    height = grid.image.shape[0]
    image = Image.new("RGB", (width + grid.image.shape[1], height), tuple(int(v) for v in layout.background))
    image.paste(Image.fromarray(grid.image), (width, 0))
    draw, ink = ImageDraw.Draw(image), text_colour(layout.background)
    _, top, _, bottom = font.getbbox("Ag0")
    for r, text in enumerate(labels):
        _, y, _, h = grid.boxes[r * columns]
        draw.text((pad, y + (h - (bottom + top)) / 2), fit_text(draw, text, width - pad, font), fill=ink, font=font)
    boxes = grid.boxes.copy()
    boxes[:, 0] += width
    return Composite(np.asarray(image), boxes)


def figure_bytes(
    traversal: Traversal, decoded: np.ndarray, suffix: str, layout: Layout, animation: Animation, labels: bool = True
) -> bytes:
    """A still (.png) of the grid, or an animation with one frame per column: every row's
    dimension moving together, the tiles stacked in one column."""
    if suffix == STILL:
        return png_bytes(render(traversal, decoded, layout, labels).image)
    decoded = np.asarray(decoded, np.uint8)
    rows, columns = len(traversal.rows), traversal.spec.columns
    tiles = decoded.reshape(rows, columns, *decoded.shape[1:])
    still = replace(layout, columns=1, captions=False)
    frames = []
    for j in range(columns):
        frame = compose(tiles[:, j], still)
        frames.append(_with_row_labels(frame, [row.label for row in traversal.rows], still, 1) if labels else frame)
    return animation_bytes([f.image for f in frames], suffix, animation)


def sidecar(traversal: Traversal, provenance, layout: Layout, animation: Animation, support=None) -> dict:
    """The strips' sidecar (figure.sidecar) for a traversal: spec.kind is "traversal"."""
    doc = {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "model": {"spec": provenance.model_spec, "hash": provenance.model_hash},
        "data": {"spec": provenance.data_spec, "fingerprint": provenance.data_fingerprint},
        "spec": {"kind": KIND, **asdict(traversal.spec), "layout": asdict(layout), "animation": asdict(animation)},
        "base": {"source": traversal.base_source, "index": traversal.spec.index, "latent": traversal.base.tolist()},
        "rows": [{"dim": w.dim, "kl": w.kl, "inactive": w.inactive, "label": w.label} for w in traversal.rows],
        "active_unit_variance": ACTIVE_UNIT_VARIANCE,
        "latents": traversal.latents.tolist(),
        "values": traversal.values.tolist(),
        "captions": traversal.captions(),
    }
    if support is not None:
        doc["support"] = support_doc(support)
    return doc


def export(path, traversal: Traversal, decoded, provenance, layout: Layout, animation: Animation, **options):
    """Write the traversal (type from the suffix) and its sidecar; returns the path written.
    options: labels (bool), support (a Support), force (bool)."""
    target = check_target(path, options.get("force", False))
    data = figure_bytes(traversal, decoded, target.suffix.lower(), layout, animation, options.get("labels", True))
    return write_figure(target, data, sidecar(traversal, provenance, layout, animation, options.get("support")))
