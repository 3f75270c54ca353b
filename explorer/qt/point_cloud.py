"""The map's points: groups of same-looking points, each drawn with one sprite in one call.

pyqtgraph's ScatterPlotItem looks up a style per point in Python when data or colours change
(about 4 ms per 1,000 points here, 0.4 s to recolour 100,000). The map does not need per-point
styles: each colour group is one colour and one size. This item keeps each group's positions
as a numpy array. To paint, it maps them to device pixels with numpy, culls what is off
screen, and hands Qt an array of PixmapFragments (ten doubles each) in one drawPixmapFragments
call per group, the way pyqtgraph draws its own symbol atlas. All groups live in this one item,
so with a device-coordinate cache a frame that only moves overlays blits one cached layer.

Above IMAGE_ABOVE points even that paint takes longer than a frame, so the map hands the item
flat columns (`set_flat`) and the view is drawn into an image off the GUI thread (through
`set_renderer`): a density image while many points are in view, the points themselves once
few are (explorer/core/maps/raster.py). Paint only blits it. While a new image for a panned
or zoomed view is being drawn, the last one is shown moved and scaled to where its points now
are.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6 import QtCore, QtGui

from explorer.core.maps.point_groups import FlatPoints
from explorer.core.maps.raster import View, ViewImage, render

IMAGE_ABOVE = 150_000  # points in the map; fewer are painted directly (crisp, antialiased, fast enough)
_FRAGMENT_FIELDS = 10  # x, y, sourceLeft, sourceTop, width, height, scaleX, scaleY, rotation, opacity


class PointCloudItem(pg.GraphicsObject):
    def __init__(self, size: float = 4.0):
        super().__init__()
        self._groups: list[tuple[np.ndarray, tuple[int, int, int]]] = []
        self._flat: FlatPoints | None = None  # every point as columns, drawn as an image
        self._size = float(size)
        self._sprites: dict[tuple, QtGui.QPixmap] = {}
        self._fragments = np.zeros((0, _FRAGMENT_FIELDS))
        self._bounds = QtCore.QRectF()
        self._lo = self._hi = None
        self._render = None  # (compute, done) -> None: runs compute() off the GUI thread, then done(result)
        self._version = 0  # of the groups and the point size: a raster of an older one is stale
        self._raster: tuple[QtGui.QImage, ViewImage, QtGui.QTransform] | None = None
        self._asked: tuple | None = None  # the raster being drawn
        self._wanted: QtGui.QTransform | None = None  # map -> image pixels at the last paint
        self._raster_version = -1
        self._oldest = 0  # images drawn for an older version than this are of points since gone

    def set_renderer(self, render) -> None:
        self._render = render

    # -- data and style --------------------------------------------------------------------
    def set_groups(self, groups, bounds: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """[(positions (n, 2), rgb), ...], drawn in this order (later groups on top). `bounds`
        (lo, hi), when the caller knows them, saves a pass over every point."""
        self._groups = [(np.asarray(pos, np.float64).reshape(-1, 2), tuple(rgb)) for pos, rgb in groups]
        self._flat = None
        filled = [pos for pos, _ in self._groups if len(pos)]
        if bounds is None and filled:
            bounds = np.min([pos.min(0) for pos in filled], axis=0), np.max([pos.max(0) for pos in filled], axis=0)
        self._set_bounds(bounds if filled else None)

    def set_flat(self, points: FlatPoints) -> None:
        """Every point as flat columns (a large map): drawn as an image made by the renderer."""
        self._groups, self._flat = [], points
        self._set_bounds(None if points.lo is None else (points.lo, points.hi))

    def _set_bounds(self, bounds) -> None:
        self.prepareGeometryChange()
        self._version += 1
        if bounds is None:  # nothing to draw: no image of what was there may come back
            self._raster, self._oldest = None, self._version
            self._lo = self._hi = None
            self._bounds = QtCore.QRectF()
        else:
            self._lo, self._hi = bounds
            (x0, y0), (x1, y1) = self._lo, self._hi
            self._bounds = QtCore.QRectF(x0, y0, x1 - x0, y1 - y0)
        self.informViewBoundsChanged()
        self.update()

    def counts(self) -> list[int]:
        """Points per group, the searched-out (dimmed) ones first."""
        return list(self._flat.counts) if self._flat is not None else [len(pos) for pos, _ in self._groups]

    def image_is_current(self) -> bool:
        """The image shown was drawn for the current points, colours and view (always true of
        points painted one by one)."""
        if self._flat is None:
            return True
        raster = self._raster
        return raster is not None and self._raster_version == self._version and raster[2] == self._wanted

    def points_in(self, width: float, height: float) -> float | None:
        """About how many points a view of this size (map units) holds, from the last image's
        count scaled by area (None without an image): enough to tell a view of a million points
        from one of a few hundred without a pass over them."""
        if self._raster is None:
            return None
        _, made, transform = self._raster
        h, w = made.pixels.shape[:2]
        drawn = (w / abs(transform.m11() or 1)) * (h / abs(transform.m22() or 1))  # the image's area, map units
        return made.in_view * (width * height) / drawn if drawn > 0 else None

    def shown_image(self) -> ViewImage | None:
        """The image the view shows (a large map), current or about to be replaced."""
        return None if self._raster is None else self._raster[1]

    def groups(self) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
        return self._groups

    def set_size(self, size: float) -> None:
        self.prepareGeometryChange()
        self._version += 1
        self._size = float(size)
        self._sprites.clear()
        self.update()

    # -- what pyqtgraph's ViewBox asks of an item --------------------------------------------
    def dataBounds(self, axis: int, frac: float = 1.0, orthoRange=None):
        if self._lo is None:
            return [None, None]
        return [float(self._lo[axis]), float(self._hi[axis])]

    def pixelPadding(self) -> float:
        return self._size / 2 + 1

    def boundingRect(self) -> QtCore.QRectF:
        if self._lo is None:
            return QtCore.QRectF()
        px, py = self.pixelVectors()  # one device pixel in item coordinates (None before a view exists)
        pad_x = pad_y = 0.0
        if px is not None:
            pad_x = (abs(px.x()) + abs(py.x())) * self.pixelPadding()
            pad_y = (abs(px.y()) + abs(py.y())) * self.pixelPadding()
        return self._bounds.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    # -- painting ---------------------------------------------------------------------------
    def _sprite(self, rgb, dpr: float) -> QtGui.QPixmap:
        key = (rgb, self._size, dpr)
        if key not in self._sprites:
            diameter = self._size * dpr
            side = math.ceil(diameter) + 2
            sprite = QtGui.QPixmap(side, side)
            sprite.fill(QtCore.Qt.GlobalColor.transparent)
            painter = QtGui.QPainter(sprite)
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            painter.setPen(QtCore.Qt.PenStyle.NoPen)
            painter.setBrush(QtGui.QColor(*rgb))
            painter.drawEllipse(QtCore.QRectF((side - diameter) / 2, (side - diameter) / 2, diameter, diameter))
            painter.end()
            self._sprites[key] = sprite
        return self._sprites[key]

    def paint(self, p: QtGui.QPainter, option=None, widget=None) -> None:
        if self._lo is None:
            return
        if self._flat is not None:
            self._paint_raster(p)
            return
        t = p.transform()
        device = p.device()
        dpr = widget.devicePixelRatioF() if widget is not None else device.devicePixelRatioF()
        margin = self._size + 2
        w, h = device.width() + margin, device.height() + margin
        p.resetTransform()
        for pos, rgb in self._groups:
            if not len(pos):
                continue
            x, y = pos[:, 0], pos[:, 1]
            dx = t.m11() * x + t.m21() * y + t.dx()
            dy = t.m12() * x + t.m22() * y + t.dy()
            shown = (dx > -margin) & (dy > -margin) & (dx < w) & (dy < h)
            n = int(shown.sum())
            if n == 0:
                continue
            sprite = self._sprite(rgb, dpr)
            if len(self._fragments) < n:
                self._fragments = np.zeros((max(n, 2 * len(self._fragments)), _FRAGMENT_FIELDS))
            frags = self._fragments[:n]
            frags[:, 0] = dx[shown]
            frags[:, 1] = dy[shown]
            frags[:, 2:6] = (0, 0, sprite.width(), sprite.height())
            frags[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)
            first = shiboken6.wrapInstance(self._fragments.ctypes.data, QtGui.QPainter.PixmapFragment)
            p.drawPixmapFragments(first, n, sprite)

    # -- many points: an image drawn off the GUI thread ---------------------------------------
    def _paint_raster(self, p: QtGui.QPainter) -> None:
        t, device = p.transform(), p.device()
        # the image covers what the view box shows (not the axes around it), in device pixels
        visible = QtCore.QRectF(0, 0, device.width(), device.height())
        box = self.getViewBox()
        if box is not None:
            visible = visible.intersected(t.mapRect(box.viewRect()))
        left, top = math.floor(visible.left()), math.floor(visible.top())
        width, height = math.ceil(visible.right()) - left, math.ceil(visible.bottom()) - top
        if width <= 0 or height <= 0:
            return
        to_image = t * QtGui.QTransform.fromTranslate(-left, -top)  # map coordinates -> the image's pixels
        view = View(
            to_image.m11(), to_image.m12(), to_image.m21(), to_image.m22(), to_image.dx(), to_image.dy(), width, height
        )
        key = (view, self._version)
        self._wanted = to_image
        if self._raster is None or self._raster[2] != to_image or self._raster_version != self._version:
            self._ask_raster(key, view, to_image)
        if self._raster is None:
            return
        image, _, made_for = self._raster
        inverse, ok = made_for.inverted()
        if not ok:
            return
        p.resetTransform()
        p.setTransform(inverse * t)  # its pixels -> map coordinates -> where they are now
        p.drawImage(0, 0, image)

    def _ask_raster(self, key: tuple, view: View, transform: QtGui.QTransform) -> None:
        if self._asked == key:
            return
        self._asked = key
        points, size, version = self._flat, self._size, self._version

        def done(made: ViewImage) -> None:
            if self._asked == key:
                self._asked = None
            if version < self._oldest:
                return
            h, w = made.pixels.shape[:2]
            image = QtGui.QImage(made.pixels.data, w, h, w * 4, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            self._raster, self._raster_version = (image, made, transform), version  # made: the image's buffer
            self.update()

        compute = lambda: render(points, view, size)
        if self._render is None:  # no thread to draw on (a bare widget): draw it now
            done(compute())
        else:
            self._render(compute, done)
