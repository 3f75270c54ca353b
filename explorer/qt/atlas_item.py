"""The map's atlas layer: each point in view drawn as its own thumbnail, a fixed size on screen,
once the view holds few enough points (explorer/core/maps/atlas.py says which, and makes the
thumbnails off the GUI thread). Thumbnails made once are kept, the most recently shown first,
so panning back and forth makes none twice."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from explorer.core.maps.atlas import THUMBNAIL

KEPT = 3000  # thumbnails kept (48 x 48 RGBA: about 28 MB)


class AtlasItem(pg.GraphicsObject):
    def __init__(self, size: int = THUMBNAIL):
        super().__init__()
        self._size = size
        self._pixmaps: OrderedDict[int, QtGui.QPixmap] = OrderedDict()
        self._indices = np.zeros(0, np.intp)
        self._positions = np.zeros((0, 2))
        self._frames: list[QtGui.QPen] = []
        self._faded = np.zeros(0, bool)
        self.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)  # clicks belong to the map

    def made(self) -> frozenset[int]:
        return frozenset(self._pixmaps)

    def forget(self) -> None:
        """New data: none of the thumbnails made is of it."""
        self._pixmaps.clear()
        self.show_points(np.zeros(0, np.intp), np.zeros((0, 2)))

    def show_points(
        self, indices: np.ndarray, positions: np.ndarray, thumbnails=None, colours=None, faded=None
    ) -> None:
        """Draw these points' thumbnails at these map positions: those made before, and the new
        `thumbnails` (index -> RGBA), framed in each point's colour (k, 3) so the map's colouring
        still shows, and faint where `faded` (points a search leaves out)."""
        for index, rgba in (thumbnails or {}).items():
            h, w = rgba.shape[:2]
            image = QtGui.QImage(rgba.data, w, h, 4 * w, QtGui.QImage.Format.Format_RGBA8888)
            self._pixmaps[index] = QtGui.QPixmap.fromImage(image)  # a copy: rgba may go
        self.prepareGeometryChange()
        self._indices, self._positions = np.asarray(indices, np.intp), np.asarray(positions, np.float64).reshape(-1, 2)
        k = len(self._indices)
        colours = np.full((k, 3), 20) if colours is None else np.asarray(colours).reshape(k, 3)
        self._frames = [pg.mkPen(*(int(c) for c in rgb), width=2) for rgb in colours]
        self._faded = np.zeros(k, bool) if faded is None else np.asarray(faded, bool)
        for index in self._indices:
            if int(index) in self._pixmaps:
                self._pixmaps.move_to_end(int(index))  # shown now: the last to be dropped
        while len(self._pixmaps) > KEPT:  # the least recently shown go (never those shown now)
            self._pixmaps.popitem(last=False)
        self.update()

    def shown(self) -> np.ndarray:
        """The points drawn as thumbnails now."""
        return np.array([i for i in self._indices if int(i) in self._pixmaps], np.intp)

    def boundingRect(self) -> QtCore.QRectF:
        if not len(self._positions):
            return QtCore.QRectF()
        (x0, y0), (x1, y1) = self._positions.min(0), self._positions.max(0)
        px, py = self.pixelVectors()  # one device pixel in map units (None before there is a view)
        pad_x = pad_y = 0.0
        if px is not None:
            pad_x = (abs(px.x()) + abs(py.x())) * self._size
            pad_y = (abs(px.y()) + abs(py.y())) * self._size
        return QtCore.QRectF(x0 - pad_x, y0 - pad_y, x1 - x0 + 2 * pad_x, y1 - y0 + 2 * pad_y)

    def paint(self, p: QtGui.QPainter, option=None, widget=None) -> None:
        if not len(self._indices):
            return
        t = p.transform()
        dpr = widget.devicePixelRatioF() if widget is not None else p.device().devicePixelRatioF()
        side = self._size * dpr
        p.resetTransform()
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        for index, (x, y), frame, faded in zip(self._indices, self._positions, self._frames, self._faded):
            pixmap = self._pixmaps.get(int(index))
            if pixmap is None:
                continue
            centre = t.map(QtCore.QPointF(x, y))
            target = QtCore.QRectF(centre.x() - side / 2, centre.y() - side / 2, side, side)
            p.setOpacity(0.3 if faded else 1.0)
            p.drawPixmap(target, pixmap, QtCore.QRectF(pixmap.rect()))
            p.setPen(frame)
            p.drawRect(target)
