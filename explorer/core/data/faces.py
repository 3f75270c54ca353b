"""The `builtin:faces` generator: 64x64 RGB cartoon faces with known ground truth.

Every random choice behind an image is one of its labels, so the data has no hidden
factors: four binary ones (smiling, glasses, eyes_open, hat) and six continuous ones in
[0, 1] (face width, skin tone, hair colour, background hue, head x and y position).

`smiling` and `glasses` are correlated on purpose (P(glasses | smiling) = 0.7,
P(glasses | not smiling) = 0.3), so that a naive "smile vector" drags glasses along
and bias correction (White 2017) has something real to fix.

Factors come from one uniform row per image drawn in order, so the first k images of a
split are the same whatever its size; the same (seed, split) gives the same pixels.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from explorer.core.data import shapes
from explorer.core.steps import Progress, Steps, run_steps

IMAGE_SIZE = 64
# Bump when the pixels or the factor sampling change: it keys the on-disk cache.
GENERATOR_VERSION = 4

FACTOR_NAMES = (
    "smiling",
    "glasses",
    "eyes_open",
    "hat",
    "face_width",
    "skin_tone",
    "hair_color",
    "background_hue",
    "head_x",
    "head_y",
)
BINARY_FACTORS = FACTOR_NAMES[:4]
P_SMILING = 0.5
P_GLASSES_IF_SMILING = 0.7
P_GLASSES_IF_NOT_SMILING = 0.3
P_EYES_OPEN = 0.6
P_HAT = 0.35
SPLITS = {"train": 0, "test": 1}

# Geometry, in pixels of the 64 px canvas (see face_geometry). Features are drawn boldly, as
# cartoons draw them: a VAE's pixel loss learns small shape differences late or not at all
# (the way VAEs miss `shape` in dSprites), and the smile must be unmistakable.
HEAD_CENTRE, HEAD_SHIFT = (32.0, 33.0), (5.0, 3.0)  # centre at head_x = head_y = 0.5; +- shift
HEAD_RX, HEAD_RX_RANGE, HEAD_RY = 15.5, 5.5, 18.5  # half width = 15.5 + 5.5 * face_width
EYE_SPREAD, EYE_DROP = 0.44, 2.0  # eye centres at cx -+ 0.44 * rx, cy - 2
EYE_RX, EYE_RY, PUPIL_R = 4.0, 3.1, 2.0
MOUTH_DROP, MOUTH_HALF_WIDTH = 10.5, 0.42  # mouth centre at cy + 10.5; half width 0.42 * rx
MOUTH_RISE_SMILING = 2.0  # the grin's corners this far above the middle of its top edge
MOUTH_GRIN_DEPTH = 6.5  # the open grin's depth at its middle
MOUTH_RISE_NEUTRAL = -2.5  # not smiling: a frown line, corners below its middle
GLASSES_RADIUS = 5.6
HAT_CROWN_HALF_HEIGHT = 7.0

_SKIN_LIGHT = np.array([0.96, 0.80, 0.66], np.float32)  # not so pale that eye whites vanish
_SKIN_DARK = np.array([0.45, 0.30, 0.21], np.float32)
_HAIR_RAMP_AT = np.array([0.0, 0.33, 0.66, 1.0])
_HAIR_RAMP = np.array([[0.12, 0.10, 0.10], [0.40, 0.24, 0.12], [0.68, 0.32, 0.16], [0.90, 0.78, 0.47]])
_WHITE = (0.97, 0.97, 0.97)
_INK = (0.13, 0.10, 0.10)
_MOUTH = (0.62, 0.14, 0.20)
_FRAME = (0.12, 0.12, 0.16)
_LENS = (0.72, 0.86, 1.0)
_SHIRT = (0.33, 0.43, 0.55)
_HAT = (0.22, 0.24, 0.55)
_HAT_BAND = (0.80, 0.25, 0.25)


def sample_factors(n: int, seed: int = 0, split: str = "train") -> np.ndarray:
    """The (n, 10) float32 factor table, columns in FACTOR_NAMES order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {sorted(SPLITS)}")
    rng = np.random.default_rng([seed, SPLITS[split]])
    u = rng.random((n, len(FACTOR_NAMES)))  # row-major: a prefix of rows is stable in n
    f = np.empty_like(u)
    smiling = u[:, 0] < P_SMILING
    f[:, 0] = smiling
    f[:, 1] = u[:, 1] < np.where(smiling, P_GLASSES_IF_SMILING, P_GLASSES_IF_NOT_SMILING)
    f[:, 2] = u[:, 2] < P_EYES_OPEN
    f[:, 3] = u[:, 3] < P_HAT
    f[:, 4:] = u[:, 4:]
    return f.astype(np.float32)


def _hsv_to_rgb(h: np.ndarray, s: float, v: float) -> np.ndarray:
    """Vectorised HSV -> RGB (hue in [0, 1)), piecewise linear like colorsys."""
    k = (np.array([5.0, 3.0, 1.0]) + h[:, None] * 6) % 6
    return v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)


def _columns(f: np.ndarray) -> dict[str, np.ndarray]:
    return {name: f[:, i].astype(np.float64) for i, name in enumerate(FACTOR_NAMES)}


def face_geometry(f: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image positions in pixels (float64, shape (B,)): head centre and half width,
    eye centres, mouth centre and half width, top of the head."""
    col = _columns(f)
    cx = HEAD_CENTRE[0] + HEAD_SHIFT[0] * (2 * col["head_x"] - 1)
    cy = HEAD_CENTRE[1] + HEAD_SHIFT[1] * (2 * col["head_y"] - 1)
    rx = HEAD_RX + HEAD_RX_RANGE * col["face_width"]
    return dict(
        cx=cx,
        cy=cy,
        rx=rx,
        eye_y=cy - EYE_DROP,
        eye_left=cx - EYE_SPREAD * rx,
        eye_right=cx + EYE_SPREAD * rx,
        mouth_x=cx,
        mouth_y=cy + MOUTH_DROP,
        mouth_half_width=MOUTH_HALF_WIDTH * rx,
        top=cy - HEAD_RY,
    )


def _layout(f: np.ndarray) -> dict[str, np.ndarray]:
    """Geometry, switches and colours per image as (B, 1, 1[, 3]) float32 arrays."""
    col = _columns(f)
    t = col["skin_tone"][:, None]
    skin = (1 - t) * _SKIN_LIGHT + t * _SKIN_DARK
    hair = np.stack([np.interp(col["hair_color"], _HAIR_RAMP_AT, _HAIR_RAMP[:, ch]) for ch in range(3)], axis=1)
    background = _hsv_to_rgb(0.75 * col["background_hue"], 0.35, 0.92)
    scalars = face_geometry(f) | {k: col[k] for k in BINARY_FACTORS}
    out = {k: v.astype(np.float32)[:, None, None] for k, v in scalars.items()}
    for k, v in dict(skin=skin, hair=hair, background=background).items():
        out[k] = v.astype(np.float32)[:, None, None, :]
    return out


def render_steps(factors: np.ndarray, chunk: int = 256) -> Steps[np.ndarray]:
    """Render factor rows to uint8 images (B, 64, 64, 3), one chunk per thread per step
    (a fraction of a second each; the window shows progress and can cancel between steps).

    Chunks render on a thread pool: numpy releases the GIL in its array loops.
    """
    out = np.empty((len(factors), IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    canvas = shapes.Canvas(IMAGE_SIZE)

    def fill(start: int) -> None:
        img = _render_chunk(canvas, factors[start : start + chunk])
        out[start : start + chunk] = np.rint(np.clip(img, 0, 1) * 255)

    threads = os.cpu_count() or 1
    starts = range(0, len(factors), chunk)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for first in range(0, len(starts), threads):
            list(pool.map(fill, starts[first : first + threads]))
            yield Progress(min(starts[first] + threads * chunk, len(factors)), len(factors), "rendering faces")
    return out


def render(factors: np.ndarray, chunk: int = 256) -> np.ndarray:
    """render_steps run to the end."""
    return run_steps(render_steps(factors, chunk))


def _render_chunk(c: shapes.Canvas, factors: np.ndarray) -> np.ndarray:
    g = _layout(factors)
    cx, cy, rx, ry = g["cx"], g["cy"], g["rx"], np.float32(HEAD_RY)
    paint, sh, f32 = shapes.paint, shapes, np.float32

    shade = (1.04 - 0.08 * c.y / IMAGE_SIZE)[..., None]  # soft vertical light on the wall
    img = np.broadcast_to(g["background"] * shade, (len(factors), IMAGE_SIZE, IMAGE_SIZE, 3)).copy()

    paint(img, sh.ellipse(c, cx, cy - 4, rx + 2.8, ry - 1), g["hair"])
    paint(img, sh.ellipse(c, cx, f32(70), f32(21), f32(16)), _SHIRT)
    paint(img, sh.box(c, cx, cy + 17, f32(4.5), f32(6)), g["skin"] * 0.88)
    head = sh.ellipse(c, cx, cy, rx, ry)
    paint(img, head, g["skin"])
    fringe = sh.ellipse(c, cx, cy - 0.72 * ry, 0.98 * rx, 0.42 * ry)
    paint(img, np.minimum(fringe, head), g["hair"])

    ey, eyes_x = g["eye_y"], (g["eye_left"], g["eye_right"])
    is_open, is_closed = g["eyes_open"], 1 - g["eyes_open"]
    for ex in eyes_x:
        paint(img, is_open * sh.ellipse(c, ex, ey, f32(EYE_RX + 0.8), f32(EYE_RY + 0.8)), _INK)
        paint(img, is_open * sh.ellipse(c, ex, ey, f32(EYE_RX), f32(EYE_RY)), _WHITE)
        paint(img, is_open * sh.ellipse(c, ex, ey + 0.2, f32(PUPIL_R), f32(PUPIL_R + 0.3)), _INK)
        lash = sh.parabola_arc(c, ex, ey, f32(EYE_RX), f32(-1.6), f32(0.9))
        paint(img, is_closed * lash, _INK)
    paint(img, sh.ellipse(c, cx, cy + 4.5, f32(1.3), f32(2.0)), g["skin"] * 0.8)

    _paint_mouth(c, img, g["smiling"], g["mouth_x"], g["mouth_y"], g["mouth_half_width"])
    _paint_glasses(c, img, g["glasses"], cx, ey, rx, eyes_x)
    _paint_hat(c, img, g["hat"], cx, g["top"], rx)
    return img


def _paint_mouth(c, img, smiling, mx, my, half_w) -> None:
    """Smiling: an open grin with teeth whose corners rise; otherwise a frown line."""
    grin = shapes.between_parabolas(c, mx, my, half_w, np.float32(MOUTH_RISE_SMILING), np.float32(MOUTH_GRIN_DEPTH))
    shapes.paint(img, smiling * grin, _MOUTH)
    teeth = shapes.between_parabolas(c, mx, my - 0.2, 0.8 * half_w, np.float32(MOUTH_RISE_SMILING), np.float32(1.8))
    shapes.paint(img, smiling * np.minimum(teeth, grin), _WHITE)
    frown = shapes.parabola_arc(c, mx, my, half_w, np.float32(MOUTH_RISE_NEUTRAL), np.float32(1.2))
    shapes.paint(img, (1 - smiling) * frown, _MOUTH)


def _paint_glasses(c, img, on, cx, ey, rx, eyes_x) -> None:
    r = np.float32(GLASSES_RADIUS)
    left, right = eyes_x
    for ex in eyes_x:
        shapes.paint(img, on * 0.2 * shapes.ellipse(c, ex, ey, r, r), _LENS)
        shapes.paint(img, on * shapes.ring(c, ex, ey, r, np.float32(0.9)), _FRAME)
    bar = np.float32(0.8)
    shapes.paint(img, on * shapes.hline(c, left + r, right - r, ey - 0.5, bar), _FRAME)
    shapes.paint(img, on * shapes.hline(c, cx - rx, left - r, ey - 0.5, bar), _FRAME)
    shapes.paint(img, on * shapes.hline(c, right + r, cx + rx, ey - 0.5, bar), _FRAME)


def _paint_hat(c, img, on, cx, top, rx) -> None:
    shapes.paint(
        img, on * shapes.box(c, cx, top - 2.5, 0.72 * rx, np.float32(HAT_CROWN_HALF_HEIGHT), np.float32(2.5)), _HAT
    )
    shapes.paint(img, on * shapes.box(c, cx, top + 1.0, 0.72 * rx, np.float32(1.5)), _HAT_BAND)
    shapes.paint(img, on * shapes.box(c, cx, top + 4.0, rx + 4.5, np.float32(1.8), np.float32(1.5)), _HAT)
