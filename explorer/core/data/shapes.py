"""Anti-aliased 2D shapes for procedural datasets, vectorised over a batch of images.

Each shape returns its coverage in [0, 1] per pixel, shape (B, H, W), from an approximate
signed distance d (in pixels, negative inside): coverage = clip(0.5 - d, 0, 1). This gives
one pixel of smooth edge, so a continuous factor (a face 0.3 px wider) changes pixels
continuously, which is what a VAE's latent space can then follow.

Shape parameters are (B, 1, 1) arrays, one value per image. Only +, -, *, /, sqrt, min and max
touch per-pixel data, so the pixels are the same on every machine (no libm transcendental).
"""

from __future__ import annotations

import numpy as np

_EPS = np.float32(1e-6)


class Canvas:
    """Pixel-centre coordinates of an H x W image, broadcastable against (B, 1, 1) parameters."""

    def __init__(self, size: int):
        centres = np.arange(size, dtype=np.float32) + np.float32(0.5)
        self.x = centres[None, None, :]
        self.y = centres[None, :, None]


def coverage(distance: np.ndarray) -> np.ndarray:
    return np.clip(np.float32(0.5) - distance, 0.0, 1.0)


def ellipse(c: Canvas, cx, cy, rx, ry) -> np.ndarray:
    """First-order distance to an axis-aligned ellipse: f / |grad f|, exact on the boundary."""
    dx = (c.x - cx) / rx
    dy = (c.y - cy) / ry
    f = dx * dx + dy * dy - 1
    grad = 2 * np.sqrt((dx / rx) ** 2 + (dy / ry) ** 2) + _EPS
    return coverage(f / grad)


def ring(c: Canvas, cx, cy, radius, half_width) -> np.ndarray:
    r = np.sqrt((c.x - cx) ** 2 + (c.y - cy) ** 2)
    return coverage(np.abs(r - radius) - half_width)


def box(c: Canvas, cx, cy, half_w, half_h, rounding=0.0) -> np.ndarray:
    """Rounded rectangle; half sizes include the rounding."""
    qx = np.abs(c.x - cx) - half_w + rounding
    qy = np.abs(c.y - cy) - half_h + rounding
    outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
    inside = np.minimum(np.maximum(qx, qy), 0)
    return coverage(outside + inside - rounding)


def hline(c: Canvas, x0, x1, y, half_width) -> np.ndarray:
    """Horizontal segment from x0 to x1 at height y, with round caps."""
    dx = c.x - np.clip(c.x, x0, x1)
    dy = c.y - y
    return coverage(np.sqrt(dx * dx + dy * dy) - half_width)


def parabola_arc(c: Canvas, mx, my, half_w, rise, half_width) -> np.ndarray:
    """Thick arc y = my - rise * ((x - mx) / half_w)^2 for |x - mx| <= half_w, round caps.

    rise > 0 lifts the ends above the middle (image y grows downwards): a smile.
    The distance is the vertical offset divided by sqrt(1 + slope^2), good for gentle arcs.
    """
    u = np.clip((c.x - mx) / half_w, -1.0, 1.0)
    x_on = mx + u * half_w
    y_on = my - rise * u * u
    slope = -2 * rise * u / half_w
    dy = (c.y - y_on) / np.sqrt(1 + slope * slope)
    dx = c.x - x_on
    return coverage(np.sqrt(dx * dx + dy * dy) - half_width)


def between_parabolas(c: Canvas, mx, my, half_w, rise, depth) -> np.ndarray:
    """Filled region between y = my - rise*u^2 (top) and y = my + depth*(1 - u^2) - rise*u^2
    (bottom), u = (x - mx) / half_w in [-1, 1]: an open mouth whose corners rise by `rise`.

    The distance is the largest of the vertical and horizontal overshoots: exact enough for
    a one-pixel anti-aliased edge on a shape this small.
    """
    u = (c.x - mx) / half_w
    top = my - rise * u * u
    bottom = top + depth * (1 - u * u)
    return coverage(np.maximum(np.maximum(top - c.y, c.y - bottom), np.abs(c.x - mx) - half_w))


def paint(image: np.ndarray, alpha: np.ndarray, colour) -> None:
    """Composite a flat colour over image (B, H, W, 3) in place with per-pixel alpha (B, H, W).

    colour is an (3,) RGB triple in [0, 1] or a (B, 1, 1, 3) array of per-image colours.
    """
    a = alpha[..., None]
    image *= 1 - a
    image += a * np.asarray(colour, dtype=np.float32)
