"""Lay decoded images out as one figure: a strip (wrapped into rows if asked) or a grid.

The window's preview and every export (window or CLI) go through `compose`, so they are the
same pixels. Tiles are scaled by whole pixels (nearest neighbour): a figure never blurs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explorer_models.errors import UserInputError

FONT_PX = 11


class LayoutError(UserInputError):
    """A layout that cannot be drawn; the message says why."""


MAX_PADDING = 256  # pixels between tiles
MAX_SCALE = 16  # pixels per image pixel
MAX_PIXELS = 100_000_000  # of a composed figure (300 MB of RGB); a 32 x 32 grid of 128 px tiles at scale 4 is 70 M


@dataclass(frozen=True)
class Layout:
    columns: int = 0  # tiles per row; 0: all in one row (a grid sets it to its column count)
    padding: int = 2  # pixels between tiles and around the edge
    background: tuple[int, int, int] = (255, 255, 255)
    scale: int = 1  # each image pixel becomes scale x scale pixels
    captions: bool = False  # a title line and a value under each tile

    def check(self) -> Layout:
        for name, value, lo, hi in (
            ("columns", self.columns, 0, None),
            ("padding", self.padding, 0, MAX_PADDING),
            ("scale", self.scale, 1, MAX_SCALE),
        ):
            if value < lo or (hi is not None and value > hi):
                raise LayoutError(f"{name} {value}: must be {lo} to {hi}" if hi else f"{name} {value}: must be >= {lo}")
        if len(self.background) != 3 or not all(0 <= int(v) <= 255 for v in self.background):
            raise LayoutError(f"background must be three values 0..255, got {self.background}")
        return self


@dataclass(frozen=True)
class Composite:
    image: np.ndarray  # (H, W, 3) uint8
    boxes: np.ndarray  # (N, 4) int: x, y, width, height of each tile in `image`


def parse_colour(text: str) -> tuple[int, int, int]:
    """'#rrggbb', 'r,g,b', or a name Pillow knows ('white', 'black')."""
    from PIL import ImageColor

    text = text.strip()
    try:
        if "," in text:
            values = tuple(int(v) for v in text.split(","))
            if len(values) == 3 and all(0 <= v <= 255 for v in values):
                return values  # type: ignore[return-value]
            raise ValueError
        return ImageColor.getrgb(text)[:3]
    except ValueError:
        raise LayoutError(f"{text!r} is not a colour (use #rrggbb, r,g,b or a name such as white)") from None


@lru_cache(maxsize=1)
def caption_font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=FONT_PX)
    except (TypeError, OSError, ImportError):  # Pillow built without FreeType: its bitmap font
        return ImageFont.load_default()


def text_colour(background) -> tuple[int, int, int]:
    r, g, b = background
    return (20, 20, 20) if 0.299 * r + 0.587 * g + 0.114 * b > 128 else (235, 235, 235)


def fit_text(draw: ImageDraw.ImageDraw, text: str, width: float, font) -> str:
    """text, shortened with an ellipsis until it is at most `width` pixels wide."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _wrap(draw: ImageDraw.ImageDraw, text: str, width: float, font) -> list[str]:
    """Greedy word wrap to `width` pixels (a word longer than a line is shortened)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(fit_text(draw, word, width, font))
    return lines


def scale_tiles(tiles: np.ndarray, scale: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, H*s, W*s, 3): nearest-neighbour, grey made RGB."""
    tiles = np.asarray(tiles, np.uint8)
    if tiles.ndim != 4 or tiles.shape[-1] not in (1, 3):
        raise LayoutError(f"tiles must be (N, H, W, 1 or 3) images, got shape {tiles.shape}")
    if tiles.shape[-1] == 1:
        tiles = np.repeat(tiles, 3, axis=-1)
    return tiles.repeat(scale, axis=1).repeat(scale, axis=2) if scale > 1 else tiles


def _caption_line(layout: Layout) -> int:
    """The height of a caption line (0 without captions)."""
    return caption_font().getbbox("Ag0.")[3] + 3 if layout.captions else 0


def _grid_size(n: int, cols: int, tile_h: int, tile_w: int, layout: Layout, title_h: int) -> tuple[int, int]:
    """(height, width) of n tiles of tile_h x tile_w (already scaled) in rows of `cols`."""
    pad, rows = layout.padding, -(-n // cols)
    return title_h + pad + rows * (tile_h + _caption_line(layout) + pad), pad + cols * (tile_w + pad)


def best_columns(n: int, tile_h: int, tile_w: int, layout: Layout, area: tuple[int, int], least: float = 0.0) -> int:
    """The number of columns that shows n tiles largest in an area (width, height), as a
    preview wraps a long strip to fit its panel (a title line is counted when captioned).
    Enlargements count in whole pixels, as they are shown; of equal sizes, fewest rows win, and
    the rows are filled evenly (10 tiles in two rows: 5 and 5, not 8 and 2). Where even that
    would show tiles at less than `least` times their size, the rows are as long as fit the
    width at `least` (the rest scrolls)."""
    title_h = _caption_line(layout) + layout.padding if layout.captions else 0
    shown = np.zeros(n)
    for cols in range(1, n + 1):
        h, w = _grid_size(n, cols, tile_h, tile_w, layout, title_h)
        scale = min(area[0] / w, area[1] / h)
        shown[cols - 1] = np.floor(scale) if scale >= 1 else scale
    rows = -(-n // (int(np.flatnonzero(shown == shown.max())[-1]) + 1))
    cols, pad = -(-n // rows), layout.padding
    if area[0] / _grid_size(n, cols, tile_h, tile_w, layout, title_h)[1] < least:
        cols = max(1, min(n, int((area[0] / least - pad) // (tile_w + pad))))
    return cols


def compose(
    tiles: np.ndarray, layout: Layout = Layout(), captions: list[str] | None = None, title: str = ""
) -> Composite:
    layout = layout.check()
    n, th, tw = len(tiles), tiles.shape[1] * layout.scale, tiles.shape[2] * layout.scale  # scaled once it fits
    if n == 0:
        raise LayoutError("nothing to lay out")
    cols = min(layout.columns or n, n)
    pad = layout.padding
    font = caption_font()
    line = _caption_line(layout)
    width = pad + cols * (tw + pad)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    title_lines = _wrap(measure, title, width - 2 * pad, font) if layout.captions and title else []
    title_h = len(title_lines) * line + pad if title_lines else 0
    height, width = _grid_size(n, cols, th, tw, layout, title_h)
    if height * width > MAX_PIXELS:
        raise LayoutError(
            f"the figure would be {width:,} x {height:,} px, more than {MAX_PIXELS // 1_000_000} megapixels: "
            f"use fewer images, a smaller scale or less padding"
        )
    big = scale_tiles(tiles, layout.scale)
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = layout.background
    boxes = np.zeros((n, 4), int)
    for i in range(n):
        r, c = divmod(i, cols)
        x, y = pad + c * (tw + pad), title_h + pad + r * (th + line + pad)
        canvas[y : y + th, x : x + tw] = big[i]
        boxes[i] = (x, y, tw, th)
    if layout.captions:
        image = Image.fromarray(canvas)
        draw = ImageDraw.Draw(image)
        ink = text_colour(layout.background)
        for i, text in enumerate(title_lines):
            draw.text((pad, pad + i * line), text, fill=ink, font=font)
        for (x, y, w, h), text in zip(boxes, captions or []):
            text = fit_text(draw, text, w + pad, font)
            draw.text((x + (w - draw.textlength(text, font=font)) / 2, y + h + 1), text, fill=ink, font=font)
        canvas = np.asarray(image)
    return Composite(canvas, boxes)
