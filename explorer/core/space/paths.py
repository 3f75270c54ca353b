"""Paths through the latent space: the latents an interpolation strip or grid decodes.

Methods (DESIGN-NOTES section 5; White 2017 "Sampling Generative Networks"):
  lerp    a + t (b - a)
  slerp   along the great circle: sin((1-t)w)/sin(w) a + sin(tw)/sin(w) b, w the angle between
          a and b. Nearly parallel (w < PARALLEL_RAD): lerp, which is the same to 1e-12 and does
          not divide by sin(w) ~ 0. Nearly opposite (pi - w < ANTIPODAL_RAD): every great circle
          through a and b is equally short, so the formula is undefined; the path turns through
          a fixed perpendicular direction p (the coordinate axis least aligned with a, made
          orthogonal to it) with the norm going linearly from |a| to |b|. For unit endpoints
          every step of either case has unit norm.
  gauss   per coordinate, lerp the Gaussian CDF values Phi(a), Phi(b) and map back with Phi^-1,
          so a path stays as likely under the N(0, I) prior as its ends are. Tails are done with
          the upper CDF, so coordinates of 8 or 9 do not collapse to Phi = 1.
Every method returns the endpoints exactly (t = 0 gives a, t = 1 gives b, bit for bit).

Shapes of figures:
  through_keyframes  a strip through K keyframes, `steps` images per segment including both
                     ends, shared keyframes not repeated: (K - 1) (steps - 1) + 1 images
  sweep              z + c * std * u for c from A to B (an attribute vector's slider units)
  grid               rows x cols between four corners (top-left, top-right, bottom-left,
                     bottom-right): interpolate along each row's ends, then down the columns
  analogy            "A is to B as C is to ?": the grid whose fourth corner is C + (B - A)
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from explorer_models.errors import UserInputError

LERP, SLERP, GAUSS = "lerp", "slerp", "gauss"
METHODS = (LERP, SLERP, GAUSS)
PARALLEL_RAD = 1e-6
ANTIPODAL_RAD = 1e-4


class PathError(UserInputError):
    """A path that cannot be made; the message says why (the CLI and window show it)."""


def _check(a: np.ndarray, b: np.ndarray, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise PathError(f"endpoints must be two vectors of one size, got {a.shape} and {b.shape}")
    return a, b, np.atleast_1d(np.asarray(t, np.float64))


def _exact_ends(out: np.ndarray, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    out[t == 0], out[t == 1] = a, b
    return out


def lerp(a, b, t) -> np.ndarray:
    a, b, t = _check(a, b, t)
    return _exact_ends(a + t[:, None] * (b - a), a, b, t)


def _perpendicular(u: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to unit vector u, the same every time for the same u."""
    axis = np.zeros_like(u)
    axis[int(np.argmin(np.abs(u)))] = 1.0
    p = axis - (axis @ u) * u
    return p / np.linalg.norm(p)


def slerp(a, b, t) -> np.ndarray:
    a, b, t = _check(a, b, t)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:  # no direction to turn from: a straight line is the only sensible path
        return lerp(a, b, t)
    ua, ub = a / na, b / nb
    w = float(np.arccos(np.clip(ua @ ub, -1.0, 1.0)))
    if w < PARALLEL_RAD:
        return lerp(a, b, t)
    tt = t[:, None]
    if np.pi - w < ANTIPODAL_RAD:
        p = _perpendicular(ua)
        angle = tt * np.pi
        out = ((1 - tt) * na + tt * nb) * (np.cos(angle) * ua + np.sin(angle) * p)
    else:
        out = (np.sin((1 - tt) * w) * a + np.sin(tt * w) * b) / np.sin(w)
    return _exact_ends(out, a, b, t)


def gauss_lerp(a, b, t) -> np.ndarray:
    a, b, t = _check(a, b, t)
    tt = t[:, None]
    lower = (1 - tt) * ndtr(a) + tt * ndtr(b)  # Phi, interpolated
    upper = (1 - tt) * ndtr(-a) + tt * ndtr(-b)  # 1 - Phi, interpolated: exact in the upper tail
    tiny = np.finfo(np.float64).tiny  # beyond about 38 sd the CDF underflows; stay finite
    out = np.where(lower < 0.5, ndtri(np.maximum(lower, tiny)), -ndtri(np.maximum(upper, tiny)))
    return _exact_ends(out, a, b, t)


_BY_NAME = {LERP: lerp, SLERP: slerp, GAUSS: gauss_lerp}


def interpolate(method: str, a, b, t) -> np.ndarray:
    """(len(t), D) latents from a to b at fractions t by `method` (lerp, slerp or gauss)."""
    if method not in _BY_NAME:
        raise PathError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return _BY_NAME[method](a, b, t)


def _check_count(what: str, n: int, low: int = 2) -> None:
    if int(n) != n or n < low:
        raise PathError(f"{what} must be a whole number of at least {low}, got {n}")


def through_keyframes(method: str, keyframes: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Latents through K keyframes and the position of each: t from 0 to K - 1, whole numbers
    at the keyframes. `steps` images per segment including its ends."""
    keys = np.asarray(keyframes, np.float64)
    if keys.ndim != 2 or len(keys) < 2:
        raise PathError("a path needs at least two keyframes")
    _check_count("steps", steps)
    local = np.linspace(0.0, 1.0, steps)
    parts, positions = [keys[:1]], [np.zeros(1)]
    for k in range(len(keys) - 1):
        parts.append(interpolate(method, keys[k], keys[k + 1], local)[1:])
        positions.append(k + local[1:])
    return np.concatenate(parts), np.concatenate(positions)


def sweep(
    start: np.ndarray, unit: np.ndarray, std: float, c_from: float, c_to: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """start + c * std * unit for `steps` values of c from c_from to c_to (slider units)."""
    _check_count("steps", steps)
    c = np.linspace(float(c_from), float(c_to), steps)
    return np.asarray(start, np.float64) + (c * std)[:, None] * np.asarray(unit, np.float64), c


def grid(method: str, corners: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """rows x cols latents (row-major) between corners (top-left, top-right, bottom-left,
    bottom-right), and each cell's (tx, ty) fractions."""
    c = np.asarray(corners, np.float64)
    if c.ndim != 2 or len(c) != 4:
        raise PathError("a grid needs four corners")
    _check_count("rows", rows)
    _check_count("columns", cols)
    tx, ty = np.linspace(0.0, 1.0, cols), np.linspace(0.0, 1.0, rows)
    top, bottom = interpolate(method, c[0], c[1], tx), interpolate(method, c[2], c[3], tx)
    columns = [interpolate(method, top[j], bottom[j], ty) for j in range(cols)]  # each (rows, D)
    latents = np.stack(columns, axis=1).reshape(rows * cols, -1)
    fractions = np.stack(np.meshgrid(tx, ty), axis=-1).reshape(rows * cols, 2)
    return latents, fractions


def walked_fraction(latents: np.ndarray) -> np.ndarray:
    """For each latent of a walk, the share of the walk's length (sum of its steps) behind it:
    0 at the first, 1 at the last; evenly spaced for a walk that does not move."""
    steps = np.linalg.norm(np.diff(np.asarray(latents, np.float64), axis=0), axis=1)
    length = np.concatenate([[0.0], np.cumsum(steps)])
    if length[-1] <= 0:
        return np.linspace(0.0, 1.0, len(length))
    return length / length[-1]


def analogy_corners(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The corners of an analogy grid: A, B, C and the answer C + (B - A)."""
    a, b, c = (np.asarray(x, np.float64) for x in (a, b, c))
    return np.stack([a, b, c, c + (b - a)])
