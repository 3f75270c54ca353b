"""A figure: what to draw (FigureSpec), the keyframes it starts from, the latents it decodes,
and how it is laid out and exported. The window and the CLI both build figures here, so the
same path gives the same pixels and the same files from either.

  spec + keyframes (+ a vector for a sweep) --build--> Figure (latents, captions)
  Figure + decoded images (+ originals) --render--> Composite --export--> PNG / GIF / APNG + sidecar
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from explorer.core.figures.compose import Composite, Layout, compose, scale_tiles
from explorer.core.figures.export import STILL, Animation, animation_bytes, check_target, png_bytes, write_figure
from explorer.core.space import paths
from explorer.core.space.support import Support
from explorer.core.space.vectors import AttributeVector

PATH, SWEEP, GRID, ANALOGY, RECORDING = "path", "sweep", "grid", "analogy", "recording"
KINDS = (PATH, SWEEP, GRID, ANALOGY, RECORDING)
# A recording's keyframes are the latents of a recorded walk (recording.py), decoded as they are.
KEYFRAMES_NEEDED = {PATH: 2, SWEEP: 1, GRID: 4, ANALOGY: 3, RECORDING: 2}
MAX_STEPS = 64  # images per strip segment
MAX_SIDE = 32  # grid rows and columns: a 32 x 32 grid decodes in about a second on two CPU cores
MAX_SWEEP = 1_000  # standard deviations either way of a sweep (the sliders go to +-3)
MAX_IMAGES = MAX_SIDE * MAX_SIDE  # decoded images in one figure (a path through many keyframes too)
SIDECAR_FORMAT, SIDECAR_VERSION = "vae-explorer.figure", 1


@dataclass(frozen=True)
class FigureSpec:
    kind: str = PATH
    method: str = paths.SLERP
    steps: int = 8  # per segment of a path; the number of images of a sweep
    rows: int = 5  # grid and analogy
    cols: int = 5
    sweep_from: float = -2.0  # slider units (standard deviations along the vector)
    sweep_to: float = 2.0
    originals: bool = False  # the data images of the end keyframes beside the decoded ends
    layout: Layout = field(default_factory=Layout)
    animation: Animation = field(default_factory=Animation)

    def check(self) -> FigureSpec:
        if self.kind not in KINDS:
            raise paths.PathError(f"unknown figure kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.method not in paths.METHODS:
            raise paths.PathError(f"unknown method {self.method!r}; choose one of {', '.join(paths.METHODS)}")
        for name, n, most in (
            ("steps", self.steps, MAX_STEPS),
            ("rows", self.rows, MAX_SIDE),
            ("columns", self.cols, MAX_SIDE),
        ):
            if not 2 <= n <= most:
                raise paths.PathError(f"{name} must be 2..{most}, got {n}")
        if not all(math.isfinite(v) and abs(v) <= MAX_SWEEP for v in (self.sweep_from, self.sweep_to)):
            raise paths.PathError(
                f"sweep range {self.sweep_from:g} to {self.sweep_to:g}: each end must be a finite number "
                f"of standard deviations within +-{MAX_SWEEP:,}"
            )
        self.layout.check()
        self.animation.check()
        return self


@dataclass(frozen=True)
class Keyframe:
    latent: np.ndarray  # (D,) float32
    index: int | None = None  # the data point it is the encoding of, if any
    source: str = ""  # how the user made it: "data point 12", "pinned point", "moved (smiling +2.00)"

    @staticmethod
    def data_point(mu: np.ndarray, index: int) -> Keyframe:
        return Keyframe(np.asarray(mu[index], np.float32), int(index), f"data point {index}")


@dataclass(frozen=True)
class Figure:
    spec: FigureSpec
    keyframes: tuple[Keyframe, ...]
    latents: np.ndarray  # (N, D) float32: what the decoder is asked for, in layout order
    values: (
        np.ndarray
    )  # (N,) path position t (a recording's: its share of the walk's length) or sweep c; (N, 2) grid (tx, ty)
    vector: AttributeVector | None = None

    @property
    def columns(self) -> int:
        return self.spec.cols if self.spec.kind in (GRID, ANALOGY) else self.spec.layout.columns

    def end_indices(self) -> tuple[int | None, int | None]:
        """Data points whose original images go at the ends (strips only, when asked)."""
        if not self.spec.originals or self.spec.kind in (GRID, ANALOGY):
            return None, None
        last = None if self.spec.kind == SWEEP else self.keyframes[-1].index
        return self.keyframes[0].index, last

    def captions(self) -> list[str]:
        if self.spec.kind == SWEEP:
            return [f"{c:+.2f}" for c in self.values]
        if self.values.ndim == 2:
            return [f"{tx:.2f},{ty:.2f}" for tx, ty in self.values]
        return [f"{t:.2f}" for t in self.values]

    def title(self) -> str:
        names = [k.source or "latent" for k in self.keyframes]
        s = self.spec
        if s.kind == SWEEP:
            return f"{self.vector.name}, {s.sweep_from:+g} to {s.sweep_to:+g} sd, from {names[0]}"
        if s.kind == GRID:
            return f"{s.method} grid {s.rows}x{s.cols}: {', '.join(names)}"
        if s.kind == ANALOGY:
            return f"{names[0]} : {names[1]} :: {names[2]} : ?"
        if s.kind == RECORDING:
            return f"a recorded walk, {len(self.latents)} frames"
        return f"{s.method}, {s.steps} steps/segment: {' -> '.join(names)}"


class FigureError(paths.PathError):
    """A figure that cannot be built from what was given; the message says why."""


def build(spec: FigureSpec, keyframes: list[Keyframe], vector: AttributeVector | None = None) -> Figure:
    spec = spec.check()
    need = KEYFRAMES_NEEDED[spec.kind]
    have, a = len(keyframes), "an" if spec.kind[0] in "aeiou" else "a"
    if spec.kind in (GRID, ANALOGY) and have != need:
        raise FigureError(f"{a} {spec.kind} needs exactly {need} keyframes, has {have}")
    if have < need:
        raise FigureError(f"{a} {spec.kind} needs at least {need} keyframe{'s' if need > 1 else ''}, has {have}")
    if spec.kind == RECORDING and have > MAX_IMAGES:
        raise FigureError(f"a recording of {have:,} frames is more than {MAX_IMAGES:,}: record a shorter walk")
    if spec.kind == PATH and (have - 1) * (spec.steps - 1) + 1 > MAX_IMAGES:
        raise FigureError(
            f"a path through {have} keyframes at {spec.steps} steps each would decode "
            f"{(have - 1) * (spec.steps - 1) + 1:,} images, more than {MAX_IMAGES:,}: use fewer keyframes or steps"
        )
    keys = np.stack([np.asarray(k.latent, np.float64) for k in keyframes])
    if spec.kind == PATH:
        latents, values = paths.through_keyframes(spec.method, keys, spec.steps)
    elif spec.kind == SWEEP:
        if vector is None:
            raise FigureError("a sweep needs an attribute vector")
        if vector.direction.shape != keys[0].shape:
            raise FigureError(f"{vector.name} has {vector.direction.size} dimensions, the keyframes {keys.shape[1]}")
        latents, values = paths.sweep(keys[0], vector.unit, vector.std, spec.sweep_from, spec.sweep_to, spec.steps)
    elif spec.kind == GRID:
        latents, values = paths.grid(spec.method, keys, spec.rows, spec.cols)
    elif spec.kind == RECORDING:
        latents, values = keys, paths.walked_fraction(keys)
    else:
        latents, values = paths.grid(spec.method, paths.analogy_corners(*keys), spec.rows, spec.cols)
    if not np.isfinite(latents).all():
        raise FigureError("the path has non-finite latents (are the keyframes finite?)")
    return Figure(spec, tuple(keyframes), latents.astype(np.float32), values, vector if spec.kind == SWEEP else None)


def tiles(figure: Figure, decoded: np.ndarray, images: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """The tiles in order, with the original images at the ends when asked, and their captions.

    `images` is the dataset's (N, H, W, C) images (needed only for originals)."""
    decoded = np.asarray(decoded, np.uint8)
    if len(decoded) != len(figure.latents):
        raise FigureError(f"{len(decoded)} decoded images for {len(figure.latents)} latents")
    captions = figure.captions()
    first, last = figure.end_indices() if images is not None else (None, None)
    parts, names = [decoded], captions
    if first is not None:
        parts, names = [images[first][None], *parts], ["original", *names]
    if last is not None:
        parts, names = [*parts, images[last][None]], [*names, "original"]
    return np.concatenate(parts), names


def render(
    figure: Figure, decoded: np.ndarray, images: np.ndarray | None = None, layout: Layout | None = None
) -> Composite:
    """The figure as one image; `layout` overrides the spec's (the window's preview wraps and
    scales its own way, to fit its panel)."""
    all_tiles, captions = tiles(figure, decoded, images)
    layout = replace(figure.spec.layout, columns=figure.columns) if layout is None else layout
    return compose(all_tiles, layout, captions, figure.title())


def figure_bytes(figure: Figure, decoded: np.ndarray, suffix: str, images: np.ndarray | None = None) -> bytes:
    """The file's bytes: a still (.png) of the layout, or an animation with one tile per frame."""
    if suffix == STILL:
        return png_bytes(render(figure, decoded, images).image)
    frames = scale_tiles(tiles(figure, decoded, images)[0], figure.spec.layout.scale)
    return animation_bytes(list(frames), suffix, figure.spec.animation)


@dataclass(frozen=True)
class Provenance:
    """Where the latents came from, so the sidecar can say how to rebuild the figure."""

    model_spec: str
    model_hash: str
    data_spec: str
    data_fingerprint: str


def sidecar(figure: Figure, provenance: Provenance, support: Support | None = None) -> dict:
    spec = asdict(figure.spec)
    doc = {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "model": {"spec": provenance.model_spec, "hash": provenance.model_hash},
        "data": {"spec": provenance.data_spec, "fingerprint": provenance.data_fingerprint},
        "spec": spec,
        "keyframes": [
            {"index": k.index, "source": k.source, "latent": np.asarray(k.latent, np.float32).tolist()}
            for k in figure.keyframes
        ],
        "latents": figure.latents.tolist(),
        "values": np.asarray(figure.values).tolist(),
        "captions": figure.captions(),
    }
    if figure.vector is not None:
        v = figure.vector
        doc["vector"] = {
            "name": v.name,
            "method": v.method,
            "label": v.label,
            "std": v.std,
            "direction": v.direction.tolist(),
        }
    if support is not None:
        doc["support"] = support_doc(support)
    return doc


def support_doc(support) -> dict:
    """A figure's data support (space/support.py) as its sidecar records it."""
    return {
        "distance": support.distance.tolist(),
        "nearest": support.nearest.tolist(),
        "reference": support.reference,
        "off_data": support.off_data.tolist(),
    }


def export(
    path,
    figure: Figure,
    decoded: np.ndarray,
    provenance: Provenance,
    images: np.ndarray | None = None,
    support: Support | None = None,
    force: bool = False,
):
    """Write the figure (type from the suffix) and its sidecar; returns the path written."""
    target = check_target(path, force)
    data = figure_bytes(figure, decoded, target.suffix.lower(), images)
    return write_figure(target, data, sidecar(figure, provenance, support))
