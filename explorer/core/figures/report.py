"""One self-contained model report: what `vae-explorer report` (and the window) writes as HTML.

  model + dataset + encodings + ReportSpec --gather / report_steps--> Report (frozen sections)
  Report --report_html.render--> one HTML page, every image embedded as a PNG data: URI

Each section reuses the module that owns its figures: health.measure, traversal.build/render,
compose, the map's PCA projection and raster, vectors.from_label with its quality, the pixel
judges' sweep, and (lazily: the heaviest) the disentanglement measures. Everything is seeded
by ReportSpec.seed and nothing reads the clock, so the same inputs give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from explorer.core.data import has_images
from explorer.core.figures import traversal as T
from explorer.core.figures.compose import Layout, compose
from explorer.core.space import health as H
from explorer.core.space import vectors as V
from explorer.core.steps import Progress, Steps, run_steps

# the sections in page order; each is a <section id=...> of the page
SECTIONS = ("facts", "health", "reconstructions", "prior-samples", "traversals", "map", "vectors", "disentanglement")
LAYOUT = Layout(padding=2)  # every image grid: tiles 2 px apart, no captions (the page holds the text)
NO_LABELS = "no labels: no disentanglement figures"
JUDGE_SIDE = 32  # the pixel judges read 32 x 32 grey pixels (judges.grey32): sides must be multiples
JUDGE_CHECK = 100  # images held back from a judge's training to measure its accuracy (at least)


class ReportCancelled(Exception):
    """should_stop() said so between two steps; nothing was written."""


@dataclass(frozen=True)
class ReportSpec:
    seed: int = 0  # every sample below: images, prior draws, sweep points, IWAE noise
    iwae_k: int = 16  # importance samples per image in the log-likelihood bound
    iwae_n: int = 128  # images in that bound; 0 skips it
    reconstructions: int = 8
    prior_samples: int = 16
    prior_columns: int = 8
    traversal_dims: int = 8  # the dimensions of largest KL
    traversal_columns: int = 7
    traversal_sigmas: float = 3.0  # each row sweeps its dimension +- this many prior sd
    sweep_points: int = 4  # data points whose attribute sweep is drawn, one row each
    sweep_steps: int = 7
    sweep_range: float = 3.0  # slider units (sd of the data along the vector) either way
    judge_points: int = 64  # data points whose sweeps the pixel judge scores at every step
    judge_images: int = 1500  # images a judge is trained on (fewer on a small dataset)
    map_size: int = 420  # pixels of the square map image
    made_by: str = ""  # the program and its version, for the header ("vae-explorer 0.1.0")
    generated: str = ""  # a date for the header, only if the caller passes one (no clock is read here)


@dataclass(frozen=True)
class Facts:
    title: str  # the model's spec, as `vae-explorer info` prints it first
    rows: tuple[tuple[str, str], ...]  # (what, value), in `info`'s order


@dataclass(frozen=True, eq=False)
class Reconstructions:
    indices: np.ndarray  # the data points shown: health.pick_images(N, n, seed)
    originals: np.ndarray | None  # (n, H, W, C) uint8; None when the data has no images
    decoded: np.ndarray  # decode_images(model, mu[indices])
    mse: np.ndarray  # (n,) per-pixel MSE of decode(mu) from the encodings
    image: np.ndarray  # compose: originals in the first row, decodings under them


@dataclass(frozen=True, eq=False)
class PriorSamples:
    latents: np.ndarray  # (n, D) ~ N(0, I), from default_rng(seed)
    image: np.ndarray


@dataclass(frozen=True, eq=False)
class Traversals:
    traversal: T.Traversal
    image: np.ndarray  # traversal.render with row labels


@dataclass(frozen=True, eq=False)
class MapFigure:
    projection: object  # the LinearProjection (PCA of mu)
    coloured_by: str  # a label name, or "" (one colour)
    legend: tuple[tuple[str, tuple[int, int, int], int], ...]  # (name, rgb, points)
    continuous: bool
    value_range: tuple[float, float] | None
    image: np.ndarray


@dataclass(frozen=True, eq=False)
class VectorSweep:
    vector: V.AttributeVector  # mean difference of the label (vectors.from_label)
    indices: np.ndarray  # the data points of the strip's rows
    steps: np.ndarray  # slider values c, one per column
    image: np.ndarray
    judge_accuracy: float | None = None  # on held-back images; None: no judge
    judged: np.ndarray | None = None  # per step: fraction of judge_points sweeps judged positive
    probability: np.ndarray | None = None  # per step: the judge's mean probability
    note: str = ""  # why there is no judge


@dataclass(frozen=True)
class Vectors:
    sweeps: tuple[VectorSweep, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (label, why no vector)
    note: str = ""  # why there are none at all


@dataclass(frozen=True, eq=False)
class Disentanglement:
    factors: tuple[str, ...] = ()
    result: object | None = None  # explorer.core.space.disentanglement.Disentanglement
    heatmap: np.ndarray | None = None
    note: str = ""


@dataclass(frozen=True, eq=False)
class Report:
    spec: ReportSpec
    model_spec: str
    data_spec: str
    points: int
    facts: Facts
    health: H.Health
    reconstructions: Reconstructions
    prior: PriorSamples
    traversals: Traversals
    map: MapFigure
    vectors: Vectors
    disentanglement: Disentanglement = field(default_factory=Disentanglement)


def parse_facts(text: str) -> Facts:
    """The text `vae-explorer info` prints (explorer_models.facts.format_facts) as a table: its first
    line is the title, each further line 'what   value' a row."""
    lines = text.splitlines()
    rows = []
    for line in lines[1:]:
        m = re.match(r"^\s+(\S.*?)\s{2,}(\S.*)$", line)
        rows.append((m[1], m[2]) if m else ("", line.strip()))
    return Facts(lines[0] if lines else "", tuple(rows))


def gather(
    model,
    dataset,
    encodings,
    spec: ReportSpec = ReportSpec(),
    *,
    facts: str | None = None,
    device="cpu",
    on_step: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Report:
    """The report's sections. `facts` is `vae-explorer info`'s text of the model; on_step(name)
    is called as each step starts (a section of SECTIONS, or "vectors: LABEL"); should_stop()
    is asked between steps and, when true, ends the work with ReportCancelled."""
    steps = report_steps(model, dataset, encodings, spec, facts=facts, device=device)

    def progress(p: Progress) -> None:
        if should_stop is not None and should_stop():
            steps.close()
            raise ReportCancelled("the report was cancelled")
        if on_step is not None:
            on_step(p.what)

    return run_steps(steps, progress)


def report_steps(
    model, dataset, encodings, spec: ReportSpec, *, facts: str | None = None, device="cpu"
) -> Steps[Report]:
    """gather as a step function (explorer.core.steps): a Progress before each step."""
    from explorer_models import decode_images

    mu, logvar, n = encodings.mu, encodings.logvar, len(encodings)
    binary = dataset.binary_label_names()
    total, done = len(SECTIONS) - 1 + max(len(binary), 1), 0  # one step per label's vector

    def step(what: str) -> Progress:
        nonlocal done
        done += 1
        return Progress(done - 1, total, what)

    yield step("facts")
    if facts is None:  # the model's own, as `vae-explorer info` prints them
        from explorer_models.facts import format_facts, model_facts

        facts = format_facts(model_facts(model))
    parsed = parse_facts(facts)
    yield step("health")
    likelihood = None
    if spec.iwae_n > 0 and has_images(dataset):
        images = dataset.images_at(H.pick_images(n, spec.iwae_n, spec.seed))
        likelihood = yield from _quietly(H.importance_weighted_steps(model, images, spec.iwae_k, spec.seed, device))
    health = H.measure(mu, logvar, seed=spec.seed, likelihood=likelihood)

    yield step("reconstructions")
    idx = H.pick_images(n, spec.reconstructions, spec.seed)
    decoded = decode_images(model, np.asarray(mu[idx]), device)
    originals = dataset.images_at(idx) if has_images(dataset) else None
    tiles = decoded if originals is None else np.concatenate([originals, decoded])
    recon = Reconstructions(idx, originals, decoded, np.asarray(encodings.mse)[idx], _grid(tiles, max(len(idx), 1)))

    yield step("prior-samples")
    z = np.random.default_rng(spec.seed).standard_normal((spec.prior_samples, mu.shape[1])).astype(np.float32)
    prior = PriorSamples(z, _grid(decode_images(model, z, device), spec.prior_columns))

    yield step("traversals")
    traversals = _traversals(model, mu, logvar, health, spec, device)

    yield step("map")
    map_figure = _map(mu, dataset, spec.map_size)

    sweeps, skipped = [], []
    for label in binary:
        yield step(f"vectors: {label}")
        try:
            sweeps.append(_sweep(model, dataset, mu, label, spec, device))
        except V.VectorError as e:
            skipped.append((label, str(e)))
    if not binary:
        yield step("vectors")
    vectors = Vectors(tuple(sweeps), tuple(skipped), "" if binary else "no binary labels: no attribute vectors")

    yield step("disentanglement")
    dis = yield from _disentanglement(mu, dataset, spec.seed)
    return Report(
        spec, parsed.title, dataset.spec, n, parsed, health, recon, prior, traversals, map_figure, vectors, dis
    )


def _grid(tiles: np.ndarray, columns: int) -> np.ndarray:
    return compose(np.asarray(tiles, np.uint8), Layout(columns=columns, padding=LAYOUT.padding)).image


def _traversals(model, mu, logvar, health: H.Health, spec: ReportSpec, device) -> Traversals:
    """The spec.traversal_dims dimensions of largest KL (of largest Var(mu) when the data has no
    logvar), each swept +- traversal_sigmas prior sd from the data mean."""
    from explorer_models import decode_images

    by_kl = bool(np.isfinite(health.kl_per_dim).all())
    order = health.kl_order if by_kl else np.argsort(-health.activity, kind="stable")
    dims = tuple(int(u) for u in order[: spec.traversal_dims])
    tspec = T.TraversalSpec(
        dims=dims,
        sort=T.KL if by_kl else T.INDEX,
        range=T.SIGMA,
        sigmas=spec.traversal_sigmas,
        columns=spec.traversal_columns,
    )
    traversal = T.build(tspec, mu, logvar)
    decoded = decode_images(model, traversal.latents, device)
    return Traversals(traversal, T.render(traversal, decoded, LAYOUT).image)


def _map(mu, dataset, size: int) -> MapFigure:
    """The window's first map (PCA of mu) drawn by its raster, coloured by the first binary
    label (else the first label), over white."""
    from explorer.core.maps import projection as proj
    from explorer.core.maps import raster
    from explorer.core.maps.colouring import colour_by, uniform
    from explorer.core.maps.point_groups import flat_points

    projection = proj.pca(np.asarray(mu))
    coords = projection.transform(mu)
    names = dataset.label_names
    label = (dataset.binary_label_names() or names or ("",))[0]
    colouring = colour_by(dataset.label(label), label) if label else uniform(len(coords))
    points = flat_points(coords, colouring)
    margin = 8
    lo, hi = coords.min(0), coords.max(0)
    scale = (size - 2 * margin) / np.maximum(hi - lo, 1e-12).max()  # one scale: the map's shape is kept
    centre = (lo + hi) / 2
    view = raster.View(scale, 0.0, 0.0, -scale, size / 2 - scale * centre[0], size / 2 + scale * centre[1], size, size)
    bgra = raster.render(points, view, diameter=3).pixels.astype(np.float32)
    # premultiplied BGRA over white: rgb + (1 - alpha) * 255
    rgb = bgra[..., 2::-1] + (255 - bgra[..., 3:4])
    counts = np.bincount(colouring.groups, minlength=len(colouring.colours))
    legend = tuple((nm, tuple(c), int(k)) for nm, c, k in zip(colouring.names, colouring.colours, counts))
    return MapFigure(
        projection,
        label,
        legend,
        colouring.continuous,
        colouring.value_range,
        np.rint(rgb).clip(0, 255).astype(np.uint8),
    )


def _sweep(model, dataset, mu, label: str, spec: ReportSpec, device) -> VectorSweep:
    """The label's mean-difference vector, its strip from spec.sweep_points data points, and
    the fraction a pixel judge calls positive at each step over spec.judge_points points."""
    from explorer.core.space import judges
    from explorer.core.space.paths import sweep as sweep_latents
    from explorer_models import decode_images

    vector = V.from_label(V.MEAN, mu, dataset.labels, dataset.label_names, label, data=dataset.spec)
    n = len(mu)
    rows = H.pick_images(n, spec.sweep_points, spec.seed)
    strips = [
        sweep_latents(mu[i], vector.unit, vector.std, -spec.sweep_range, spec.sweep_range, spec.sweep_steps)
        for i in rows
    ]
    steps = strips[0][1]
    # a row at a time: each row has the pixels `vae-explorer strip` gives that point's sweep
    decoded = [decode_images(model, latents.astype(np.float32), device) for latents, _ in strips]
    image = _grid(np.concatenate(decoded), spec.sweep_steps)
    _, h, w = dataset.image_shape
    train = min(spec.judge_images, n - max(JUDGE_CHECK, n // 4))
    y = dataset.label(label)[: max(train, 0)]
    if not has_images(dataset):
        note = "no judge: the data has no images to train one on"
    elif h % JUDGE_SIDE or w % JUDGE_SIDE:
        note = f"no judge: pixel judges need image sides that are multiples of {JUDGE_SIDE} (these are {h} x {w})"
    elif train < 2 or not np.isfinite(y).all() or len(np.unique(y)) < 2:
        note = "no judge: too few images with a known value of each kind to train one on"
    else:
        judge = judges.PixelJudge.fit(dataset, label, n=train)
        scored = judges.sweep(model, mu[H.pick_images(n, spec.judge_points, spec.seed)], vector, steps, [judge], device)
        return VectorSweep(vector, rows, steps, image, judge.accuracy, scored[label], scored[f"{label} p"])
    return VectorSweep(vector, rows, steps, image, note=note)


Value = TypeVar("Value")


def _quietly(steps: Steps[Value]) -> Steps[Value]:
    """A long step's own steps, as pauses within the report's step (the window's model thread
    serves the cursor's decodes between them); the report's progress stays at its section."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
        yield None


def _disentanglement(mu, dataset, seed: int) -> Steps[Disentanglement]:
    """The disentanglement measures against every label the data has, and the heatmap of the
    normalised mutual information of each latent dimension with each label (a step per label)."""
    names = tuple(dataset.label_names)
    if not names:
        return Disentanglement(note=NO_LABELS)
    from explorer.core.space import disentanglement as D

    try:  # measure drops a factor's unknown (NaN) rows
        result = yield from _quietly(D.measure_steps(np.asarray(mu), D.factors_of(dataset, names), seed=seed))
    except D.DisentanglementError as e:  # too few points or dims, every label constant: said, not fatal
        return Disentanglement(names, note=f"no disentanglement figures: {e}")
    return Disentanglement(result.factors, result, D.heatmap_image(result, which="normalised_mi"))
