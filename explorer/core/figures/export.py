"""Write figures to disk: PNG, animated GIF and APNG, each with a JSON sidecar.

Bytes are made in memory and written atomically (temp file, then rename), so a failed export
never leaves a half-written file or damages the one it would replace. The same inputs give
the same bytes (no timestamps), so a figure command can be checked by comparing files.
"""

from __future__ import annotations

import hashlib
import io
import json
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from explorer_models.atomic import check_writable, write_bytes_atomic
from explorer_models.errors import UserInputError

STILL, GIF, APNG = ".png", ".gif", ".apng"
SUFFIXES = (STILL, GIF, APNG)
SIDECAR_SUFFIX = ".json"
# Frame durations: GIF stores hundredths of a second (and many viewers slow anything under 20 ms
# down), and a minute per frame is a slide show, not an animation.
MIN_DURATION_MS, MAX_DURATION_MS = 10, 60_000


class ExportError(UserInputError):
    """An export that cannot be written; the message names the file."""


@dataclass(frozen=True)
class Animation:
    duration_ms: int = 150  # per frame
    pingpong: bool = False  # play forward then back (the ends are not shown twice in a row)

    def check(self) -> Animation:
        d = self.duration_ms
        whole = isinstance(d, numbers.Integral) and not isinstance(d, bool)
        if not (whole and MIN_DURATION_MS <= d <= MAX_DURATION_MS):
            raise ExportError(
                f"frame duration {d} ms: must be a whole number of milliseconds, "
                f"{MIN_DURATION_MS} to {MAX_DURATION_MS:,}"
            )
        return self


def sidecar_path(path: str | os.PathLike) -> Path:
    """strip.png -> strip.png.json: next to the figure, never another file's name."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def check_target(path: str | os.PathLike, force: bool) -> Path:
    """The output path, if the figure and its sidecar can be written there (check_writable) and
    its suffix names a figure type."""
    path = check_writable(path, force, error=ExportError)
    check_writable(sidecar_path(path), force, error=ExportError)
    if path.suffix.lower() not in SUFFIXES:
        raise ExportError(f"{path}: unknown figure type {path.suffix or '(none)'!r}; use {', '.join(SUFFIXES)}")
    return path


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def frame_sequence(frames: list[np.ndarray], pingpong: bool) -> list[np.ndarray]:
    """The frames in playing order: 0..N-1, then N-2..1 for ping-pong (looping back to 0)."""
    return list(frames) + (list(frames[-2:0:-1]) if pingpong else [])


def animation_bytes(frames: list[np.ndarray], suffix: str, animation: Animation) -> bytes:
    """An endlessly looping GIF or APNG of the frames. GIF frame times are in 10 ms steps."""
    sequence = [Image.fromarray(np.asarray(f, np.uint8)) for f in frame_sequence(frames, animation.pingpong)]
    if not sequence:
        raise ExportError("no frames to animate")
    buf = io.BytesIO()
    first, rest = sequence[0], sequence[1:]
    if suffix == GIF:
        first.save(
            buf,
            "GIF",
            save_all=True,
            append_images=rest,
            duration=animation.duration_ms,
            loop=0,
            disposal=1,
            optimize=False,
        )
    else:
        first.save(
            buf,
            "PNG",
            save_all=True,
            append_images=rest,
            duration=animation.duration_ms,
            loop=0,
            default_image=False,
            disposal=0,
            blend=0,
        )
    return buf.getvalue()


def write_figure(path: Path, data: bytes, sidecar: dict) -> Path:
    """Write the figure bytes and its sidecar JSON, each atomically, to a path check_target passed.

    The two are one unit: the sidecar records the figure's sha256, so a reader can tell when a
    process killed between the two renames left a new figure beside an old sidecar
    (check_sidecar); the figure is written first."""
    sidecar = {**sidecar, "figure_file": path.name, "figure_sha256": hashlib.sha256(data).hexdigest()}
    text = json.dumps(sidecar, indent=1, sort_keys=True, allow_nan=False) + "\n"
    try:
        write_bytes_atomic(path, data)
        write_bytes_atomic(sidecar_path(path), text.encode("utf-8"))
    except OSError as e:
        raise ExportError(f"{path}: could not write ({e.strerror or e})") from e
    return path


def check_sidecar(path: str | os.PathLike) -> dict:
    """The sidecar of the figure at `path`, if it belongs to that figure; ExportError otherwise."""
    path = Path(path)
    side = sidecar_path(path)
    try:
        doc = json.loads(side.read_text(encoding="utf-8"))
        data = path.read_bytes()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ExportError(f"{side}: not a readable figure sidecar ({e})") from e
    if not isinstance(doc, dict) or doc.get("figure_sha256") != hashlib.sha256(data).hexdigest():
        raise ExportError(f"{side}: does not belong to {path.name} (an export was interrupted; export it again)")
    return doc
